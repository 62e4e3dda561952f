"""A real Kubernetes control plane on 127.0.0.1, started and stopped by the suite itself.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real binaries (built by
../shared/toolchain/build); the nodes are kwok's: Node objects that kwok keeps Ready and whose
pods it moves through their lifecycle (Stages) without running containers. What the program
deploys is therefore validated, admitted, scheduled and reconciled by the real code: Deployments
roll, Jobs complete or fail, the scheduler packs pods by their requests against the nodes'
allocatable. What is simulated, and only that:

- the nodes: `add_nodes(size, count)` makes DOKS-like Nodes whose capacity and allocatable come
  from model/catalog.py, and DOKS's own kube-system workloads (catalog.DOKS_SYSTEM_PODS)
  run on them with their real requests;
- the containers, through kwok Stages: pods become Ready; Job pods Succeed; pods of the
  `migrate` Job are held `migrate_hold_seconds` first (so the order "migration, then the
  rollout" shows in the engine's event log) and Fail (exit code 1) when their
  `app.kubernetes.io/version` is one of `failing_migrate_tags`; the other pods of a release in
  `never_ready_tags` run but never become Ready (CrashLoopBackOff), as servers that cannot start;
- Cilium's Gateway controller and DigitalOcean's cloud controller:
  tests/e2e/kube/gateway_controller.py gets each Gateway's load balancer (from DigitalOcean's
  API once `use_digitalocean` says where it is) and writes the status of Gateways and
  HTTPRoutes, failures included.

Authentication is a static token file: the given token (the stack's DigitalOcean API token, as
DOKS accepts it) is a member of `system:masters`.

Its pieces are in `tests/e2e/kube/` (see its `__init__`); `LocalControlPlane` puts them
together in order and is all the suite uses.
"""

from __future__ import annotations

import atexit
import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.e2e.kube.cluster_setup import ClusterSetup
from tests.e2e.kube.credentials import Credentials
from tests.e2e.kube.daemons import Daemons
from tests.e2e.kube.gateway_controller import DEFAULT_ADDRESS as DEFAULT_GATEWAY_ADDRESS
from tests.e2e.kube.introspection import Introspection
from tests.e2e.kube.kubectl import ControlPlaneError, Kubectl
from tests.e2e.kube.stages import StageWriter

__all__ = ["ControlPlaneError", "LocalControlPlane"]


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
        never_ready_tags: Iterable[str] = (),
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
        self.credentials = Credentials(self.state_dir, token)
        self.kubeconfig = self.credentials.kubeconfig
        self.endpoint = ""
        self.ca_pem = b""
        self.start_seconds = 0.0
        self.daemons = Daemons(self.bin_dir, self.state_dir, self.log_dir)
        self.processes = self.daemons.processes
        self.ports = self.daemons.ports
        self.introspection = Introspection(self.processes, self.ports)
        self.stages = StageWriter(
            kube_dir / "stages",
            migrate_hold_seconds,
            self.failing_migrate_tags,
            tuple(sorted(set(never_ready_tags))),
        )
        # `kubectl(*args, input=None, check=True, timeout=60, token=None)`: kubectl against this
        # control plane (as the admin token, or `token`); a CompletedProcess.
        self.kubectl = Kubectl(
            self.bin_dir / "kubectl", self.kubeconfig, self.state_dir / "kubectl-cache"
        )
        self.setup = ClusterSetup(self.kubectl, kube_dir, region)
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
        errors = self.daemons.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        if errors:
            raise ControlPlaneError("could not stop: " + "; ".join(errors))

    def _start(self) -> None:
        self.daemons.check_binaries()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True)
        self.state_dir.chmod(0o700)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.credentials.write_certificates()
        self.credentials.write_token_file()

        etcd_port = self.daemons.start_etcd()
        api_port = self.daemons.start_apiserver(etcd_port)
        self.endpoint = f"https://127.0.0.1:{api_port}"
        self.ca_pem = self.credentials.ca_certificate.read_bytes()
        self.credentials.write_kubeconfig(self.endpoint, self.ca_pem)
        self.daemons.wait_ready(self.kubectl)

        self.daemons.start_controller_manager(self.kubeconfig)
        self.daemons.start_scheduler(self.kubeconfig)
        stages = self.stages.write(self.state_dir / "stages.yaml")
        self.daemons.start_kwok(self.kubeconfig, stages)
        self.daemons.start_gateway_status(
            self.kubeconfig, self.gateway_address, self.state_dir / "digitalocean.json"
        )
        self.setup.install_system_workloads()
        self.setup.install_crds_and_gateway_class()
        self.daemons.check_alive()

    def use_digitalocean(self, api_url: str, token: str) -> None:
        """From now on the Gateway controller gets each Gateway's load balancer from
        DigitalOcean's API at `api_url`, as DOKS's cloud controller does (without it: a fixed
        address)."""
        target = self.state_dir / "digitalocean.json"
        staged = target.with_suffix(".tmp")
        staged.write_text(json.dumps({"api": api_url, "token": token}))
        staged.chmod(0o600)
        staged.replace(target)

    # -- nodes -----------------------------------------------------------------------------------

    def add_nodes(
        self,
        node_size: str,
        count: int,
        pool: str = "pool-e2e",
        timeout: float = 60,
        labels: dict[str, str] | None = None,
    ) -> list[str]:
        """`count` DOKS-like nodes of `node_size` in `pool` (with the pool's own `labels`),
        Ready, with DOKS's system pods running."""
        return self.setup.add_nodes(node_size, count, pool, timeout, labels or {})

    # -- kubectl ---------------------------------------------------------------------------------

    def kubectl_json(self, *args: str) -> Any:
        return self.kubectl.json(*args)

    def apply(self, manifest: dict[str, Any]) -> None:
        """`kubectl apply --server-side` of one object (a `List` for several)."""
        self.kubectl.apply(manifest)

    # -- measurements ----------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        return self.introspection.pids()

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of each process now (VmRSS), in MiB."""
        return self.introspection.rss_mib()

    def listening(self) -> list[int]:
        """Which of the ports this control plane opened still accept connections."""
        return self.introspection.listening()

    def listen_addresses(self) -> list[tuple[str, str, int]]:
        """(process, address, port) of every TCP socket its processes listen on (/proc/net)."""
        return self.introspection.listen_addresses()
