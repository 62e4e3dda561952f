"""Will the pods fit? Every pod of a stack against its nodes, node by node, before anything exists.

Computed from the stack config alone (the program checks it before registering any resource,
`components/config_checks.check_capacity`; the render writes it as `build/<stack>/capacity.md`):
the node size's allocatable CPU and memory and DOKS's own pods (`model/catalog.py`), each
workload's replicas and requests. Requests only: they are what kube-scheduler counts.

Scenarios:
- minimum: at minNodes, every workload at its minimum (the api at apiMinReplicas) while a release
  migrates: the migrate Job's pod and one scheduler run besides;
- api maximum: at maxNodes, the same with the api at apiMaxReplicas;
- release: at minNodes, every workload at its minimum while a release rolls. After the migration
  Pulumi updates every Deployment at once, and each first adds maxSurge (25%, rounded up) new pods
  and removes an old one only when a new one is ready (maxUnavailable 0). The migration's pod
  has finished by then (a finished pod requests nothing).

Placement, as kube-scheduler's filters see it (CPU, memory and a pod slot on one node; pods are
not divisible across nodes):
1. DOKS's DaemonSets take their requests on every node;
2. DOKS's Deployments (coredns...) come next, each pod on the first node with room: where a cluster
   that started with one node has them;
3. the app's pods, first-fit decreasing by dominant resource: the pod that asks for the largest
   share of a node's allocatable (CPU or memory, whichever share is larger) first, each on the
   first node with room.
A scenario fits when every pod is placed; "nodes needed" is the fewest nodes on which it fits.

Where this can be wrong about the real scheduler:
- optimistic: kube-scheduler takes pods in the order they are created, spreads them (least
  allocated node, topology spread) and never moves one once placed. When small pods come first
  they can leave every node a little room and none enough for a large pod, although a packing
  exists. So each scenario also says whether it fits *whatever the order*, a sound check: for each
  pod shape, could the other pods, placed anywhere, leave every node short of CPU, memory or a
  pod slot for it (`fits_whatever_the_order`)? "Yes" there is a guarantee (kube-scheduler places
  a pod on any node that has room); "no" means the order may decide (the check is a bound, so
  it can say "no" where no order actually fails).
- pessimistic: first-fit decreasing is not an optimal packing; in rare two-resource cases another
  placement fits where it does not (7 of 600 random three-shape plans in tests/test_capacity.py;
  in 23 of them an unlucky order failed where largest first fitted).
- not modelled: DOKS's Deployments spread over nodes created together (they are modelled on the
  first node); priority and preemption (DOKS's pods are system-critical and there first anyway);
  pods of the previous release still terminating; a second scheduler run (concurrencyPolicy
  Forbid allows one at a time).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Literal

from model import catalog

MAX_SURGE_PERCENT = 25  # every Deployment's rollingUpdate.maxSurge (components/workloads/base.py)
DOKS_MAX_NODES_PER_POOL = 100
APP_DEPLOYMENTS = ("api", "nginx", "worker", "frontend")

_CPU = re.compile(r"^(?:([0-9]+)m|([0-9]+)(?:\.([0-9]{1,3}))?)$")
_MEMORY = re.compile(r"^([0-9]+)(Ki|Mi|Gi)$")
_KIB_PER_UNIT = {"Ki": 1, "Mi": 1024, "Gi": 1024 * 1024}


def cpu_millicores(text: str) -> int | None:
    """`250m` -> 250, `0.5` -> 500, `2` -> 2000; None if not a CPU quantity of that form."""
    match = _CPU.match(text.strip())
    if match is None:
        return None
    milli, whole, fraction = match.groups()
    if milli is not None:
        return int(milli)
    return int(whole) * 1000 + int((fraction or "").ljust(3, "0"))


def memory_kib(text: str) -> int | None:
    """`256Mi` -> 262144; None if not a memory quantity in Ki, Mi or Gi."""
    match = _MEMORY.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)) * _KIB_PER_UNIT[match.group(2)]


# -- what is placed -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One of the app's workloads as the scheduler sees it: identical pods, some replicas."""

    name: str  # api, nginx, worker, frontend, scheduler, migrate
    kind: Literal["Deployment", "Job", "CronJob"]
    cpu_millicores: int  # per pod
    memory_kib: int  # per pod
    replicas: int  # at its minimum (the api: apiMinReplicas)
    max_replicas: int  # the api: apiMaxReplicas; the others: replicas
    replicas_key: str | None  # the config key of `replicas` (None: one pod, not configurable)
    resources_key: str

    @property
    def surge(self) -> int:
        """New pods a rolling update adds before removing an old one (maxSurge rounds up)."""
        if self.kind != "Deployment":
            return 0
        return math.ceil(self.replicas * MAX_SURGE_PERCENT / 100)


@dataclass(frozen=True)
class Plan:
    """What the capacity check reads from a stack's config."""

    node_size: str
    min_nodes: int
    max_nodes: int
    workloads: tuple[Workload, ...]

    def workload(self, name: str) -> Workload:
        return next(w for w in self.workloads if w.name == name)


def plan_from_config(get: Callable[[str], Any]) -> Plan | None:
    """The plan from checked config values; None when a key it reads is bad (reported by the
    other checks with that key's own message)."""
    size = get("nodeSize")
    low, high = get("minNodes"), get("maxNodes")
    if size not in catalog.NODE_SIZES or not 1 <= low <= high <= DOKS_MAX_NODES_PER_POOL:
        return None
    replicas = {
        "api": ("apiMinReplicas", get("apiMinReplicas"), get("apiMaxReplicas")),
        "nginx": ("nginxReplicas", get("nginxReplicas"), get("nginxReplicas")),
        "worker": ("workerReplicas", get("workerReplicas"), get("workerReplicas")),
        "frontend": ("frontendReplicas", get("frontendReplicas"), get("frontendReplicas")),
    }
    workloads: list[Workload] = []
    for name in (*APP_DEPLOYMENTS, "scheduler", "migrate"):
        resources_key = f"{name}Resources"
        parts = str(get(resources_key)).split("/")
        if len(parts) != 3:
            return None
        cpu, memory = cpu_millicores(parts[0]), memory_kib(parts[1])
        if cpu is None or memory is None:
            return None
        if name in replicas:
            key, minimum, maximum = replicas[name]
            if not 1 <= minimum <= maximum:
                return None
            workloads.append(
                Workload(name, "Deployment", cpu, memory, minimum, maximum, key, resources_key)
            )
        else:
            kind: Literal["Job", "CronJob"] = "Job" if name == "migrate" else "CronJob"
            workloads.append(Workload(name, kind, cpu, memory, 1, 1, None, resources_key))
    return Plan(size, low, high, tuple(workloads))


@dataclass(frozen=True)
class Pod:
    workload: str  # the app's workload, or the DOKS workload's name
    cpu_millicores: int
    memory_kib: int
    system: bool  # one of DOKS's own


@dataclass(frozen=True)
class Room:
    """What one node offers, or has left: CPU, memory, pod slots."""

    cpu_millicores: int
    memory_kib: int
    pods: int

    def holds(self, pod: Pod) -> bool:
        return (
            pod.cpu_millicores <= self.cpu_millicores
            and pod.memory_kib <= self.memory_kib
            and self.pods >= 1
        )

    def minus(self, pod: Pod) -> Room:
        return Room(
            self.cpu_millicores - pod.cpu_millicores,
            self.memory_kib - pod.memory_kib,
            self.pods - 1,
        )


def node_allocatable(node_size: str) -> Room:
    allocatable = catalog.NODE_ALLOCATABLE[node_size]
    return Room(
        allocatable.cpu_millicores, allocatable.memory_mib * 1024, catalog.MAX_PODS_PER_NODE
    )


def daemonset_pods() -> list[Pod]:
    """DOKS's DaemonSets: one of each on every node."""
    return [
        Pod(p.name, p.cpu_millicores, p.memory_mib * 1024, system=True)
        for p in catalog.DOKS_SYSTEM_PODS
        if p.kind == "DaemonSet"
    ]


def node_room(node_size: str) -> Room:
    """What one node of the size has left for other pods once DOKS's DaemonSets run on it."""
    room = node_allocatable(node_size)
    for pod in daemonset_pods():
        room = room.minus(pod)
    return room


def system_deployment_pods() -> list[Pod]:
    """DOKS's Deployments' pods, once per cluster, in catalog order."""
    return [
        Pod(p.name, p.cpu_millicores, p.memory_mib * 1024, system=True)
        for p in catalog.DOKS_SYSTEM_PODS
        if p.kind == "Deployment"
        for _ in range(p.replicas)
    ]


def placement_order(pods: Sequence[Pod], node_size: str) -> list[Pod]:
    """Largest dominant share of a node's allocatable first (then CPU, memory, name): the order
    first-fit decreasing places the app's pods in. Pods of one workload stay together."""
    allocatable = node_allocatable(node_size)

    def key(pod: Pod) -> tuple[Fraction, int, int, str]:
        share = max(
            Fraction(pod.cpu_millicores, allocatable.cpu_millicores),
            Fraction(pod.memory_kib, allocatable.memory_kib),
        )
        return (-share, -pod.cpu_millicores, -pod.memory_kib, pod.workload)

    return sorted(pods, key=key)


# -- scenarios ------------------------------------------------------------------------------------

ScenarioName = Literal["minimum", "api maximum", "release"]
SCENARIOS: tuple[ScenarioName, ...] = ("minimum", "api maximum", "release")
SCENARIO_TEXT: dict[ScenarioName, str] = {
    "minimum": "at minNodes, every workload at its minimum, with a release's migration and a"
    " scheduler run",
    "api maximum": "at maxNodes, the api at apiMaxReplicas, the rest as in minimum",
    "release": "at minNodes, every workload at its minimum and every Deployment's surge"
    f" ({MAX_SURGE_PERCENT}% more pods, rounded up) at once, and a scheduler run; the migration"
    " has finished",
}


def app_pod_counts(plan: Plan, scenario: ScenarioName) -> dict[str, int]:
    """How many pods of each of the app's workloads the scenario runs."""
    counts: dict[str, int] = {}
    for workload in plan.workloads:
        if workload.kind == "Deployment":
            count = workload.max_replicas if scenario == "api maximum" else workload.replicas
            if scenario == "release":
                count += workload.surge
        elif workload.kind == "Job":
            count = 0 if scenario == "release" else 1
        else:
            count = 1
        counts[workload.name] = count
    return counts


def scenario_nodes(plan: Plan, scenario: ScenarioName) -> int:
    return plan.max_nodes if scenario == "api maximum" else plan.min_nodes


def app_pods(plan: Plan, counts: dict[str, int]) -> list[Pod]:
    return [
        Pod(w.name, w.cpu_millicores, w.memory_kib, system=False)
        for w in plan.workloads
        for _ in range(counts[w.name])
    ]


@dataclass(frozen=True)
class Placement:
    nodes: tuple[tuple[Pod, ...], ...]  # the pods on each node besides the DaemonSets
    unscheduled: tuple[Pod, ...]  # in the order they were met


def place(node_size: str, nodes: int, pods: Sequence[Pod]) -> Placement:
    """DOKS's Deployments first-fit, then `pods` first-fit decreasing, on `nodes` nodes."""
    rooms = [node_room(node_size)] * nodes
    placed: list[list[Pod]] = [[] for _ in range(nodes)]
    unscheduled: list[Pod] = []
    for pod in [*system_deployment_pods(), *placement_order(pods, node_size)]:
        for index, room in enumerate(rooms):
            if room.holds(pod):
                rooms[index] = room.minus(pod)
                placed[index].append(pod)
                break
        else:
            unscheduled.append(pod)
    return Placement(tuple(tuple(p) for p in placed), tuple(unscheduled))


def fits_whatever_the_order(node_size: str, nodes: int, pods: Sequence[Pod]) -> bool:
    """Whether every pod (and DOKS's Deployments) is placed whatever the order they arrive in
    and whichever node with room each is put on. A sufficient condition, so `True` is a
    guarantee.

    kube-scheduler leaves a pod Pending only when no node has room for it: every node is short of
    CPU, memory or a pod slot, taken by the other pods. For each pod shape this looks for a split
    of the nodes, a short of CPU, b short of memory, the rest short of slots, that the other pods
    could make. Nodes short of CPU hold more than `room - request` of CPU each, and pods with
    that much CPU carry at least so much memory (taking the least memory per millicore first, a
    fractional bound), which the nodes short of memory cannot use; the same the other way round.
    Pod slots are counted loosely (110 a node is far from the limit here). No such split: the
    pod always finds a node.
    """
    everything = [*system_deployment_pods(), *pods]
    room = node_room(node_size)
    for pod in set(everything):
        if not room.holds(pod):
            return False
        others = list(everything)
        others.remove(pod)
        if _others_can_fill_every_node(others, pod, room, nodes):
            return False
    return True


def _others_can_fill_every_node(others: list[Pod], pod: Pod, room: Room, nodes: int) -> bool:
    """Whether `others` might leave each of `nodes` nodes without room for `pod` (see above)."""
    cpu_need = room.cpu_millicores - pod.cpu_millicores + 1  # CPU that leaves a node too little
    memory_need = room.memory_kib - pod.memory_kib + 1
    total_cpu = sum(p.cpu_millicores for p in others)
    total_memory = sum(p.memory_kib for p in others)
    short_of_slots = len(others) // room.pods
    most_short_of_cpu = total_cpu // cpu_need if pod.cpu_millicores > 0 else 0
    most_short_of_memory = total_memory // memory_need if pod.memory_kib > 0 else 0
    memory_with_cpu = _least_carried(others, _cpu, _memory)
    cpu_with_memory = _least_carried(others, _memory, _cpu)
    for short_of_cpu in range(min(most_short_of_cpu, nodes) + 1):
        for short_of_memory in range(min(most_short_of_memory, nodes - short_of_cpu) + 1):
            if short_of_cpu + short_of_memory + short_of_slots < nodes:
                continue
            cpu_taken, memory_taken = short_of_cpu * cpu_need, short_of_memory * memory_need
            if memory_with_cpu(cpu_taken) + memory_taken > total_memory:
                continue
            if cpu_with_memory(memory_taken) + cpu_taken > total_cpu:
                continue
            return True
    return False


def _cpu(pod: Pod) -> int:
    return pod.cpu_millicores


def _memory(pod: Pod) -> int:
    return pod.memory_kib


def _least_carried(
    pods: list[Pod], have: Callable[[Pod], int], carried: Callable[[Pod], int]
) -> Callable[[int], Fraction]:
    """need -> the least `carried` that pods with at least `need` of `have` together hold,
    taking pods (or fractions of them) with the least `carried` per unit of `have` first."""
    ordered = sorted((p for p in pods if have(p) > 0), key=lambda p: Fraction(carried(p), have(p)))
    have_before, carried_before = [0], [0]
    for p in ordered:
        have_before.append(have_before[-1] + have(p))
        carried_before.append(carried_before[-1] + carried(p))

    def least(need: int) -> Fraction:
        if need <= 0:
            return Fraction(0)
        index = bisect.bisect_left(have_before, need)  # have_before[index - 1] < need
        if index == len(have_before):
            return Fraction(carried_before[-1] + 1)  # more than they all hold: impossible
        partial = ordered[index - 1]
        rest = need - have_before[index - 1]
        return carried_before[index - 1] + Fraction(carried(partial) * rest, have(partial))

    return least


def nodes_needed(node_size: str, pods: Sequence[Pod]) -> int | None:
    """The fewest nodes on which first-fit decreasing places every pod; None above DOKS's 100.

    A binary search: one node more never places fewer pods (first-fit puts every pod where it
    went before, or on the new node if it found no room before)."""
    if place(node_size, DOKS_MAX_NODES_PER_POOL, pods).unscheduled:
        return None
    low, high = 1, DOKS_MAX_NODES_PER_POOL  # high fits
    while low < high:
        middle = (low + high) // 2
        if place(node_size, middle, pods).unscheduled:
            low = middle + 1
        else:
            high = middle
    return high


@dataclass(frozen=True)
class Outcome:
    """One scenario on one node count."""

    scenario: ScenarioName
    node_size: str
    nodes: int
    counts: dict[str, int]  # the app's pods of each workload
    placement: Placement
    whatever_the_order: bool
    nodes_needed: int | None

    @property
    def fits(self) -> bool:
        return not self.placement.unscheduled

    @property
    def verdict(self) -> str:
        if not self.fits:
            return "no"
        return "yes" if self.whatever_the_order else "only largest first"

    @property
    def unscheduled_counts(self) -> dict[str, int]:
        """Workload -> pods left unscheduled, in the order they were met."""
        return dict(Counter(p.workload for p in self.placement.unscheduled))

    def requested(self) -> tuple[int, int]:
        """(CPU millicores, memory KiB) requested by every pod: DaemonSets on each node, DOKS's
        Deployments and the app's pods, placed or not."""
        everything = [
            *(daemonset_pods() * self.nodes),
            *system_deployment_pods(),
            *(p for node in self.placement.nodes for p in node if not p.system),
            *(p for p in self.placement.unscheduled if not p.system),
        ]
        return (
            sum(p.cpu_millicores for p in everything),
            sum(p.memory_kib for p in everything),
        )

    def allocatable(self) -> tuple[int, int]:
        one = node_allocatable(self.node_size)
        return one.cpu_millicores * self.nodes, one.memory_kib * self.nodes

    def headroom_percent(self) -> tuple[float, float]:
        (cpu, memory), (cpu_total, memory_total) = self.requested(), self.allocatable()
        return (
            100 * (cpu_total - cpu) / cpu_total,
            100 * (memory_total - memory) / memory_total,
        )

    def numbers(self) -> str:
        """`2202m CPU of 1900m and 2907 MiB of 2560 MiB`: requested of allocatable."""
        (cpu, memory), (cpu_total, memory_total) = self.requested(), self.allocatable()
        return (
            f"{cpu}m CPU of {cpu_total}m and {mib(memory)} MiB of {mib(memory_total)} MiB"
            " allocatable"
        )

    def left_text(self) -> str:
        """`5 (worker 2, nginx 2, frontend 1)`: the pods left unscheduled, or `none`."""
        left = self.unscheduled_counts
        if not left:
            return "none"
        listed = ", ".join(f"{name} {count}" for name, count in left.items())
        return f"{sum(left.values())} ({listed})"

    def left_sentence(self) -> str:
        """`5 pods (worker 2, nginx 2, frontend 1, placed largest first)`."""
        left = self.unscheduled_counts
        listed = ", ".join(f"{name} {count}" for name, count in left.items())
        total = sum(left.values())
        return f"{total} pod{'s' if total != 1 else ''} ({listed}, placed largest first)"


def assess_scenario(plan: Plan, scenario: ScenarioName, nodes: int | None = None) -> Outcome:
    """A scenario of the plan on its own node count (or on `nodes` nodes)."""
    size = plan.node_size
    count = nodes if nodes is not None else scenario_nodes(plan, scenario)
    counts = app_pod_counts(plan, scenario)
    pods = app_pods(plan, counts)
    return Outcome(
        scenario=scenario,
        node_size=size,
        nodes=count,
        counts=counts,
        placement=place(size, count, pods),
        whatever_the_order=fits_whatever_the_order(size, count, pods),
        nodes_needed=nodes_needed(size, pods),
    )


def mib(kib: int) -> str:
    return f"{kib // 1024}" if kib % 1024 == 0 else f"{kib / 1024:.1f}"


# -- the verdict: refused, warned, or fine ---------------------------------------------------------


@dataclass(frozen=True)
class Report:
    plan: Plan
    outcomes: tuple[Outcome, ...]  # one per scenario, in SCENARIOS order
    problems: tuple[str, ...]  # config that can never fit: the program refuses it
    warnings: tuple[str, ...]  # fits only once the autoscaler adds nodes, or never at the peak

    def outcome(self, scenario: ScenarioName) -> Outcome:
        return next(o for o in self.outcomes if o.scenario == scenario)

    def markdown(self, stack: str) -> str:
        return _markdown(stack, self)


def assess(plan: Plan) -> Report:
    outcomes = tuple(assess_scenario(plan, scenario) for scenario in SCENARIOS)
    minimum, api_maximum, release = outcomes
    problems: list[str] = []
    warnings: list[str] = []
    size = catalog.NODE_SIZES[plan.node_size]

    def more_nodes(needed: int, than: int, at: str) -> str:
        return f"+${size.monthly_usd * (needed - than):.2f}/month at the {at}"

    if minimum.nodes_needed is None or minimum.nodes_needed > plan.max_nodes:
        problems.append(_refusal(plan, assess_scenario(plan, "minimum", plan.max_nodes)))
        return Report(plan, outcomes, tuple(problems), ())

    if not minimum.fits:
        needed = minimum.nodes_needed
        warnings.append(
            f"minNodes: the pods at their minimum do not fit on minNodes = {plan.min_nodes}"
            f" {plan.node_size} node(s): with DOKS's own they request {minimum.numbers()},"
            f" and {minimum.left_sentence()} would stay Pending until the cluster autoscaler"
            f" adds a node (minutes). They need {needed} nodes, so the cluster will not shrink"
            f" below {needed}. Set minNodes to {needed} to start with them"
            f" ({more_nodes(needed, plan.min_nodes, 'minimum')}), or lower"
            f" {_or(_keys_to_lower(plan, minimum))}."
        )
    elif not release.fits and release.nodes_needed is not None:
        needed = release.nodes_needed
        if needed <= plan.max_nodes:  # above it: the maxNodes warning below
            warnings.append(
                f"minNodes: a release's extra pods do not fit on minNodes = {plan.min_nodes}"
                f" {plan.node_size} node(s): every Deployment adds {MAX_SURGE_PERCENT}% more"
                f" pods while it rolls, and with DOKS's own they request {release.numbers()};"
                f" {release.left_sentence()} would stay Pending until the cluster autoscaler"
                f" adds a node, so every release waits minutes for one. They need {needed}"
                f" nodes: minNodes {needed} avoids the wait"
                f" ({more_nodes(needed, plan.min_nodes, 'minimum')})."
            )

    if release.nodes_needed is None or release.nodes_needed > plan.max_nodes:
        at_max = assess_scenario(plan, "release", plan.max_nodes)
        warnings.append(
            f"maxNodes: a release's extra pods do not fit even on maxNodes = {plan.max_nodes}"
            f" {plan.node_size} nodes: every Deployment adds {MAX_SURGE_PERCENT}% more pods"
            " while it rolls and removes an old one only when a new one is ready, and"
            f" {at_max.left_sentence()} would stay Pending, so the rollout cannot finish and"
            f" `pulumi up` fails when its wait times out."
            f" {_nodes_advice(plan, at_max, more_nodes)}."
        )

    if not api_maximum.fits:
        api = plan.workload("api")
        lower = _most_api_replicas(plan, "api maximum", plan.max_nodes)
        lower_text = f" or lower apiMaxReplicas to {lower}" if lower >= api.replicas else ""
        warnings.append(
            f"apiMaxReplicas: at the HPA's maximum of {api.max_replicas} api pods the pods do"
            f" not fit on maxNodes = {plan.max_nodes} {plan.node_size} nodes: with DOKS's own"
            f" they request {api_maximum.numbers()}, and {api_maximum.left_sentence()} would"
            f" stay Pending. {_nodes_advice(plan, api_maximum, more_nodes)}{lower_text}."
        )
    return Report(plan, outcomes, tuple(problems), tuple(warnings))


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
    bigger = _smallest_size_that_fits(plan)
    changes.append(f"nodeSize ({bigger} fits on {plan.max_nodes})" if bigger else "nodeSize")
    most = _most_api_replicas(plan, "minimum", plan.max_nodes)
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
        f" DOKS's own they request {at_max.numbers()}, and no node has room for"
        f" {at_max.left_sentence()}.{never} Change {_or(changes)}."
    )


def _or(items: list[str]) -> str:
    """`a, b or c`."""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _keys_to_lower(plan: Plan, outcome: Outcome) -> list[str]:
    """The replica and request keys of the workloads that ask for most (half of the app's share
    of a node, at least one workload)."""
    allocatable = node_allocatable(plan.node_size)

    def share(workload: Workload) -> Fraction:
        pod = max(
            Fraction(workload.cpu_millicores, allocatable.cpu_millicores),
            Fraction(workload.memory_kib, allocatable.memory_kib),
        )
        return pod * outcome.counts[workload.name]

    ranked = sorted(plan.workloads, key=lambda w: (-share(w), w.name))
    total = sum((share(w) for w in ranked), Fraction(0))
    keys: list[str] = []
    covered = Fraction(0)
    for workload in ranked:
        if workload.replicas_key is not None:
            keys.append(workload.replicas_key)
        keys.append(workload.resources_key)
        covered += share(workload)
        if covered * 2 >= total:
            break
    return keys


def _most_api_replicas(plan: Plan, scenario: ScenarioName, nodes: int) -> int:
    """The most api pods with which the scenario fits on `nodes` nodes (0 if not even one)."""
    api = plan.workload("api")
    start = api.max_replicas if scenario == "api maximum" else api.replicas
    for count in range(start, 0, -1):
        if scenario == "api maximum":
            changed = replace(api, max_replicas=count, replicas=min(count, api.replicas))
        else:
            changed = replace(api, replicas=count)
        trial = replace(
            plan, workloads=tuple(changed if w.name == "api" else w for w in plan.workloads)
        )
        counts = app_pod_counts(trial, scenario)
        if not place(plan.node_size, nodes, app_pods(trial, counts)).unscheduled:
            return count
    return 0


def _smallest_size_that_fits(plan: Plan) -> str | None:
    """The cheapest node size on which the pods at their minimum fit on maxNodes nodes."""
    counts = app_pod_counts(plan, "minimum")
    pods = app_pods(plan, counts)
    for size in sorted(catalog.NODE_SIZES.values(), key=lambda s: (s.monthly_usd, s.slug)):
        if size.slug == plan.node_size:
            continue
        if not place(size.slug, plan.max_nodes, pods).unscheduled:
            return size.slug
    return None


# -- capacity.md ----------------------------------------------------------------------------------

TABLE_HEADER = (
    "| scenario | nodes | CPU requested / allocatable | CPU headroom | memory requested /"
    " allocatable | memory headroom | fits | pods left unscheduled | nodes needed |"
)


def _catalog_dates() -> str:
    if catalog.ALLOCATABLE_DATE == catalog.SYSTEM_PODS_DATE:
        return catalog.ALLOCATABLE_DATE
    return f"allocatable {catalog.ALLOCATABLE_DATE}, DOKS's pods {catalog.SYSTEM_PODS_DATE}"


def _markdown(stack: str, report: Report) -> str:
    plan = report.plan
    allocatable = node_allocatable(plan.node_size)
    daemons = daemonset_pods()
    system = system_deployment_pods()
    lines = [
        f"# Will the pods fit? {stack}",
        "",
        f"Node pool: {plan.node_size}, {plan.min_nodes} to {plan.max_nodes} nodes. Each node"
        f" offers pods {allocatable.cpu_millicores}m CPU and {mib(allocatable.memory_kib)} MiB"
        f" (its allocatable); DOKS's DaemonSets take"
        f" {sum(p.cpu_millicores for p in daemons)}m and"
        f" {mib(sum(p.memory_kib for p in daemons))} MiB of it on every node, its Deployments"
        f" {sum(p.cpu_millicores for p in system)}m and"
        f" {mib(sum(p.memory_kib for p in system))} MiB once (components/catalog.py, read"
        f" {_catalog_dates()}). Requests only: they are what the scheduler counts.",
        "",
        TABLE_HEADER,
        "|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for outcome in report.outcomes:
        (cpu, memory), (cpu_total, memory_total) = outcome.requested(), outcome.allocatable()
        cpu_headroom, memory_headroom = outcome.headroom_percent()
        which = "maxNodes" if outcome.scenario == "api maximum" else "minNodes"
        needed = outcome.nodes_needed if outcome.nodes_needed is not None else "over 100"
        lines.append(
            f"| {outcome.scenario} | {outcome.nodes} ({which}) | {cpu}m / {cpu_total}m"
            f" | {cpu_headroom:.1f}% | {mib(memory)} / {mib(memory_total)} MiB"
            f" | {memory_headroom:.1f}% | {outcome.verdict} | {outcome.left_text()}"
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
        counts = " | ".join(str(outcome.counts[workload.name]) for outcome in report.outcomes)
        lines.append(
            f"| {workload.name}{kind} | {workload.cpu_millicores}m | {mib(workload.memory_kib)}"
            f" MiB | {counts} |"
        )
    for pod in catalog.DOKS_SYSTEM_PODS:
        if pod.kind == "Deployment":
            counts = " | ".join(str(pod.replicas) for _ in report.outcomes)
        else:
            counts = " | ".join("1 per node" for _ in report.outcomes)
        lines.append(
            f"| {pod.name} (DOKS {pod.kind}) | {pod.cpu_millicores}m | {pod.memory_mib} MiB"
            f" | {counts} |"
        )
    lines += [
        "",
        "Placement: DOKS's DaemonSets on every node, its Deployments on the first node with"
        " room, then the app's pods first-fit decreasing by dominant resource (the largest share"
        " of a node's CPU or memory first, each on the first node with room for its CPU, memory"
        " and a pod slot). Where that can differ from the scheduler: components/capacity.py.",
        "",
    ]
    return "\n".join(lines)
