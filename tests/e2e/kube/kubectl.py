"""kubectl against the local control plane, and the error every piece of it raises."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.engine.processes import wait_until


class ControlPlaneError(RuntimeError):
    pass


def until(what: str, check: Callable[[], bool], timeout: float) -> None:
    """`processes.wait_until`, failing as the control plane fails: a ControlPlaneError."""
    try:
        wait_until(what, check, timeout, interval=0.1)
    except AssertionError as late:
        raise ControlPlaneError(str(late)) from None


class Kubectl:
    """kubectl with the admin kubeconfig, its discovery cache in the state directory: called as
    `kubectl("get", "nodes")`."""

    def __init__(self, binary: Path, kubeconfig: Path, cache_dir: Path) -> None:
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.cache_dir = cache_dir

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        token: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """kubectl against this control plane (as the admin token, or `token`)."""
        argv = [
            str(self.binary),
            f"--kubeconfig={self.kubeconfig}",
            # Its discovery cache in the state directory, not in ~/.kube/cache.
            f"--cache-dir={self.cache_dir}",
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

    def json(self, *args: str) -> Any:
        """`kubectl ... -o json`, parsed."""
        return json.loads(self(*args, "-o", "json").stdout)

    def create(self, manifest: dict[str, Any]) -> None:
        """`kubectl create` of one object (a `List` for several), of this suite's own making.

        `--validate=false`: kubectl's client-side validation fetches /openapi/v2, which the API
        server takes a second or two to build on a fresh start.
        """
        self("create", "--validate=false", "-f", "-", input=json.dumps(manifest))

    def apply(self, manifest: dict[str, Any]) -> None:
        """`kubectl apply --server-side` of one object (a `List` for several)."""
        self("apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(manifest))
