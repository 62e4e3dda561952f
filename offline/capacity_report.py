"""capacity.md: will the pods fit, as the render writes it for each stack (`build/<stack>/`).

The figures are the capacity model's (`model/capacity.py`) for the stack's plan, as the program
checked it (`Settings.capacity`); this module only words them for people: the table of the three
scenarios, what each counts, and how the placement works.
"""

from __future__ import annotations

from model import catalog
from model.capacity import (
    MAX_SURGE_PERCENT,
    SCENARIOS,
    Assessment,
    Outcome,
    ScenarioName,
    daemonset_pods,
    mib,
    node_allocatable,
    system_deployment_pods,
)

TABLE_HEADER = (
    "| scenario | nodes | CPU requested / allocatable | CPU headroom | memory requested /"
    " allocatable | memory headroom | fits | pods left unscheduled | nodes needed |"
)
SCENARIO_TEXT: dict[ScenarioName, str] = {
    "minimum": "at minNodes, every workload at its minimum, with a release's migration and a"
    " scheduler run",
    "api maximum": "at maxNodes, the api at apiMaxReplicas, the rest as in minimum",
    "release": "at minNodes, every workload at its minimum and every Deployment's surge"
    f" ({MAX_SURGE_PERCENT}% more pods, rounded up) at once, and a scheduler run; the migration"
    " has finished",
}


def left_text(outcome: Outcome) -> str:
    """`5 (worker 2, nginx 2, frontend 1)`: the pods left unscheduled, or `none`."""
    left = outcome.unscheduled_counts
    if not left:
        return "none"
    listed = ", ".join(f"{name} {count}" for name, count in left.items())
    return f"{sum(left.values())} ({listed})"


def _catalog_dates() -> str:
    if catalog.ALLOCATABLE_DATE == catalog.SYSTEM_PODS_DATE:
        return catalog.ALLOCATABLE_DATE
    return f"allocatable {catalog.ALLOCATABLE_DATE}, DOKS's pods {catalog.SYSTEM_PODS_DATE}"


def markdown(stack: str, assessment: Assessment) -> str:
    plan = assessment.plan
    allocatable = node_allocatable(plan.node_size)
    daemons = daemonset_pods()
    system = system_deployment_pods()
    lines = [
        f"# Will the pods fit? {stack}",
        "",
        f"The app's node pool: {plan.node_size}, {plan.min_nodes} to {plan.max_nodes} nodes;"
        " the app's pods run only there. Each node"
        f" offers pods {allocatable.cpu_millicores}m CPU and {mib(allocatable.memory_bytes)} MiB"
        f" (its allocatable); DOKS's DaemonSets take"
        f" {sum(p.cpu_millicores for p in daemons)}m and"
        f" {mib(sum(p.memory_bytes for p in daemons))} MiB of it on every node, its Deployments"
        f" {sum(p.cpu_millicores for p in system)}m and"
        f" {mib(sum(p.memory_bytes for p in system))} MiB once (model/catalog.py, read"
        f" {_catalog_dates()}). Requests only: they are what the scheduler counts.",
        "",
        TABLE_HEADER,
        "|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for outcome in assessment.outcomes:
        (cpu, memory), (cpu_total, memory_total) = outcome.requested(), outcome.allocatable()
        cpu_headroom, memory_headroom = outcome.headroom_percent()
        which = "maxNodes" if outcome.scenario == "api maximum" else "minNodes"
        needed = outcome.nodes_needed if outcome.nodes_needed is not None else "over 100"
        lines.append(
            f"| {outcome.scenario} | {outcome.nodes} ({which}) | {cpu}m / {cpu_total}m"
            f" | {cpu_headroom:.1f}% | {mib(memory)} / {mib(memory_total)} MiB"
            f" | {memory_headroom:.1f}% | {outcome.verdict} | {left_text(outcome)}"
            f" | {needed} |"
        )
    lines += [
        "",
        *(f"- {name}: {text}." for name, text in SCENARIO_TEXT.items()),
        "- fits: `yes` whatever order the pods come in; `only largest first`: they fit when"
        " placed largest first, but the scheduler places pods in the order they come and never"
        " moves one, so an unlucky order can leave one Pending; `no`: even largest first some"
        " pods find no node with room (they stay Pending).",
        "- headroom: allocatable not requested, of allocatable, over all the scenario's nodes;"
        " a pod still needs all of its request on one node.",
        "- nodes needed: the fewest nodes of this size on which the scenario fits largest first.",
        "",
        "## The pods each scenario counts",
        "",
        "| pod | CPU | memory | " + " | ".join(SCENARIOS) + " |",
        "|---|---:|---:|" + "---:|" * len(SCENARIOS),
    ]
    for workload in plan.workloads:
        kind = "" if workload.kind == "Deployment" else f" ({workload.kind})"
        counts = " | ".join(str(outcome.counts[workload.name]) for outcome in assessment.outcomes)
        lines.append(
            f"| {workload.name}{kind} | {workload.cpu_millicores}m | {mib(workload.memory_bytes)}"
            f" MiB | {counts} |"
        )
    for pod in catalog.DOKS_SYSTEM_PODS:
        if pod.kind == "Deployment":
            counts = " | ".join(str(pod.replicas) for _ in assessment.outcomes)
        else:
            counts = " | ".join("1 per node" for _ in assessment.outcomes)
        lines.append(
            f"| {pod.name} (DOKS {pod.kind}) | {pod.cpu_millicores}m | {pod.memory_mib} MiB"
            f" | {counts} |"
        )
    lines += [
        "",
        "Placement: DOKS's DaemonSets on every node, its Deployments on the first node with"
        " room, then the app's pods first-fit decreasing by dominant resource (the largest share"
        " of a node's CPU or memory first, each on the first node with room for its CPU, memory"
        " and a pod slot). Where that can differ from the scheduler: model/capacity.py.",
        "",
        *system_pool_section(assessment),
    ]
    return "\n".join(lines)


def system_pool_section(assessment: Assessment) -> list[str]:
    """The cluster's own pool, and what a nodeSize change needs of the pools."""
    system = assessment.system
    plan = assessment.plan
    (cpu, memory), (cpu_total, memory_total) = system.requested(), system.allocatable()
    left = system.placement.unscheduled
    moved = (
        "none"
        if not left
        else ", ".join(f"{p.workload}" for p in left) + " (they run on the app's pool)"
    )
    return [
        "## The cluster's own pool",
        "",
        f"{system.nodes} {system.node_size} node(s) at its minimum (systemNodeSize, fixed when"
        " the cluster is created). DOKS's own pods run there; the app's never do. DOKS's"
        " Deployments may also land on the app's pool: the scenarios above count them there.",
        "",
        "| pool | nodes | CPU requested / allocatable | memory requested / allocatable |"
        " DOKS Deployments without room |",
        "|---|---:|---:|---:|---|",
        f"| cluster's own | {system.nodes} | {cpu}m / {cpu_total}m | {mib(memory)} /"
        f" {mib(memory_total)} MiB | {moved} |",
        "",
        "## During a nodeSize change",
        "",
        f"Both app pools exist for a while: the new one ({plan.node_size}, from"
        f" {plan.min_nodes} nodes) is created first, every Deployment rolls onto it, then the"
        " old one is deleted. The new pool must hold the app alone: that is the minimum"
        " scenario above, on the new size. Until the old pool is gone, its nodes are billed"
        " too.",
        "",
    ]
