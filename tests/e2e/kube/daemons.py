"""The control plane's processes: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok and the Gateway status writer; each logs to its own file, listens on
127.0.0.1 only and is stopped by its PID."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.engine.processes import Process, free_port, start_process, wait_for_port
from tests.e2e.engine.toolchain import KUBE_BINARIES, REPO
from tests.e2e.kube.kubectl import ControlPlaneError, Kubectl, until

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_CIDR = "10.245.0.0/16"  # DOKS's default service range
POD_CIDR = "10.244.0.0/16"  # kwok's fake pod addresses, DOKS's default pod range


class Daemons:
    """The processes started so far, in order, and every port they were given."""

    def __init__(self, bin_dir: Path, state_dir: Path, log_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.state_dir = state_dir  # certificates, token file, etcd's data
        self.log_dir = log_dir
        self.processes: list[Process] = []
        self.ports: list[int] = []

    def check_binaries(self) -> None:
        for needed in KUBE_BINARIES:
            if not (self.bin_dir / needed).is_file():
                raise ControlPlaneError(f"missing {self.bin_dir / needed} (toolchain not built?)")

    def _start(self, name: str, argv: list[str], cwd: Path | None = None) -> Process:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO)
        process = start_process(name, argv, self.log_dir / f"{name}.log", env=env, cwd=cwd)
        self.processes.append(process)
        return process

    def check_alive(self) -> None:
        for process in self.processes:
            if not process.running():
                raise ControlPlaneError(
                    f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
                )

    def stop(self) -> list[str]:
        """SIGTERM then SIGKILL to every process by its PID, newest first; what failed."""
        errors = []
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as error:  # keep stopping the others
                errors.append(f"{process.name} (pid {process.pid}): {error!r}")
        return errors

    def start_etcd(self) -> int:
        client, peer = free_port(), free_port()
        self.ports += [client, peer]
        process = self._start(
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

    def start_apiserver(self, etcd_port: int) -> int:
        port = free_port()
        self.ports.append(port)
        state = self.state_dir
        process = self._start(
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

    def wait_ready(self, kubectl: Kubectl, timeout: float = 180) -> None:
        # Seven workers start seven control planes at once on two cores: an apiserver that is
        # still building its caches can take longer than one probe's 10 s to answer. A probe
        # that times out is "not ready yet", not a failure; only the overall timeout is.
        def ready() -> bool:
            self.check_alive()
            try:
                done = kubectl("get", "--raw=/readyz", check=False, timeout=10)
            except subprocess.TimeoutExpired:
                return False
            return done.returncode == 0 and done.stdout.strip() == "ok"

        until("kube-apiserver ready (/readyz)", ready, timeout)

    def start_controller_manager(self, kubeconfig: Path) -> None:
        self._start(
            "kube-controller-manager",
            [
                *self._controller("kube-controller-manager", kubeconfig),
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--root-ca-file={self.state_dir / 'ca.crt'}",
                f"--service-account-private-key-file={self.state_dir / 'sa.key'}",
                "--use-service-account-credentials=false",
            ],
        )

    def start_scheduler(self, kubeconfig: Path) -> None:
        self._start("kube-scheduler", self._controller("kube-scheduler", kubeconfig))

    def _controller(self, name: str, kubeconfig: Path) -> list[str]:
        """How the controller-manager and the scheduler start: the admin kubeconfig, no leader
        election, no serving port."""
        return [
            str(self.bin_dir / name),
            f"--kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
        ]

    def start_kwok(self, kubeconfig: Path, stages: Path) -> None:
        port = free_port()
        self.ports.append(port)
        process = self._start(
            "kwok",
            [
                str(self.bin_dir / "kwok"),
                f"--kubeconfig={kubeconfig}",
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

    def start_gateway_status(self, kubeconfig: Path, address: str, digitalocean: Path) -> None:
        """Cilium's and the cloud controller's part: each Gateway's load balancer and status,
        each HTTPRoute's status (tests/e2e/kube/gateway_controller.py); `digitalocean` is the file
        that says where DigitalOcean's API is, once there is one."""
        self._start(
            "gateway-status",
            [
                sys.executable,
                "-m",
                "tests.e2e.kube.gateway_controller",
                f"--kubeconfig={kubeconfig}",
                f"--address={address}",
                f"--digitalocean={digitalocean}",
            ],
            cwd=REPO,
        )
