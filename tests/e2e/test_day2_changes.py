"""Day-2 changes by config on a running stack, on the real engine: the move of a stack deployed
before the app had a pool of its own, a new node size, a Kubernetes minor upgrade, and the
refusals of what cannot be carried out.

One dev stack of its own (group `[pools]`: its own control plane, stand-in and Prism), deployed
with the program as it was at `BEFORE_POOLS` (the app on the cluster's own pool) and Kubernetes
1.35, then taken through the changes in file order, each with `pulumi up` and a clean preview
after it. The control plane stays at 1.36.3: the upgrade is DigitalOcean's, shown through the
stand-in's state (`upgrading`, then running the new version).

While each change runs, and until the app has settled after it, a thread watches every
PodDisruptionBudget of the app: its healthy pods never fall below what it requires. Each change
starts from a settled stack, as one that has run for a while is: every Deployment available at
its count, api at its autoscaler's minimum. Right after a first `up` api runs one pod (its
Deployment sets no `replicas`: the autoscaler owns the count) until the autoscaler's first sync
raises it to four; a budget read in that moment counts four pods expected and one healthy (a
margin of -2), a scale-up that no change caused.

What the Kubernetes provider that ran (built from pulumi-kubernetes 94977969) does not
guarantee: that a Deployment's rollout is complete when its update step ends. Now and then the
step ends within a second, before the Deployment controller has acted (one recorded run: api's
update ended at +14 s, its rollout, 1 of 4 pods moved then, ended at +16.6 s). Its awaiter
subscribes to an informer shared by the four Deployments updated at once; the first event it gets
can be the cached object from before the apply (generation equal to observedGeneration, which
ends its wait for the controller), and the next one is the apply's own (the new generation, the
old status: revision, NewReplicaSetAvailable), which it takes for a finished rollout. So `up` may
return while pods still move, and a pool's delete may begin while the old pool still runs some of
the app: DigitalOcean's drain then evicts them through the Eviction API, which the budgets bound.
The checks here are what holds either way: the budgets' margins, the order of the steps, no pod
of the app deleted by force, every pod on the new pool once the app settles.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.engine.environment import NAMESPACE, Environments, StackEnvironment
from tests.e2e.engine.events import ENDED, STARTED, step_events
from tests.e2e.engine.processes import wait_until
from tests.e2e.engine.toolchain import REPO
from tests.e2e.engine.workspace import Run, Workspace, copy_program
from tests.e2e.kube.watching import Watch

# The program as it was before the app had its own pool (the app on the cluster's own pool,
# whose size `nodeSize` was), as the cloud branch had it on 2026-12-06.
BEFORE_POOLS = "d95179497730e2314a6cffd095749e4d52a368d7"
# What a stack deployed at BEFORE_POOLS also gets from the monitoring and backups work (issue 16,
# merged after it): dev's uptime check, MySQL's backup window and storage autoscaling, and the
# restore drill's check pod among the database clients.
ALERTING_AND_BACKUPS_ARRIVE = {
    "monitoring": "create",
    "monitoring-uptime-check": "create",
    "mysql-cluster": "update",
    "mysql-config": "update",
    "app-netpol-php-to-databases-and-https": "update",
}
DEPLOYMENTS = ("api", "worker", "nginx", "frontend")
API_MIN_REPLICAS = 4  # apiMinReplicas's default, which dev keeps
CLUSTER = "posts-dev"
OWN_POOL = "posts-dev-default"
FIRST_POOL, SECOND_POOL = "posts-dev-s-2vcpu-4gb", "posts-dev-s-4vcpu-8gb"


_STEP = re.compile(r"^\s*(?:\+-|[-+~])?\s*[\w:./-]+: \((?P<op>[\w-]+)\)")
_URN = re.compile(r"\[urn=.*::(?P<name>[^:\]]+)\]")


def planned(preview: str) -> dict[str, str]:
    """Resource logical name -> the step `pulumi preview --diff` plans for it (update, create,
    replace, ...), for every resource that is not `same`."""
    found: dict[str, str] = {}
    op = None
    for line in preview.splitlines():
        step = _STEP.match(line)
        if step is not None:
            op = step.group("op")
            continue
        urn = _URN.search(line)
        if urn is not None and op is not None:
            if op != "same":
                found[urn.group("name")] = op
            op = None
    return found


def export(revision: str, target: Path) -> Path:
    """The files of `revision`, as `git archive` gives them (the checkout needs its history)."""
    archive = target.with_suffix(".tar")
    done = subprocess.run(
        ["git", "archive", "--output", str(archive), revision],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (
        f"git archive {revision} failed ({done.stderr.strip()}): the migration scenario deploys"
        " the program of that revision, so the checkout needs its history (fetch-depth: 0)"
    )
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


class Stack:
    """The scenarios' stack: its environment and the workspace the CLI runs in."""

    def __init__(self, env: StackEnvironment, workspace: Workspace) -> None:
        self.env = env
        self.workspace = workspace

    def cluster(self) -> dict[str, Any]:
        (found,) = [
            c for c in self.env.standin.state()["kubernetes_clusters"] if c["name"] == CLUSTER
        ]
        return found

    def pools(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.cluster()["node_pools"]}

    def up(self) -> Run:
        return self.workspace.pulumi("up", "--yes", "--skip-preview", events=True)

    def preview(self, *extra: str, check: bool = True) -> Run:
        return self.workspace.pulumi("preview", "--diff", *extra, check=check)

    def settled(self) -> None:
        """Until every app Deployment has all its pods available and no pods of an older
        template, api at its autoscaler's minimum or more."""
        unsettled: dict[str, str] = {}

        def settled_now() -> bool:
            unsettled.clear()
            for item in self.env.kubectl_json("get", "deployments", "-n", NAMESPACE)["items"]:
                name, wanted = item["metadata"]["name"], int(item["spec"].get("replicas", 1))
                status = item.get("status") or {}
                counts = [int(status.get(key) or 0) for key in ("replicas", "updatedReplicas")]
                available = int(status.get("availableReplicas") or 0)
                if (
                    counts != [wanted, wanted]
                    or available < wanted
                    or (name == "api" and wanted < API_MIN_REPLICAS)
                ):
                    unsettled[name] = (
                        f"{counts[0]} pods, {counts[1]} updated, {available} of {wanted} available"
                    )
            return not unsettled

        try:
            wait_until("the app settled", settled_now, 90, interval=1)
        except AssertionError as late:
            raise AssertionError(f"{late}: {unsettled}") from None

    def mutations_since(self, mark: int) -> list[str]:
        return [
            f"{r['method']} {r['path']}"
            for r in self.env.standin.requests()[mark:]
            if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
        ]

    def pods_by_pool(self) -> dict[str, set[str]]:
        """Each app Deployment's pods (not terminating) -> the pools of their nodes."""
        nodes = {
            n["metadata"]["name"]: n["metadata"]["labels"].get("doks.digitalocean.com/node-pool")
            for n in self.env.kubectl_json("get", "nodes")["items"]
        }
        found: dict[str, set[str]] = {}
        for pod in self.env.kubectl_json("get", "pods", "-n", NAMESPACE)["items"]:
            name = pod["metadata"]["labels"].get("app.kubernetes.io/name", "")
            if name in DEPLOYMENTS and not pod["metadata"].get("deletionTimestamp"):
                found.setdefault(name, set()).add(str(nodes.get(pod["spec"].get("nodeName"))))
        return found


class BudgetWatch(Watch):
    """The least margin of each PodDisruptionBudget of the app (healthy pods less the healthy
    pods it requires), sampled from a thread while a change runs."""

    def __init__(self, env: StackEnvironment) -> None:
        super().__init__(env.control_plane.kubeconfig)
        self.least: dict[str, int] = {}
        # For a failure's message: each budget's status when its margin was least, and when.
        self.at_least: dict[str, dict[str, Any]] = {}

    def sample(self) -> None:
        for budget in self.list(f"/apis/policy/v1/namespaces/{NAMESPACE}/poddisruptionbudgets"):
            status = budget.get("status") or {}
            margin = int(status.get("currentHealthy", 0)) - int(status.get("desiredHealthy", 0))
            name = budget["metadata"]["name"]
            if margin < self.least.get(name, margin + 1):
                self.least[name] = margin
                kept = ("currentHealthy", "desiredHealthy", "expectedPods", "disruptionsAllowed")
                self.at_least[name] = {
                    "at": time.strftime("%H:%M:%S"),
                    **{key: status.get(key) for key in kept},
                }


@pytest.fixture(scope="module", params=["pools"])
def stack(
    request: pytest.FixtureRequest,
    environments: Environments,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """A dev stack deployed with the program of BEFORE_POOLS at Kubernetes 1.35."""
    env = environments.get("dev", name=request.param)
    before = export(BEFORE_POOLS, tmp_path_factory.mktemp("before") / "program")
    workspace = env.new_workspace("deployed", source=before)
    workspace.init_stack()
    workspace.set_config("kubernetesVersionPrefix", "1.35.")
    workspace.pulumi("up", "--yes", "--skip-preview")
    stack = Stack(env, workspace)
    stack.settled()
    yield stack


def test_a_stack_deployed_before_the_apps_pool_moves_onto_it_with_one_up(stack: Stack) -> None:
    before = stack.cluster()
    ((own_name, own),) = stack.pools().items()
    assert (own_name, own["size"], own["min_nodes"], own["max_nodes"]) == (
        OWN_POOL,
        "s-2vcpu-4gb",
        2,
        3,
    )
    assert stack.pods_by_pool() == {d: {OWN_POOL} for d in DEPLOYMENTS}

    copy_program(REPO, stack.workspace.project)
    # The stack file as it was: the cluster's own pool is s-2vcpu-4gb, systemNodeSize's default
    # is not. Refused before anything changes, with the one-time step to take.
    mark = len(stack.env.standin.requests())
    refused = stack.preview(check=False)
    assert refused.returncode != 0
    assert "systemNodeSize: the cluster's own pool (posts-dev-default) is s-2vcpu-4gb" in (
        refused.output
    )
    assert "Traceback" not in refused.output
    assert stack.mutations_since(mark) == []

    stack.workspace.set_config("systemNodeSize", "s-2vcpu-4gb")  # what Pulumi.dev.yaml now has
    preview = stack.preview()
    assert "the app moves off the cluster's own pool onto a pool of its own" in preview.output
    # The cluster updated in place (its own pool's minimum), the app's pool added, the app's
    # workloads moved onto it; the release's Job gains the same selector, and a Job's template
    # cannot change: it is replaced, and its migration (nothing pending) runs once more. What
    # came since BEFORE_POOLS besides (issue 16) arrives in the same `up`, nothing else.
    assert planned(preview.stdout) == {
        "cluster-doks": "update",
        "cluster-app-pool": "create",
        "app-job-migrate": "replace",
        **{f"app-deployment-{d}": "update" for d in DEPLOYMENTS},
        "app-cronjob-scheduler": "update",
        **ALERTING_AND_BACKUPS_ARRIVE,
    }, preview.stdout[-4000:]
    assert "~ minNodes: 2 => 1" in preview.stdout

    with BudgetWatch(stack.env) as budgets:
        stack.up()
        stack.settled()  # pods may still move after `up` (the provider's early end, above)
    after = stack.cluster()
    assert after["id"] == before["id"]
    assert after["node_pools"][0]["size"] == "s-2vcpu-4gb"
    assert stack.pools()[OWN_POOL]["min_nodes"] == 1
    assert stack.pools()[FIRST_POOL]["count"] == 2
    assert stack.pods_by_pool() == {d: {FIRST_POOL} for d in DEPLOYMENTS}
    assert budgets.samples > 2 and all(m >= 0 for m in budgets.least.values()), budgets.at_least
    stack.preview("--expect-no-changes")


def test_a_new_node_size_makes_a_new_pool_moves_the_app_then_deletes_the_old(
    stack: Stack,
) -> None:
    cluster_id = stack.cluster()["id"]
    old_pool = stack.pools()[FIRST_POOL]
    mark = len(stack.env.standin.requests())
    stack.workspace.set_config("nodeSize", "s-4vcpu-8gb")
    preview = stack.preview()
    assert f"{FIRST_POOL} (s-2vcpu-4gb) is replaced by {SECOND_POOL}" in preview.output
    assert planned(preview.stdout) == {
        "cluster-app-pool": "replace",
        **{f"app-deployment-{d}": "update" for d in DEPLOYMENTS},
        "app-cronjob-scheduler": "update",
    }, preview.stdout[-4000:]

    with BudgetWatch(stack.env) as budgets:
        run = stack.up()
        stack.settled()
    assert budgets.samples > 2 and all(m >= 0 for m in budgets.least.values()), budgets.at_least

    # In DigitalOcean: the new pool added before the old one's delete, the cluster kept.
    requests = stack.env.standin.requests()[mark:]
    created = next(
        i
        for i, r in enumerate(requests)
        if r["method"] == "POST" and r["path"].endswith("/node_pools")
    )
    deleted = next(
        i
        for i, r in enumerate(requests)
        if r["method"] == "DELETE" and r["path"].endswith(f"/node_pools/{old_pool['id']}")
    )
    assert created < deleted
    assert stack.cluster()["id"] == cluster_id
    assert set(stack.pools()) == {OWN_POOL, SECOND_POOL}

    # In the engine: every Deployment rolled onto the new pool after it was created and before
    # the old one's delete began.
    steps = step_events(run.events)
    pool_created = next(
        s
        for s in steps
        if s.name == "cluster-app-pool" and s.kind == ENDED and s.op == "create-replacement"
    )
    pool_deleted = next(
        s
        for s in steps
        if s.name == "cluster-app-pool" and s.kind == STARTED and s.op == "delete-replaced"
    )
    for workload in DEPLOYMENTS:
        rolled = [s for s in steps if s.name == f"app-deployment-{workload}" and s.op == "update"]
        assert rolled and rolled[0].sequence > pool_created.sequence, workload
        assert rolled[-1].kind == ENDED and rolled[-1].sequence < pool_deleted.sequence, workload

    # The pods run on the new nodes. The old nodes were drained, and no pod of the app was
    # deleted by force: what the drain moved (the provider's early end of a rollout, above), it
    # moved by eviction, within the budgets.
    assert stack.pods_by_pool() == {d: {SECOND_POOL} for d in DEPLOYMENTS}
    drained = [d for d in stack.env.standin.node_drains() if d["pool"] == old_pool["id"]]
    assert len(drained) == len(old_pool["nodes"]) and all(d["finished"] for d in drained)
    forced = [p for d in drained for p in d["forced"] if p.startswith(f"{NAMESPACE}/")]
    assert forced == [], drained
    names = {n["metadata"]["name"] for n in stack.env.kubectl_json("get", "nodes")["items"]}
    assert not names & {n["name"] for n in old_pool["nodes"]}
    stack.preview("--expect-no-changes")


def test_a_minor_upgrade_is_in_place_and_up_waits_for_it(stack: Stack) -> None:
    cluster = stack.cluster()
    assert cluster["version"] == "1.35.7-do.1"
    path = f"/v2/kubernetes/clusters/{cluster['id']}"

    # A skip of a minor: refused before anything changes.
    stack.workspace.set_config("kubernetesVersionPrefix", "1.37.")
    mark = len(stack.env.standin.requests())
    refused = stack.preview(check=False)
    assert "kubernetesVersionPrefix: '1.37.' skips a minor: the cluster runs 1.35.7-do.1" in (
        refused.output
    )
    assert stack.mutations_since(mark) == []

    stack.workspace.set_config("kubernetesVersionPrefix", "1.36.")
    preview = stack.preview()
    assert "upgrades it in place to 1.36.3-do.0" in preview.output
    assert planned(preview.stdout) == {"cluster-doks": "update"}, preview.stdout[-3000:]
    assert '~ version: "1.35.7-do.1" => "1.36.3-do.0"' in preview.stdout, preview.stdout[-3000:]

    stack.env.standin.behaviour(cluster_upgrading_polls=2)
    mark = len(stack.env.standin.requests())
    run = stack.up()
    requests = stack.env.standin.requests()[mark:]
    (upgrade,) = [r for r in requests if r["method"] == "POST" and r["path"] == f"{path}/upgrade"]
    assert upgrade["body"] == {"version": "1.36.3-do.0"}
    after = [r["observed"] for r in requests if r["path"] == path and r.get("observed")]
    assert after[: after.index("running")] == ["upgrading", "upgrading"], after
    # `up` returned only once DigitalOcean answered `running`: its last read saw it.
    final_read = max(
        r["t_end"] for r in requests if r["path"] == path and r["observed"] == "running"
    )
    assert final_read <= requests[-1]["t_end"]
    assert stack.workspace.outputs()["kubernetesVersion"] == "1.36.3-do.0"
    upgraded = stack.cluster()
    assert (upgraded["id"], upgraded["version"]) == (cluster["id"], "1.36.3-do.0")
    assert run.returncode == 0
    stack.preview("--expect-no-changes")

    # Back to 1.35: a downgrade, refused (the provider would replace the cluster).
    stack.workspace.set_config("kubernetesVersionPrefix", "1.35.")
    mark = len(stack.env.standin.requests())
    refused = stack.preview(check=False)
    assert "kubernetesVersionPrefix: '1.35.' is below the 1.36. the cluster runs" in refused.output
    assert stack.mutations_since(mark) == []
    stack.workspace.set_config("kubernetesVersionPrefix", "1.36.")
