"""Will the pods fit? The stack config's plan, the model's answer, and what to tell the user.

The plan (node pool, each workload's replicas and requests) comes from the typed sections; the
capacity model (`model/capacity.py`) places the pods in three scenarios. Config whose pods at
their minimum never fit even on maxNodes is refused (a problem naming the key to change first
and the others); config that fits only once the autoscaler adds nodes, or never at the peak, is
warned about. The render writes the figures as capacity.md (`offline/capacity_report.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from config.formats import WORKLOADS
from config.sections import SYSTEM_POOL_MIN_NODES, AppSettings, ClusterSettings
from model import capacity, catalog
from model.capacity import (
    MAX_SURGE_PERCENT,
    Assessment,
    Outcome,
    Plan,
    SystemPoolOutcome,
    Workload,
    mib,
)

# The keys the plan reads: a check is not run while one of them has a problem.
KEYS = (
    "nodeSize",
    "systemNodeSize",
    "minNodes",
    "maxNodes",
    "apiMinReplicas",
    "apiMaxReplicas",
    "nginxReplicas",
    "workerReplicas",
    "frontendReplicas",
    *(f"{workload}Resources" for workload in (*WORKLOADS, "migrate")),
)
# The key that sets each Deployment's replicas at its minimum.
REPLICAS_KEYS = {
    "api": "apiMinReplicas",
    "nginx": "nginxReplicas",
    "worker": "workerReplicas",
    "frontend": "frontendReplicas",
}


@dataclass(frozen=True)
class Verdict:
    assessment: Assessment
    problems: tuple[str, ...]  # config that can never fit: the program refuses it
    warnings: tuple[str, ...]  # fits only once the autoscaler adds nodes, or never at the peak


def plan(cluster: ClusterSettings, app: AppSettings) -> Plan:
    """The node pool and the app's workloads, in this order: the Deployments, then the
    scheduler's CronJob and the release's migration Job, one pod each."""
    replicas = {
        "api": (app.api_min_replicas, app.api_max_replicas),
        "nginx": (app.nginx_replicas, app.nginx_replicas),
        "worker": (app.worker.replicas, app.worker.replicas),
        "frontend": (app.frontend_replicas, app.frontend_replicas),
    }
    workloads = []
    for name in (*replicas, "scheduler", "migrate"):
        requests = app.resources[name]
        cpu, memory = requests.cpu_request.millicores, requests.memory_request.bytes
        if name in replicas:
            low, high = replicas[name]
            workloads.append(Workload(name, "Deployment", cpu, memory, low, high))
        else:
            kind: Literal["Job", "CronJob"] = "Job" if name == "migrate" else "CronJob"
            workloads.append(Workload(name, kind, cpu, memory, 1, 1))
    return Plan(
        cluster.node_size,
        cluster.min_nodes,
        cluster.max_nodes,
        tuple(workloads),
        system_node_size=cluster.system_node_size,
        system_nodes=SYSTEM_POOL_MIN_NODES,
    )


def check(cluster: ClusterSettings, app: AppSettings) -> Verdict:
    the_plan = plan(cluster, app)
    assessment = capacity.assess(the_plan)
    minimum, api_maximum, release = assessment.outcomes
    size = catalog.NODE_SIZES[the_plan.node_size]
    low, high = the_plan.min_nodes, the_plan.max_nodes
    node_size = the_plan.node_size
    warnings: list[str] = []

    def more_nodes(needed: int, than: int, at: str) -> str:
        return f"+${size.monthly_usd * (needed - than):.2f}/month at the {at}"

    system = assessment.system
    if not system.holds_daemonsets:
        return Verdict(assessment, (_system_refusal(system),), ())
    if not system.fits:
        warnings.append(
            f"systemNodeSize: DOKS's own Deployments do not all fit on the cluster's own pool"
            f" ({system.nodes} {system.node_size} node(s)): {_system_left(system)} run on the"
            " app's pool instead, where the scenarios count them already; a larger"
            " systemNodeSize keeps them apart (only for a new cluster)."
        )

    if minimum.nodes_needed is None or minimum.nodes_needed > high:
        at_max = capacity.assess_scenario(the_plan, "minimum", high)
        return Verdict(assessment, (_refusal(the_plan, at_max),), ())

    if not minimum.fits:
        needed = minimum.nodes_needed
        warnings.append(
            f"minNodes: the pods at their minimum do not fit on minNodes = {low}"
            f" {node_size} node(s): with DOKS's own they request {numbers(minimum)},"
            f" and {left_sentence(minimum)} would stay Pending until the cluster autoscaler"
            f" adds a node (minutes). They need {needed} nodes, so the cluster will not shrink"
            f" below {needed}. Set minNodes to {needed} to start with them"
            f" ({more_nodes(needed, low, 'minimum')}), or lower"
            f" {_or(_keys_to_lower(the_plan, minimum))}."
        )
    elif not release.fits and release.nodes_needed is not None:
        needed = release.nodes_needed
        if needed <= high:  # above it: the maxNodes warning below
            warnings.append(
                f"minNodes: a release's extra pods do not fit on minNodes = {low}"
                f" {node_size} node(s): every Deployment adds {MAX_SURGE_PERCENT}% more"
                f" pods while it rolls, and with DOKS's own they request {numbers(release)};"
                f" {left_sentence(release)} would stay Pending until the cluster autoscaler"
                f" adds a node, so every release waits minutes for one. They need {needed}"
                f" nodes: minNodes {needed} avoids the wait"
                f" ({more_nodes(needed, low, 'minimum')})."
            )

    if release.nodes_needed is None or release.nodes_needed > high:
        at_max = capacity.assess_scenario(the_plan, "release", high)
        warnings.append(
            f"maxNodes: a release's extra pods do not fit even on maxNodes = {high}"
            f" {node_size} nodes: every Deployment adds {MAX_SURGE_PERCENT}% more pods"
            " while it rolls and removes an old one only when a new one is ready, and"
            f" {left_sentence(at_max)} would stay Pending, so the rollout cannot finish and"
            f" `pulumi up` fails when its wait times out."
            f" {_nodes_advice(the_plan, at_max, more_nodes)}."
        )

    if not api_maximum.fits:
        api = the_plan.workload("api")
        most = capacity.most_api_replicas(the_plan, "api maximum", high)
        lower_text = f" or lower apiMaxReplicas to {most}" if most >= api.replicas else ""
        advice = _nodes_advice(the_plan, api_maximum, more_nodes)
        warnings.append(
            f"apiMaxReplicas: at the HPA's maximum of {api.max_replicas} api pods the pods do"
            f" not fit on maxNodes = {high} {node_size} nodes: with DOKS's own"
            f" they request {numbers(api_maximum)}, and {left_sentence(api_maximum)} would"
            f" stay Pending. {advice}{lower_text}."
        )
    return Verdict(assessment, (), tuple(warnings))


def _system_refusal(system: SystemPoolOutcome) -> str:
    allocatable = capacity.node_allocatable(system.node_size)
    daemons = capacity.daemonset_pods()
    return (
        f"systemNodeSize: a {system.node_size} node offers {allocatable.cpu_millicores}m CPU and"
        f" {mib(allocatable.memory_bytes)} MiB, less than DOKS's own DaemonSets request on every"
        f" node ({sum(p.cpu_millicores for p in daemons)}m and"
        f" {mib(sum(p.memory_bytes for p in daemons))} MiB); choose a larger size"
    )


def _system_left(system: SystemPoolOutcome) -> str:
    left = Counter(p.workload for p in system.placement.unscheduled)
    return ", ".join(f"{name} {count}" for name, count in left.items())


def numbers(outcome: Outcome) -> str:
    """`2202m CPU of 1900m and 2907 MiB of 2560 MiB allocatable`: requested of allocatable."""
    (cpu, memory), (cpu_total, memory_total) = outcome.requested(), outcome.allocatable()
    return (
        f"{cpu}m CPU of {cpu_total}m and {mib(memory)} MiB of {mib(memory_total)} MiB allocatable"
    )


def left_sentence(outcome: Outcome) -> str:
    """`5 pods (worker 2, nginx 2, frontend 1, placed largest first)`."""
    left = outcome.unscheduled_counts
    listed = ", ".join(f"{name} {count}" for name, count in left.items())
    total = sum(left.values())
    return f"{total} pod{'s' if total != 1 else ''} ({listed}, placed largest first)"


def _nodes_advice(plan: Plan, outcome: Outcome, more_nodes: Callable[[int, int, str], str]) -> str:
    if outcome.nodes_needed is None:
        return f"No number of {plan.node_size} nodes fits them: choose a larger nodeSize"
    return (
        f"They need {outcome.nodes_needed} nodes: raise maxNodes to {outcome.nodes_needed}"
        f" ({more_nodes(outcome.nodes_needed, plan.max_nodes, 'maximum')})"
    )


def _refusal(plan: Plan, at_max: Outcome) -> str:
    """The one problem line of a config whose pods at their minimum never fit: it starts with
    the first key to change and names the others."""
    size = catalog.NODE_SIZES[plan.node_size]
    changes: list[str] = []
    if at_max.nodes_needed is not None:
        extra = size.monthly_usd * (at_max.nodes_needed - plan.max_nodes)
        changes.append(f"maxNodes ({at_max.nodes_needed} fit, +${extra:.2f}/month at the maximum)")
    bigger = capacity.smallest_size_that_fits(plan)
    changes.append(f"nodeSize ({bigger} fits on {plan.max_nodes})" if bigger else "nodeSize")
    most = capacity.most_api_replicas(plan, "minimum", plan.max_nodes)
    lowered = _keys_to_lower(plan, at_max)
    if 1 <= most < plan.workload("api").replicas and "apiMinReplicas" in lowered:
        lowered[lowered.index("apiMinReplicas")] = f"apiMinReplicas (at most {most} fit)"
    changes += lowered
    never = (
        ""
        if at_max.nodes_needed is not None
        else f" No number of {plan.node_size} nodes fits them."
    )
    first_key = changes[0].split(" ", 1)[0]
    return (
        f"{first_key}: the pods at their minimum do not fit even on maxNodes ="
        f" {plan.max_nodes} {plan.node_size} node(s), the most the autoscaler may add: with"
        f" DOKS's own they request {numbers(at_max)}, and no node has room for"
        f" {left_sentence(at_max)}.{never} Change {_or(changes)}."
    )


def _or(items: list[str]) -> str:
    """`a, b or c`."""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _keys_to_lower(plan: Plan, outcome: Outcome) -> list[str]:
    """The replica and request keys of the workloads that ask for most."""
    keys: list[str] = []
    for workload in capacity.heaviest(plan, outcome):
        if workload.name in REPLICAS_KEYS:
            keys.append(REPLICAS_KEYS[workload.name])
        keys.append(f"{workload.name}Resources")
    return keys
