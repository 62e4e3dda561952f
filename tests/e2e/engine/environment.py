"""Everything one stack needs to run on the real engine, offline, and its lifecycle.

Per stack: a local Kubernetes control plane (kwok nodes sized as the stack's node pool at
`maxNodes`), the DigitalOcean API stand-in that hands out that control plane as the stack's
cluster, Prism's validating proxy in front of the stand-in, and a project copy with its own
file backend where the real CLI runs. The stack's DigitalOcean token is the stand-in's API token
and a bearer token of the control plane, as DOKS accepts it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from config.schema import KEYS_BY_NAME
from tests.e2e.digitalocean.prism import PrismProxy
from tests.e2e.digitalocean.server import StandIn
from tests.e2e.engine.processes import wait_until
from tests.e2e.engine.toolchain import REPO, Toolchain
from tests.e2e.engine.workspace import Run, Workspace
from tests.e2e.kube.cluster_setup import node_shapes
from tests.e2e.kube.controlplane import LocalControlPlane

NAMESPACE = "posts"
# A release whose migration fails: the control plane's kwok Stage fails migrate pods of this tag.
FAILING_TAG = "f4115ed"
# A release whose servers never start: its migration runs, its other pods are never Ready.
NEVER_READY_TAG = "dead0b0"
# Every workload a release rolls, each only after its migration succeeded.
RELEASED_WORKLOADS = (
    "app-deployment-api",
    "app-deployment-worker",
    "app-cronjob-scheduler",
    "app-deployment-nginx",
    "app-deployment-frontend",
)
MIGRATE_JOB = "app-job-migrate"
# How slowly DigitalOcean builds during a first deploy
# (tests/e2e/digitalocean/standin/lifecycle.py): the provider reads a new cluster every 10 s
# and a database every 15 s.
CLUSTER_PROVISIONING_POLLS = 2
DATABASE_CREATING_POLLS = 1


def stack_setting(stack: str, key: str) -> Any:
    """A plain setting of `Pulumi.<stack>.yaml`, or the declared default."""
    document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text()) or {}
    config = document.get("config") or {}
    return config.get(f"posts-infra:{key}", KEYS_BY_NAME[key].default)


class StackEnvironment:
    def __init__(self, stack: str, root: Path, toolchain: Toolchain) -> None:
        self.stack = stack
        self.root = root
        self.toolchain = toolchain
        self.token = f"dop_v1_{secrets.token_hex(32)}"
        self.baseline_release = str(stack_setting(stack, "imageTag"))
        self.release = self.baseline_release
        self.first_up: Run | None = None
        self.first_requests = 0  # the stand-in's request count when the first up began
        self._initialised = False
        self._closers: list[Any] = []
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        self.control_plane = LocalControlPlane(
            self.toolchain.kube_bin_dir.parent,
            self.root / "kube",
            self.token,
            failing_migrate_tags=(FAILING_TAG,),
            never_ready_tags=(NEVER_READY_TAG,),
            region=str(stack_setting(self.stack, "region")),
        )
        self._closers.append(self.control_plane.stop)
        self.control_plane.start()
        # No nodes yet: DigitalOcean's stand-in makes each pool's nodes in this cluster (kwok
        # Nodes of DOKS's shape for their size), and drains and deletes them when they go.
        self.standin = StandIn(
            self.root / "digitalocean",
            token=self.token,
            clusters={
                f"posts-{self.stack}": {
                    "endpoint": self.control_plane.endpoint,
                    "ca_pem_base64": base64.b64encode(self.control_plane.ca_pem).decode(),
                    "nodes": node_shapes(),
                }
            },
        )
        self._closers.append(self.standin.stop)
        self.standin.start()
        self.prism = PrismProxy(self.standin.url, self.root / "prism.log")
        self._closers.append(self.prism.stop)
        self.prism.start()
        # The cluster's cloud controller: the Gateway's load balancer, through Prism too.
        self.control_plane.use_digitalocean(self.prism.url, self.token)
        self.workspace = self.new_workspace("stack")

    def new_workspace(self, name: str, source: Path = REPO) -> Workspace:
        """A fresh project copy (of the checkout `source`) and backend for this stack, on this
        environment."""
        return Workspace(
            self.root / name,
            self.stack,
            self.toolchain,
            {"DIGITALOCEAN_API_URL": self.prism.url, "DIGITALOCEAN_TOKEN": self.token},
            source,
        )

    def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()

    # -- the stack's lifecycle -------------------------------------------------------------------

    def ensure_initialised(self) -> None:
        if not self._initialised:
            self.workspace.init_stack()
            self._initialised = True

    def ensure_deployed(self) -> Run:
        """The first `pulumi up` of the stack (run once; later callers get its result), against
        a cloud that takes its time: the cluster answers "provisioning" to the provider's first
        CLUSTER_PROVISIONING_POLLS reads, each database "creating" to its first
        DATABASE_CREATING_POLLS."""
        self.ensure_initialised()
        if self.first_up is None:
            self.standin.behaviour(
                cluster_provisioning_polls=CLUSTER_PROVISIONING_POLLS,
                database_creating_polls=DATABASE_CREATING_POLLS,
            )
            self.first_requests = len(self.standin.requests())
            self.first_up = self.workspace.pulumi("up", "--yes", "--skip-preview", events=True)
        return self.first_up

    def up(self, *extra: str, check: bool = True, env: dict[str, str] | None = None) -> Run:
        return self.workspace.pulumi(
            "up", "--yes", "--skip-preview", *extra, check=check, events=True, env=env
        )

    def forget_deployment(self) -> None:
        """After a destroy: the next `ensure_deployed` deploys again."""
        self.first_up = None
        self.release = self.baseline_release

    @contextlib.contextmanager
    def program_variant(self, path: str, old: str, new: str) -> Iterator[None]:
        """The project copy with one edit in one file, restored afterwards."""
        file = self.workspace.project / path
        original = file.read_text()
        assert old in original, f"{path} no longer contains {old!r}"
        file.write_text(original.replace(old, new))
        try:
            yield
        finally:
            file.write_text(original)

    # -- looking at the cluster and at the stand-in ----------------------------------------------

    def kubectl(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.control_plane.kubectl(*argv, check=check)

    def kubectl_json(self, *argv: str) -> Any:
        return json.loads(self.kubectl(*argv, "-o", "json").stdout)

    def wait_for(self, what: str, condition: Any, timeout: float = 60.0) -> Any:
        """Polls `condition()` until it returns something truthy."""
        return wait_until(what, condition, timeout, interval=0.5)

    def app_objects(self) -> list[str]:
        """`kind/name` of every object of the app the program made, in every namespace: not
        those that controllers make and delete on their own (the scheduler CronJob's Jobs and
        pods every minute, ReplicaSets, pods)."""
        listed = self.kubectl_json(
            "get",
            "all,configmaps,secrets,networkpolicies,poddisruptionbudgets,gateways,httproutes,"
            "ciliumnetworkpolicies,horizontalpodautoscalers",
            "--all-namespaces",
            "-l",
            "app.kubernetes.io/part-of=posts",
        )["items"]
        return sorted(
            f"{item['kind'].lower()}/{item['metadata']['name']}"
            for item in listed
            if not item["metadata"].get("ownerReferences")
        )


class Environments:
    """The suite's environments, made on first use and closed at the end of the session."""

    def __init__(self, toolchain: Toolchain, root: Path) -> None:
        self.toolchain = toolchain
        self.root = root
        self._by_stack: dict[str, StackEnvironment] = {}

    def get(self, stack: str, name: str | None = None) -> StackEnvironment:
        """The environment of `stack`; with `name`, a second environment of that stack, apart
        from the stack's own (its own control plane, stand-in and Prism)."""
        key = name or stack
        if key not in self._by_stack:
            self._by_stack[key] = StackEnvironment(stack, self.root / key, self.toolchain)
        return self._by_stack[key]

    def contract_marks(self) -> dict[str, int]:
        """Where each started environment's violations stand now."""
        return {stack: env.prism.mark() for stack, env in self._by_stack.items()}

    def contract_violations_since(self, marks: dict[str, int]) -> list[str]:
        """Violations, outside the provider's known deviations, since `marks` (all of them for
        an environment started since)."""
        found = []
        for key, env in self._by_stack.items():
            since = marks.get(key, 0)
            found += [f"{key}: {v}" for v in env.prism.unexpected_violations(since)]
        return found

    def close(self) -> None:
        for env in self._by_stack.values():
            env.close()
        self._by_stack.clear()
