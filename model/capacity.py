"""Will the pods fit? Every pod of a stack against its nodes, node by node, before anything exists.

A plan (the app's node pool and each workload's replicas and requests, from the stack config:
`config/capacity.py` builds it and words the refusal and the warnings; the render writes the
figures as `build/<stack>/capacity.md`, `offline/capacity_report.py`) against the node size's
allocatable CPU and memory and DOKS's own pods (`model/catalog.py`). Requests only: they are
what kube-scheduler counts. CPU in millicores, memory in bytes.

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

The app's pods run only on the app's pool (a node selector); DOKS's own pods can run on the
cluster's own pool too, but the scenarios count its Deployments on the app's pool, where the
scheduler may well put them. The cluster's own pool is assessed apart: DOKS's DaemonSets and
Deployments at its minimum (`assess_system_pool`). During a nodeSize change both app pools exist
and the app moves onto the new one, which must then hold it alone: the minimum scenario on the
new pool.

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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from model import catalog

MAX_SURGE_PERCENT = 25  # every Deployment's rollingUpdate.maxSurge (the program's Deployments)
MIB = 1024 * 1024
# The smallest memory quantity the config accepts (1Ki): a node holding less than a pod's memory
# request lacks at least this much.
MEMORY_STEP = 1024


# -- what is placed -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One of the app's workloads as the scheduler sees it: identical pods, some replicas."""

    name: str  # api, nginx, worker, frontend, scheduler, migrate
    kind: Literal["Deployment", "Job", "CronJob"]
    cpu_millicores: int  # per pod
    memory_bytes: int  # per pod
    replicas: int  # at its minimum (the api: apiMinReplicas)
    max_replicas: int  # the api: apiMaxReplicas; the others: replicas

    @property
    def surge(self) -> int:
        """New pods a rolling update adds before removing an old one (maxSurge rounds up)."""
        if self.kind != "Deployment":
            return 0
        return math.ceil(self.replicas * MAX_SURGE_PERCENT / 100)


@dataclass(frozen=True)
class Plan:
    """The app's node pool, its workloads, and the cluster's own pool (DOKS's pods only)."""

    node_size: str
    min_nodes: int
    max_nodes: int
    workloads: tuple[Workload, ...]
    system_node_size: str = "s-1vcpu-2gb"
    system_nodes: int = 1  # the cluster's own pool at its minimum

    def workload(self, name: str) -> Workload:
        return next(w for w in self.workloads if w.name == name)


@dataclass(frozen=True)
class Pod:
    workload: str  # the app's workload, or the DOKS workload's name
    cpu_millicores: int
    memory_bytes: int
    system: bool  # one of DOKS's own


@dataclass(frozen=True)
class Room:
    """What one node offers, or has left: CPU, memory, pod slots."""

    cpu_millicores: int
    memory_bytes: int
    pods: int

    def holds(self, pod: Pod) -> bool:
        return (
            pod.cpu_millicores <= self.cpu_millicores
            and pod.memory_bytes <= self.memory_bytes
            and self.pods >= 1
        )

    def minus(self, pod: Pod) -> Room:
        return Room(
            self.cpu_millicores - pod.cpu_millicores,
            self.memory_bytes - pod.memory_bytes,
            self.pods - 1,
        )


def node_allocatable(node_size: str) -> Room:
    allocatable = catalog.NODE_ALLOCATABLE[node_size]
    return Room(allocatable.cpu_millicores, allocatable.memory_mib * MIB, catalog.MAX_PODS_PER_NODE)


def daemonset_pods() -> list[Pod]:
    """DOKS's DaemonSets: one of each on every node."""
    return [
        Pod(p.name, p.cpu_millicores, p.memory_mib * MIB, system=True)
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
        Pod(p.name, p.cpu_millicores, p.memory_mib * MIB, system=True)
        for p in catalog.DOKS_SYSTEM_PODS
        if p.kind == "Deployment"
        for _ in range(p.replicas)
    ]


def share(cpu_millicores: int, memory_bytes: int, node_size: str) -> Fraction:
    """The larger of the two shares of one node's allocatable (the dominant resource)."""
    allocatable = node_allocatable(node_size)
    return max(
        Fraction(cpu_millicores, allocatable.cpu_millicores),
        Fraction(memory_bytes, allocatable.memory_bytes),
    )


def placement_order(pods: Sequence[Pod], node_size: str) -> list[Pod]:
    """Largest dominant share of a node's allocatable first (then CPU, memory, name): the order
    first-fit decreasing places the app's pods in. Pods of one workload stay together."""

    def key(pod: Pod) -> tuple[Fraction, int, int, str]:
        dominant = share(pod.cpu_millicores, pod.memory_bytes, node_size)
        return (-dominant, -pod.cpu_millicores, -pod.memory_bytes, pod.workload)

    return sorted(pods, key=key)


# -- scenarios ------------------------------------------------------------------------------------

ScenarioName = Literal["minimum", "api maximum", "release"]
SCENARIOS: tuple[ScenarioName, ...] = ("minimum", "api maximum", "release")


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
        Pod(w.name, w.cpu_millicores, w.memory_bytes, system=False)
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
    # The least CPU (memory) that leaves a node too little: one unit more than the room's excess.
    cpu_need = room.cpu_millicores - pod.cpu_millicores + 1
    memory_need = room.memory_bytes - pod.memory_bytes + MEMORY_STEP
    total_cpu = sum(p.cpu_millicores for p in others)
    total_memory = sum(p.memory_bytes for p in others)
    short_of_slots = len(others) // room.pods
    most_short_of_cpu = total_cpu // cpu_need if pod.cpu_millicores > 0 else 0
    most_short_of_memory = total_memory // memory_need if pod.memory_bytes > 0 else 0
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
    return pod.memory_bytes


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
    """The fewest nodes on which first-fit decreasing places every pod; None above DOKS's limit
    of nodes per pool.

    A binary search: one node more never places fewer pods (first-fit puts every pod where it
    went before, or on the new node if it found no room before)."""
    most = catalog.DOKS_MAX_NODES_PER_POOL
    if place(node_size, most, pods).unscheduled:
        return None
    low, high = 1, most  # high fits
    while low < high:
        middle = (low + high) // 2
        if place(node_size, middle, pods).unscheduled:
            low = middle + 1
        else:
            high = middle
    return high


def requested_by(pods: Sequence[Pod]) -> tuple[int, int]:
    """(CPU millicores, memory bytes) the pods request together."""
    return sum(p.cpu_millicores for p in pods), sum(p.memory_bytes for p in pods)


def pool_allocatable(node_size: str, nodes: int) -> tuple[int, int]:
    """(CPU millicores, memory bytes) a pool of `nodes` nodes of the size offers pods."""
    one = node_allocatable(node_size)
    return one.cpu_millicores * nodes, one.memory_bytes * nodes


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
        """(CPU millicores, memory bytes) requested by every pod: DaemonSets on each node, DOKS's
        Deployments and the app's pods, placed or not."""
        everything = [
            *(daemonset_pods() * self.nodes),
            *system_deployment_pods(),
            *(p for node in self.placement.nodes for p in node if not p.system),
            *(p for p in self.placement.unscheduled if not p.system),
        ]
        return requested_by(everything)

    def allocatable(self) -> tuple[int, int]:
        return pool_allocatable(self.node_size, self.nodes)

    def headroom_percent(self) -> tuple[float, float]:
        (cpu, memory), (cpu_total, memory_total) = self.requested(), self.allocatable()
        return (
            100 * (cpu_total - cpu) / cpu_total,
            100 * (memory_total - memory) / memory_total,
        )


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


def mib(memory_bytes: int) -> str:
    """`2907`, or `2907.5`: MiB as the messages and capacity.md write them."""
    if memory_bytes % MIB == 0:
        return f"{memory_bytes // MIB}"
    return f"{memory_bytes / MIB:.1f}"


@dataclass(frozen=True)
class SystemPoolOutcome:
    """The cluster's own pool at its minimum: DOKS's DaemonSets on each node, its Deployments
    placed first-fit. The app never runs there; DOKS's Deployments that find no room there run
    on the app's pool, where every scenario above counts them anyway."""

    node_size: str
    nodes: int
    placement: Placement  # DOKS's Deployments on each node, and those left over

    @property
    def holds_daemonsets(self) -> bool:
        """Whether one node of the size has room for DOKS's DaemonSets at all."""
        room = node_room(self.node_size)
        return room.cpu_millicores >= 0 and room.memory_bytes >= 0 and room.pods >= 0

    @property
    def fits(self) -> bool:
        return self.holds_daemonsets and not self.placement.unscheduled

    def requested(self) -> tuple[int, int]:
        """(CPU millicores, memory bytes): DaemonSets on each node, DOKS's Deployments placed."""
        placed = [p for node in self.placement.nodes for p in node]
        everything = [*(daemonset_pods() * self.nodes), *placed]
        return requested_by(everything)

    def allocatable(self) -> tuple[int, int]:
        return pool_allocatable(self.node_size, self.nodes)


def assess_system_pool(plan: Plan) -> SystemPoolOutcome:
    return SystemPoolOutcome(
        node_size=plan.system_node_size,
        nodes=plan.system_nodes,
        placement=place(plan.system_node_size, plan.system_nodes, []),
    )


@dataclass(frozen=True)
class Assessment:
    plan: Plan
    outcomes: tuple[Outcome, ...]  # one per scenario, in SCENARIOS order
    system: SystemPoolOutcome

    def outcome(self, scenario: ScenarioName) -> Outcome:
        return next(o for o in self.outcomes if o.scenario == scenario)


def assess(plan: Plan) -> Assessment:
    return Assessment(
        plan,
        tuple(assess_scenario(plan, scenario) for scenario in SCENARIOS),
        assess_system_pool(plan),
    )


# -- what would make it fit --------------------------------------------------------------------


def heaviest(plan: Plan, outcome: Outcome) -> list[Workload]:
    """The workloads that ask for most in the outcome, heaviest first: those that together hold
    half of the app's share of a node (at least one)."""

    def weight(workload: Workload) -> Fraction:
        per_pod = share(workload.cpu_millicores, workload.memory_bytes, plan.node_size)
        return per_pod * outcome.counts[workload.name]

    ranked = sorted(plan.workloads, key=lambda w: (-weight(w), w.name))
    total = sum((weight(w) for w in ranked), Fraction(0))
    found: list[Workload] = []
    covered = Fraction(0)
    for workload in ranked:
        found.append(workload)
        covered += weight(workload)
        if covered * 2 >= total:
            break
    return found


def most_api_replicas(plan: Plan, scenario: ScenarioName, nodes: int) -> int:
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


def smallest_size_that_fits(plan: Plan) -> str | None:
    """The cheapest node size on which the pods at their minimum fit on maxNodes nodes."""
    counts = app_pod_counts(plan, "minimum")
    pods = app_pods(plan, counts)
    for size in sorted(catalog.NODE_SIZES.values(), key=lambda s: (s.monthly_usd, s.slug)):
        if size.slug == plan.node_size:
            continue
        if not place(size.slug, plan.max_nodes, pods).unscheduled:
            return size.slug
    return None
