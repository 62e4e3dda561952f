"""How long a stack's first deploy takes: its critical path and its floor, in minutes.

From the render's dependency graph (`offline.dependencies.dependency_graph`: each resource
starts when everything it waits for is created) and the typical creation times in
`model/catalog.py`.
- critical path: the longest chain of waits over every resource: when the deploy ends;
- floor: the longest chain that ends at one of the application's own workloads (its migration,
  a Deployment, the CronJob): nothing serves before it. A critical path longer than the floor
  means a resource waits for something it does not need.
"""

from __future__ import annotations

from dataclasses import dataclass

from model import catalog
from offline.dependencies import dependency_graph
from offline.simulate import Registration, Simulation

WORKLOADS = {
    "kubernetes:batch/v1:Job",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:batch/v1:CronJob",
}


def minutes(registration: Registration) -> float:
    """How long creating this resource takes, by what it is."""
    kind = {
        "digitalocean:index/vpc:Vpc": "vpc",
        "digitalocean:index/kubernetesCluster:KubernetesCluster": "kubernetes-cluster",
        "kubernetes:gateway.networking.k8s.io/v1:Gateway": "load-balancer",
        "kubernetes:batch/v1:Job": "migration",
        "kubernetes:apps/v1:Deployment": "rollout",
    }.get(registration.type)
    if registration.type == "digitalocean:index/databaseCluster:DatabaseCluster":
        kind = str(registration.value("engine"))
    return catalog.CREATION_MINUTES.get(kind, 0.0) if kind else 0.0


@dataclass(frozen=True)
class Chain:
    minutes: float
    steps: list[tuple[str, float]]  # (resource name, its minutes), first to last

    def text(self) -> str:
        return " → ".join(f"{name} ({m:g})" for name, m in self.steps if m) or "nothing"


@dataclass(frozen=True)
class DeployTime:
    stack: str
    critical_path: Chain
    floor: Chain

    def markdown(self) -> str:
        waiting = self.critical_path.minutes - self.floor.minutes
        return "\n".join(
            [
                f"# First deploy: estimated time, {self.stack}",
                "",
                "Typical creation times in minutes from model/catalog.py (dated"
                f" {catalog.CREATION_TIMES_DATE}); each resource starts once everything it waits"
                " for exists.",
                "",
                f"- critical path: {self.critical_path.minutes:.1f} min:"
                f" {self.critical_path.text()}",
                f"- floor (the application's own chain): {self.floor.minutes:.1f} min:"
                f" {self.floor.text()}",
                f"- waiting without need: {waiting:.1f} min",
                "",
            ]
        )


def estimate(simulation: Simulation) -> DeployTime:
    graph = dependency_graph(simulation)
    by_urn = {r.urn: r for r in simulation.registrations if r.custom}
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}  # the dependency that finishes last

    def finished(urn: str) -> float:
        if urn not in finish:
            waits = sorted(graph[urn], key=lambda u: (finished(u), u))
            before[urn] = waits[-1] if waits else None
            start = finished(waits[-1]) if waits else 0.0
            finish[urn] = start + minutes(by_urn[urn])
        return finish[urn]

    def chain(urn: str) -> Chain:
        steps: list[tuple[str, float]] = []
        current: str | None = urn
        while current is not None:
            steps.append((by_urn[current].name, minutes(by_urn[current])))
            current = before[current]
        return Chain(round(finish[urn], 1), list(reversed(steps)))

    last = max(sorted(by_urn), key=finished)
    last_workload = max(sorted(u for u in by_urn if by_urn[u].type in WORKLOADS), key=finished)
    return DeployTime(simulation.stack, chain(last), chain(last_workload))
