"""Will the pods fit? The capacity check's predictions (model/capacity.py), on the real
kube-scheduler.

Each scenario starts from a fresh render of the stack (`offline.render`, the files of
`build/<stack>/kubernetes`) and kwok nodes with the catalog's allocatable and DOKS's own pods:
the very numbers the check uses. The rendered objects are applied with kubectl, the app's
workloads one at a time in the order the check places them, the api scaled to the scenario's
count, and each pod's fate is compared with the prediction, workload by workload: the pods the
check places are scheduled, the ones it leaves stay Pending. Today's dev and prod at minNodes
and at maxNodes with the api at its maximum, then the borderline pair: two dev stacks 1m of api
CPU apart, one that just fits and one that just does not although the cluster's total has room.

Where this differs from a deploy, and why:
- the workloads come one at a time, largest first: kube-scheduler places pods in the order they
  come, and the check's "fits" means "fits when placed largest first" (its verdict says when
  the order cannot matter). The pair's fitting stack is also run smallest first, where the order
  decides: that is the check's "only largest first";
- no HorizontalPodAutoscaler (no metrics server here): the test sets the count the HPA would;
- the migrate Job's pod is held Running (kwok would end it after a few seconds) and the scheduler
  CronJob is applied suspended with its one run as a bare Pod of its pod template (kwok ends Job
  pods at once): the check counts both as running, which they are during a release;
- the first node comes alone, the rest after: DOKS's Deployments (coredns) run on the first node,
  as the check places them and as on a cluster that started with one node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from config.values import cpu_millicores
from model import capacity
from offline.capacity_report import left_text
from offline.render import render
from offline.simulate import run_stack
from tests.e2e.engine.processes import wait_until
from tests.e2e.engine.toolchain import toolchain_dir
from tests.e2e.kube.controlplane import LocalControlPlane

TOKEN = "dop_v1_" + "cap0" * 16
HOLD_SECONDS = 3600.0  # the migrate Job's pod stays Running for the whole test
WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")
NAME_LABEL = "app.kubernetes.io/name"
# The pair, as in tests/test_capacity.py: 3 api pods at the HPA's maximum on 2 of dev's nodes.
BORDERLINE = {
    "minNodes": "1",
    "maxNodes": "2",
    "apiMinReplicas": "2",
    "apiMaxReplicas": "3",
    "workerReplicas": "1",
}
JUST_FITS = {**BORDERLINE, "apiResources": "699m/256Mi/512Mi"}
JUST_DOES_NOT_FIT = {**BORDERLINE, "apiResources": "700m/256Mi/512Mi"}

Order = Literal["largest first", "smallest first"]
Tally = dict[str, tuple[int, int]]  # workload -> (scheduled, pending)


@dataclass(frozen=True)
class Rendered:
    stack: str
    folder: Path  # build/<stack>/
    namespace: str
    report: capacity.Assessment
    pool: str  # the app's pool: its nodes are the ones the check counts


def rendered(stack: str, out: Path, overrides: dict[str, str] | None = None) -> Rendered:
    simulation = run_stack(stack, overrides)
    folder = render(stack, out, simulation)
    settings = simulation.program["settings"]
    assert isinstance(settings.capacity, capacity.Assessment)
    pool = simulation.program["cluster_plan"].app_pool_name
    return Rendered(stack, folder, settings.app.namespace, settings.capacity, pool)


@contextmanager
def control_plane(work: Path) -> Iterator[LocalControlPlane]:
    plane = LocalControlPlane(
        toolchain_dir() / "kube", work, TOKEN, migrate_hold_seconds=HOLD_SECONDS
    )
    with plane:
        yield plane


def grow(plane: LocalControlPlane, node_size: str, count: int, pool: str) -> None:
    """`count` nodes of `node_size` in the app's pool `pool` (labelled as DOKS labels it, so
    that the app's pods select them): the first alone (DOKS's Deployments go there), then
    more."""
    nodes = plane.kubectl_json("get", "nodes")["items"]
    assert {n["metadata"]["labels"]["node.kubernetes.io/instance-type"] for n in nodes} <= {
        node_size
    }
    have = len(nodes)
    assert have <= count, f"{have} nodes already, the scenario wants {count}"
    labels = {"posts.dev/pool": "app"}
    if have == 0:
        plane.add_nodes(node_size, 1, pool, labels=labels)
        have = 1
    if count > have:
        plane.add_nodes(node_size, count - have, pool, labels=labels)


def _unschedulable(pod: dict[str, Any]) -> bool:
    return any(
        c["type"] == "PodScheduled"
        and c["status"] == "False"
        and c.get("reason") == "Unschedulable"
        for c in pod["status"].get("conditions", [])
    )


def _pods(plane: LocalControlPlane, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    args = ["get", "pods", "-n", namespace, *(["-l", selector] if selector else [])]
    items: list[dict[str, Any]] = plane.kubectl_json(*args)["items"]
    return items


def _apply_files(plane: LocalControlPlane, paths: list[Path]) -> None:
    args = ["apply", "--server-side", "--force-conflicts"]
    for path in paths:
        args += ["-f", str(path)]
    plane.kubectl(*args)


def deploy(
    plane: LocalControlPlane, stack: Rendered, scenario: capacity.ScenarioName, order: Order
) -> Tally:
    """The stack's rendered objects on the plane, as the scenario has them; each workload's
    scheduled and Pending pods once scheduling has settled."""
    outcome = stack.report.outcome(scenario)
    grow(plane, outcome.node_size, outcome.nodes, stack.pool)
    namespace = stack.namespace
    objects = {
        path: yaml.safe_load(path.read_text())
        for path in sorted((stack.folder / "kubernetes").glob("*.yaml"))
    }
    workloads = {
        obj["metadata"]["labels"][NAME_LABEL]: (path, obj)
        for path, obj in objects.items()
        if obj["kind"] in WORKLOAD_KINDS
    }
    # Everything but the workloads and the HPA, in the render's apply order.
    _apply_files(
        plane,
        [
            path
            for path, obj in objects.items()
            if obj["kind"] not in (*WORKLOAD_KINDS, "HorizontalPodAutoscaler")
        ],
    )
    pods = capacity.app_pods(stack.report.plan, outcome.counts)
    names = list(
        dict.fromkeys(p.workload for p in capacity.placement_order(pods, outcome.node_size))
    )
    if order == "smallest first":
        names.reverse()
    for name in names:
        path, obj = workloads[name]
        count = outcome.counts[name]
        if obj["kind"] == "CronJob":
            plane.apply({**obj, "spec": {**obj["spec"], "suspend": True}})
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
            plane.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": "scheduler-run",
                        "namespace": namespace,
                        "labels": template["metadata"]["labels"],
                    },
                    "spec": template["spec"],
                }
            )
        else:
            _apply_files(plane, [path])
            if name == "api":  # what the HPA does: the scale subresource
                plane.kubectl("scale", "deployment/api", f"--replicas={count}", "-n", namespace)
            elif obj["kind"] == "Deployment":
                assert obj["spec"]["replicas"] == count, name

        def settled(name: str = name, count: int = count) -> bool:
            found = _pods(plane, namespace, f"{NAME_LABEL}={name}")
            return len(found) == count and all(
                p["spec"].get("nodeName") or _unschedulable(p) for p in found
            )

        wait_until(f"{count} {name} pod(s) scheduled or reported Unschedulable", settled, 60)

    tally: Tally = {}
    for name in names:
        found = _pods(plane, namespace, f"{NAME_LABEL}={name}")
        scheduled = sum(1 for p in found if p["spec"].get("nodeName"))
        tally[name] = (scheduled, len(found) - scheduled)
    system = _pods(plane, "kube-system")
    assert system and all(p["spec"].get("nodeName") for p in system), "a DOKS pod is Pending"
    return tally


def predicted(outcome: capacity.Outcome) -> Tally:
    placed = Counter(p.workload for node in outcome.placement.nodes for p in node if not p.system)
    left = Counter(p.workload for p in outcome.placement.unscheduled if not p.system)
    return {name: (placed[name], left[name]) for name, count in outcome.counts.items() if count > 0}


def clear(plane: LocalControlPlane, namespace: str) -> None:
    """Every workload and pod of the namespace gone, their requests freed."""
    plane.kubectl(
        "delete",
        "deployments,replicasets,jobs,cronjobs,pods",
        "--all",
        "-n",
        namespace,
        "--grace-period=0",
        "--force",
        "--wait=false",
    )
    wait_until("the namespace's pods are gone", lambda: not _pods(plane, namespace), 60)


def free_cpu_per_node(plane: LocalControlPlane) -> list[int]:
    """Allocatable CPU less the requests of the pods bound to each node, in millicores."""
    free = {}
    for node in plane.kubectl_json("get", "nodes")["items"]:
        free[node["metadata"]["name"]] = cpu_millicores(node["status"]["allocatable"]["cpu"])
    for pod in plane.kubectl_json("get", "pods", "--all-namespaces")["items"]:
        node_name = pod["spec"].get("nodeName")
        if not node_name or pod["status"].get("phase") in ("Succeeded", "Failed"):
            continue
        for container in pod["spec"]["containers"]:
            request = container.get("resources", {}).get("requests", {}).get("cpu", "0")
            free[node_name] = (free[node_name] or 0) - (cpu_millicores(request) or 0)
    return sorted(value or 0 for value in free.values())


def _report(name: str, outcome: capacity.Outcome, got: Tally) -> None:
    print(
        f"\n{name}: {outcome.scenario} on {outcome.nodes} x {outcome.node_size}:"
        f" predicted {outcome.verdict}, left {left_text(outcome)};"
        f" kube-scheduler (scheduled, Pending): {got}"
    )


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("capacity-render")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_at_min_and_max_nodes(stack: str, tmp_path: Path, out: Path) -> None:
    """At minNodes with every workload at its minimum, then at maxNodes with the api at its
    maximum: the nodes the autoscaler would add join the same plane (DOKS's Deployments stay on
    the first)."""
    stack_render = rendered(stack, out / stack)
    with control_plane(tmp_path) as plane:
        minimum = stack_render.report.outcome("minimum")
        got = deploy(plane, stack_render, "minimum", "largest first")
        _report(stack, minimum, got)
        assert got == predicted(minimum)
        clear(plane, stack_render.namespace)

        api_maximum = stack_render.report.outcome("api maximum")
        got = deploy(plane, stack_render, "api maximum", "largest first")
        _report(stack, api_maximum, got)
        assert got == predicted(api_maximum)


def test_the_borderline_pair_on_the_real_scheduler(tmp_path: Path, out: Path) -> None:
    fits = rendered("dev", out / "just-fits", JUST_FITS)
    does_not = rendered("dev", out / "just-does-not", JUST_DOES_NOT_FIT)
    fits_outcome = fits.report.outcome("api maximum")
    does_not_outcome = does_not.report.outcome("api maximum")
    assert fits_outcome.verdict == "only largest first" and does_not_outcome.verdict == "no"
    with control_plane(tmp_path) as plane:
        # 699m: two api pods fill one node to the millicore, the third shares the other node
        got = deploy(plane, fits, "api maximum", "largest first")
        _report("just fits", fits_outcome, got)
        assert got == predicted(fits_outcome)
        assert got["api"] == (3, 0)
        assert free_cpu_per_node(plane)[0] == 0
        clear(plane, fits.namespace)

        # 700m: one api pod stays Pending although the cluster has CPU for it in total
        got = deploy(plane, does_not, "api maximum", "largest first")
        _report("just does not fit", does_not_outcome, got)
        assert got == predicted(does_not_outcome)
        assert got["api"] == (2, 1)
        free = free_cpu_per_node(plane)
        assert max(free) < 700 <= sum(free), free
        clear(plane, does_not.namespace)

        # 699m again, smallest first: the small pods spread over both nodes first, and no node
        # is left with room for two api pods. "only largest first" meant exactly that.
        got = deploy(plane, fits, "api maximum", "smallest first")
        _report("just fits, smallest first", fits_outcome, got)
        assert got["api"] == (2, 1)
        assert all(pending == 0 for name, (_, pending) in got.items() if name != "api")
