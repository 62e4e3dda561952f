"""A real Kubernetes control plane on 127.0.0.1, started and stopped by the suite itself.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real binaries (built by
../shared/toolchain/build); the nodes are kwok's: Node objects that kwok keeps Ready and whose
pods it moves through their lifecycle (Stages) without running containers. What the program
deploys is therefore validated, admitted, scheduled and reconciled by the real code: Deployments
roll, Jobs complete or fail, the scheduler packs pods by their requests against the nodes'
allocatable. What is simulated, and only that:

- the nodes: `add_nodes(size, count)` makes DOKS-like Nodes whose capacity and allocatable come
  from components/catalog.py, and DOKS's own kube-system workloads (catalog.DOKS_SYSTEM_PODS)
  run on them with their real requests;
- the containers, through kwok Stages: pods become Ready; Job pods Succeed; pods of the
  `migrate` Job are held `migrate_hold_seconds` first (so the order "migration, then the
  rollout" shows in the engine's event log) and Fail (exit code 1) when their
  `app.kubernetes.io/version` is one of `failing_migrate_tags`;
- Cilium's Gateway controller: tests/e2e/gateway_status.py writes each Gateway's status.

Authentication is a static token file: the given token (the stack's DigitalOcean API token, as
DOKS accepts it) is a member of `system:masters`.
"""

from __future__ import annotations

import atexit
import base64
import copy
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from components import catalog
from tests.e2e.gateway_status import DEFAULT_ADDRESS as DEFAULT_GATEWAY_ADDRESS
from tests.e2e.processes import Process, free_port, port_open, start_process, wait_for_port

REPO = Path(__file__).resolve().parents[2]
GATEWAY_API_CRDS = REPO.parent / "shared" / "schemas" / "gateway-api-v1.4.1"
CILIUM_GATEWAY_CONTROLLER = "io.cilium/gateway-controller"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
MIGRATE_NAME = "migrate"  # app.kubernetes.io/name of the migration Job's pods
# The kwok default Stages kept as they are; pod-complete is replaced (see _write_stages).
DEFAULT_STAGES = ("node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-delete")
SERVICE_CIDR = "10.245.0.0/16"  # DOKS's default service range
SERVICE_IP = "10.245.0.1"  # the `kubernetes` Service, first address of SERVICE_CIDR
POD_CIDR = "10.244.0.0/16"  # kwok's fake pod addresses, DOKS's default pod range
DOKS_VERSION_LABEL = "1.36.3-do.0"

FAILED_STATUS_TEMPLATE = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: PodFailed
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: PodFailed
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 1
      finishedAt: {{ $now | Quote }}
      reason: Error
      message: "simulated failure: this release's tag is in failing_migrate_tags"
      startedAt: {{ $now | Quote }}
{{ end }}
phase: Failed
"""


class ControlPlaneError(RuntimeError):
    pass


def _until(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise ControlPlaneError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def _crd_resource(path: Path) -> str:
    """`<plural>.<group>` of the CustomResourceDefinition in `path`."""
    crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"


def _label_expression(label: str, operator: str, values: Sequence[str]) -> dict[str, Any]:
    return {"key": f'.metadata.labels["{label}"]', "operator": operator, "values": list(values)}


class LocalControlPlane:
    """Start with `start()` (or `with LocalControlPlane(...) as cp:`), stop with `stop()`."""

    def __init__(
        self,
        kube_dir: Path,
        work_dir: Path,
        token: str,
        *,
        migrate_hold_seconds: float = 4.0,
        failing_migrate_tags: Iterable[str] = (),
        region: str = "nyc3",
        gateway_address: str = DEFAULT_GATEWAY_ADDRESS,
    ) -> None:
        if not token or any(c in token for c in ',"\n\r '):
            raise ValueError("the token must be non-empty, without commas, quotes or spaces")
        self.kube_dir = kube_dir
        self.bin_dir = kube_dir / "bin"
        self.work_dir = work_dir
        self.state_dir = work_dir / "controlplane"  # certificates, token file, etcd, Stages
        self.log_dir = work_dir / "logs"
        self.token = token
        self.migrate_hold_seconds = migrate_hold_seconds
        self.failing_migrate_tags = tuple(sorted(set(failing_migrate_tags)))
        self.region = region
        self.gateway_address = gateway_address  # every Cilium Gateway's status.addresses[0]
        self.kubeconfig = self.state_dir / "kubeconfig.yaml"
        self.endpoint = ""
        self.ca_pem = b""
        self.start_seconds = 0.0
        self.processes: list[Process] = []
        self.ports: list[int] = []
        self._nodes_added = 0
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalControlPlane:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Everything up and ready (CRDs established, GatewayClass accepted) or an error."""
        if self._started:
            raise ControlPlaneError("already started")
        self._started = True
        atexit.register(self.stop)
        began = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        """SIGTERM then SIGKILL to every process by its PID; remove the state directory."""
        atexit.unregister(self.stop)
        errors = []
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as error:  # keep stopping the others
                errors.append(f"{process.name} (pid {process.pid}): {error!r}")
        shutil.rmtree(self.state_dir, ignore_errors=True)
        if errors:
            raise ControlPlaneError("could not stop: " + "; ".join(errors))

    def _start(self) -> None:
        for needed in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            if not (self.bin_dir / needed).is_file():
                raise ControlPlaneError(f"missing {self.bin_dir / needed} (toolchain not built?)")
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True)
        self.state_dir.chmod(0o700)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_certificates()
        self._write_token_file()

        etcd_port = self._start_etcd()
        api_port = self._start_apiserver(etcd_port)
        self.endpoint = f"https://127.0.0.1:{api_port}"
        self.ca_pem = (self.state_dir / "ca.crt").read_bytes()
        self._write_kubeconfig()
        self._wait_ready()

        self._start_process(
            "kube-controller-manager",
            [
                str(self.bin_dir / "kube-controller-manager"),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--root-ca-file={self.state_dir / 'ca.crt'}",
                f"--service-account-private-key-file={self.state_dir / 'sa.key'}",
                "--use-service-account-credentials=false",
            ],
        )
        self._start_process(
            "kube-scheduler",
            [
                str(self.bin_dir / "kube-scheduler"),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
            ],
        )
        self._start_kwok()
        self._start_process(
            "gateway-status",
            [
                sys.executable,
                "-m",
                "tests.e2e.gateway_status",
                f"--kubeconfig={self.kubeconfig}",
                f"--address={self.gateway_address}",
            ],
            cwd=REPO,
        )
        self._install_system_workloads()
        self._install_crds_and_gateway_class()
        self._check_alive()

    def _start_process(self, name: str, argv: list[str], cwd: Path | None = None) -> Process:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO)
        process = start_process(name, argv, self.log_dir / f"{name}.log", env=env, cwd=cwd)
        self.processes.append(process)
        return process

    def _check_alive(self) -> None:
        for process in self.processes:
            if not process.running():
                raise ControlPlaneError(
                    f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
                )

    # -- pieces ----------------------------------------------------------------------------------

    def _openssl(self, *args: str) -> None:
        subprocess.run(
            ["openssl", *args], cwd=self.state_dir, check=True, capture_output=True, timeout=30
        )

    def _write_certificates(self) -> None:
        """A CA, the API server's serving certificate (SAN 127.0.0.1), a service-account key."""
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        self._openssl(
            "req",
            "-x509",
            *ec,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=posts-e2e-ca",
        )
        (self.state_dir / "apiserver.ext").write_text(
            "basicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            f"subjectAltName=IP:127.0.0.1,IP:{SERVICE_IP},DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            "DNS:kubernetes.default.svc.cluster.local\n"
        )
        self._openssl(
            "req",
            "-new",
            *ec,
            "-keyout",
            "apiserver.key",
            "-out",
            "apiserver.csr",
            "-subj",
            "/CN=kube-apiserver",
        )
        self._openssl(
            "x509",
            "-req",
            "-in",
            "apiserver.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "apiserver.crt",
            "-days",
            "2",
            "-extfile",
            "apiserver.ext",
        )
        self._openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key")
        self._openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        for key in ("ca.key", "apiserver.key", "sa.key"):
            (self.state_dir / key).chmod(0o600)

    def _write_token_file(self) -> None:
        path = self.state_dir / "tokens.csv"
        path.write_text(f'{self.token},posts-e2e-admin,posts-e2e-admin,"system:masters"\n')
        path.chmod(0o600)

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "posts-e2e",
                    "cluster": {
                        "server": self.endpoint,
                        "certificate-authority-data": base64.b64encode(self.ca_pem).decode(),
                    },
                }
            ],
            "users": [{"name": "posts-e2e-admin", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "posts-e2e",
                    "context": {"cluster": "posts-e2e", "user": "posts-e2e-admin"},
                }
            ],
            "current-context": "posts-e2e",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)

    def _start_etcd(self) -> int:
        client, peer = free_port(), free_port()
        self.ports += [client, peer]
        process = self._start_process(
            "etcd",
            [
                str(self.bin_dir / "etcd"),
                "--name=posts-e2e",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=posts-e2e=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        wait_for_port(client, 30, process)
        return client

    def _start_apiserver(self, etcd_port: int) -> int:
        port = free_port()
        self.ports.append(port)
        state = self.state_dir
        process = self._start_process(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--tls-cert-file={state / 'apiserver.crt'}",
                f"--tls-private-key-file={state / 'apiserver.key'}",
                f"--client-ca-file={state / 'ca.crt'}",
                f"--token-auth-file={state / 'tokens.csv'}",
                "--anonymous-auth=false",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={state / 'sa.pub'}",
                f"--service-account-signing-key-file={state / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
            ],
        )
        wait_for_port(port, 60, process)
        return port

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            done = self.kubectl("get", "--raw=/readyz", check=False, timeout=10)
            if done.returncode == 0 and done.stdout.strip() == "ok":
                return
            time.sleep(0.2)
        raise ControlPlaneError(f"kube-apiserver not ready within {timeout:.0f} s")

    def _start_kwok(self) -> None:
        stages = self._write_stages()
        port = free_port()
        self.ports.append(port)
        process = self._start_process(
            "kwok",
            [
                str(self.bin_dir / "kwok"),
                f"--kubeconfig={self.kubeconfig}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                f"--config={stages}",
                f"--cidr={POD_CIDR}",
                "--node-ip=10.116.0.2",
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{port}",
            ],
        )
        wait_for_port(port, 30, process)

    def _write_stages(self) -> Path:
        """kwok's default Stages, with pod-complete split three ways for the migration Job.

        Every Job pod that is Running is completed by exactly one of these (kwok picks at random
        among Stages that match, so they must not overlap):
        - pod-complete (kwok's own, narrowed): not a migrate pod: Succeeded at once;
        - migrate-complete: a migrate pod whose version is not failing: Succeeded after the hold;
        - migrate-fail: a migrate pod whose version is failing: Failed (exit code 1) after the
          hold.
        """
        source = self.kube_dir / "stages"
        documents: list[dict[str, Any]] = []
        for name in DEFAULT_STAGES:
            documents.append(yaml.safe_load((source / f"{name}.yaml").read_text()))

        pod_complete = yaml.safe_load((source / "pod-complete.yaml").read_text())
        name_label = "app.kubernetes.io/name"
        version_label = "app.kubernetes.io/version"
        others = copy.deepcopy(pod_complete)
        others["spec"]["selector"]["matchExpressions"].append(
            _label_expression(name_label, "NotIn", [MIGRATE_NAME])
        )
        documents.append(others)

        hold = {"durationMilliseconds": int(self.migrate_hold_seconds * 1000)}
        migrate_ok = copy.deepcopy(pod_complete)
        migrate_ok["metadata"]["name"] = "migrate-complete"
        migrate_ok["spec"]["selector"]["matchExpressions"].append(
            _label_expression(name_label, "In", [MIGRATE_NAME])
        )
        if self.failing_migrate_tags:
            migrate_ok["spec"]["selector"]["matchExpressions"].append(
                _label_expression(version_label, "NotIn", self.failing_migrate_tags)
            )
        migrate_ok["spec"]["delay"] = hold
        documents.append(migrate_ok)

        if self.failing_migrate_tags:
            migrate_fail = copy.deepcopy(pod_complete)
            migrate_fail["metadata"]["name"] = "migrate-fail"
            migrate_fail["spec"]["selector"]["matchExpressions"] += [
                _label_expression(name_label, "In", [MIGRATE_NAME]),
                _label_expression(version_label, "In", self.failing_migrate_tags),
            ]
            migrate_fail["spec"]["delay"] = hold
            migrate_fail["spec"]["next"] = {"statusTemplate": FAILED_STATUS_TEMPLATE}
            documents.append(migrate_fail)

        path = self.state_dir / "stages.yaml"
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return path

    def _install_crds_and_gateway_class(self) -> None:
        crd_files = sorted(GATEWAY_API_CRDS.glob("gateway.networking.k8s.io_*.yaml"))
        crd_files += sorted((self.kube_dir / "crds").glob("*.yaml"))
        if not crd_files:
            raise ControlPlaneError(f"no CRDs in {GATEWAY_API_CRDS} or {self.kube_dir / 'crds'}")
        args = ["create", "--validate=false"]  # see create()
        for path in crd_files:
            args += ["-f", str(path)]
        self.kubectl(*args, timeout=60)

        resources = ",".join(_crd_resource(path) for path in crd_files)

        def established() -> bool:
            # Listing every new kind succeeds once all are established (and served).
            done = self.kubectl("get", resources, "--all-namespaces", "-o", "name", check=False)
            return done.returncode == 0

        _until("the CRDs are established", established, timeout=60)
        self.create(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "GatewayClass",
                "metadata": {"name": "cilium"},
                "spec": {"controllerName": CILIUM_GATEWAY_CONTROLLER},
            }
        )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status = {
            "status": {
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "True",
                        "reason": "Accepted",
                        "message": "Valid GatewayClass",
                        "observedGeneration": 1,
                        "lastTransitionTime": now,
                    }
                ]
            }
        }
        self.kubectl(
            "patch",
            "gatewayclass",
            "cilium",
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
        )

    def _install_system_workloads(self) -> None:
        """DOKS's kube-system workloads, with their requests, so the scheduler counts them."""
        manifests = [self._system_workload(pod) for pod in catalog.DOKS_SYSTEM_PODS]
        self.create({"apiVersion": "v1", "kind": "List", "items": manifests})

    @staticmethod
    def _system_workload(pod: catalog.SystemPod) -> dict[str, Any]:
        labels = {"k8s-app": pod.name, "doks.digitalocean.com/managed": "true"}
        requests: dict[str, str] = {}
        if pod.cpu_millicores:
            requests["cpu"] = f"{pod.cpu_millicores}m"
        if pod.memory_mib:
            requests["memory"] = f"{pod.memory_mib}Mi"
        container: dict[str, Any] = {
            "name": pod.name,
            "image": f"registry.digitalocean.com/doks-e2e/{pod.name}:fake",
        }
        if requests:
            container["resources"] = {"requests": requests}
        daemon = pod.kind == "DaemonSet"
        template_spec: dict[str, Any] = {
            "containers": [container],
            "priorityClassName": "system-node-critical" if daemon else "system-cluster-critical",
            "automountServiceAccountToken": False,
        }
        if daemon:
            template_spec["tolerations"] = [{"operator": "Exists"}]
        spec: dict[str, Any] = {
            "selector": {"matchLabels": {"k8s-app": pod.name}},
            "template": {"metadata": {"labels": labels}, "spec": template_spec},
        }
        if not daemon:
            spec["replicas"] = pod.replicas
        return {
            "apiVersion": "apps/v1",
            "kind": pod.kind,
            "metadata": {
                "name": pod.name,
                "namespace": "kube-system",
                "labels": labels,
                "annotations": {"posts-e2e/basis": pod.basis[:1000]},
            },
            "spec": spec,
        }

    # -- nodes -----------------------------------------------------------------------------------

    def add_nodes(
        self, node_size: str, count: int, pool: str = "pool-e2e", timeout: float = 60
    ) -> list[str]:
        """`count` DOKS-like nodes of `node_size`, Ready, with DOKS's system pods running."""
        size = catalog.NODE_SIZES[node_size]
        allocatable = catalog.NODE_ALLOCATABLE[node_size]
        pool_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{pool}.posts-e2e"))
        names = []
        nodes = []
        for _ in range(count):
            self._nodes_added += 1
            name = f"{pool}-{self._nodes_added:05d}"
            names.append(name)
            nodes.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "annotations": {
                            KWOK_NODE_ANNOTATION: "fake",
                            "node.alpha.kubernetes.io/ttl": "0",
                        },
                        "labels": {
                            "beta.kubernetes.io/arch": "amd64",
                            "beta.kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/hostname": name,
                            "node.kubernetes.io/instance-type": node_size,
                            "beta.kubernetes.io/instance-type": node_size,
                            "doks.digitalocean.com/managed": "true",
                            "doks.digitalocean.com/node-pool": pool,
                            "doks.digitalocean.com/node-pool-id": pool_id,
                            "doks.digitalocean.com/node-id": str(uuid.uuid4()),
                            "doks.digitalocean.com/version": DOKS_VERSION_LABEL,
                            "topology.kubernetes.io/region": self.region,
                            "failure-domain.beta.kubernetes.io/region": self.region,
                            "region": self.region,
                            "type": "kwok",
                        },
                    },
                    "spec": {"providerID": f"digitalocean://{400000000 + self._nodes_added}"},
                    "status": {
                        "capacity": {
                            "cpu": str(size.vcpus),
                            "memory": f"{int(size.memory_gib * 1024)}Mi",
                            "pods": str(catalog.MAX_PODS_PER_NODE),
                        },
                        "allocatable": {
                            "cpu": f"{allocatable.cpu_millicores}m",
                            "memory": f"{allocatable.memory_mib}Mi",
                            "pods": str(catalog.MAX_PODS_PER_NODE),
                        },
                    },
                }
            )
        self.create({"apiVersion": "v1", "kind": "List", "items": nodes})

        def ready() -> bool:
            items = self.kubectl_json("get", "nodes")["items"]
            ready_nodes = {
                node["metadata"]["name"]
                for node in items
                for condition in node.get("status", {}).get("conditions", [])
                if condition["type"] == "Ready" and condition["status"] == "True"
            }
            return set(names) <= ready_nodes

        _until(f"nodes {', '.join(names)} Ready", ready, timeout)
        self.wait_for_system_pods(timeout)
        return names

    def wait_for_system_pods(self, timeout: float = 60) -> None:
        """Every DOKS system workload has all its pods scheduled and Ready on every node."""
        _until("DOKS's system pods Ready", lambda: not self._system_pods_not_ready(), timeout)

    def _system_pods_not_ready(self) -> list[str]:
        nodes = len(self.kubectl_json("get", "nodes")["items"])
        pending = []
        for kind in ("daemonsets", "deployments"):
            items = self.kubectl_json("get", kind, "-n", "kube-system")["items"]
            for item in items:
                status = item.get("status", {})
                if kind == "daemonsets":
                    want = nodes
                    ok = status.get("desiredNumberScheduled") == want
                    ok = ok and status.get("numberReady") == want
                else:
                    want = item["spec"].get("replicas", 1)
                    ok = status.get("readyReplicas", 0) == want
                if not ok:
                    pending.append(f"{kind}/{item['metadata']['name']}")
        return pending

    # -- kubectl ---------------------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        token: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """kubectl against this control plane (as the admin token, or `token`)."""
        argv = [
            str(self.bin_dir / "kubectl"),
            f"--kubeconfig={self.kubeconfig}",
            # Its discovery cache in the state directory, not in ~/.kube/cache.
            f"--cache-dir={self.state_dir / 'kubectl-cache'}",
        ]
        if token is not None:
            argv.append(f"--token={token}")
        done = subprocess.run(
            [*argv, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise ControlPlaneError(
                f"kubectl {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        return done

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def create(self, manifest: dict[str, Any]) -> None:
        """`kubectl create` of one object (a `List` for several), of this module's own making.

        `--validate=false`: kubectl's client-side validation fetches /openapi/v2, which the API
        server takes a second or two to build on a fresh start.
        """
        self.kubectl("create", "--validate=false", "-f", "-", input=json.dumps(manifest))

    def apply(self, manifest: dict[str, Any]) -> None:
        """`kubectl apply --server-side` of one object (a `List` for several)."""
        self.kubectl(
            "apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(manifest)
        )

    # -- measurements ----------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        return {process.name: process.pid for process in self.processes}

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of each process now (VmRSS), in MiB."""
        sizes = {}
        for process in self.processes:
            try:
                status = Path(f"/proc/{process.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes[process.name] = int(line.split()[1]) / 1024
        return sizes

    def listening(self) -> list[int]:
        """Which of the ports this control plane opened still accept connections."""
        return [port for port in self.ports if port_open(port)]

    def listen_addresses(self) -> list[tuple[str, str, int]]:
        """(process, address, port) of every TCP socket its processes listen on (/proc/net)."""
        found = []
        for process in self.processes:
            inodes = _socket_inodes(process.pid)
            for address, port, inode in _tcp_listeners():
                if inode in inodes:
                    found.append((process.name, address, port))
        return found


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_listeners() -> list[tuple[str, int, str]]:
    """(address, port, inode) of every listening TCP socket in this network namespace."""
    listeners = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            hex_address, hex_port = fields[1].split(":")
            listeners.append((_decode_address(hex_address, width), int(hex_port, 16), fields[9]))
    return listeners


def _decode_address(hex_address: str, width: int) -> str:
    """/proc/net/tcp{,6} addresses: 32-bit words in host (little-endian) order."""
    raw = b"".join(bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, width, 8))
    if width == 8:
        return ".".join(str(b) for b in raw)
    return ipaddress.IPv6Address(raw).compressed
