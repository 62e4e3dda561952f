"""Monthly cost of a stack at the autoscaler's minimum and maximum, from model/catalog.py."""

from __future__ import annotations

from dataclasses import dataclass

from model import catalog
from offline.simulate import Simulation

DOKS = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


@dataclass(frozen=True)
class Line:
    item: str
    at_min: float
    at_max: float


@dataclass(frozen=True)
class Estimate:
    stack: str
    lines: list[Line]

    @property
    def total_min(self) -> float:
        return sum(line.at_min for line in self.lines)

    @property
    def total_max(self) -> float:
        return sum(line.at_max for line in self.lines)

    def markdown(self) -> str:
        rows = [
            f"# Monthly cost estimate: {self.stack}",
            "",
            f"List prices in USD from model/catalog.py (dated {catalog.CATALOG_DATE});"
            " excludes tax, bandwidth overage, volumes and backups beyond the included.",
            "",
            "| item | at min nodes | at max nodes |",
            "|---|---:|---:|",
        ]
        rows += [f"| {line.item} | {line.at_min:.2f} | {line.at_max:.2f} |" for line in self.lines]
        rows.append(f"| **total** | **{self.total_min:.2f}** | **{self.total_max:.2f}** |")
        return "\n".join(rows) + "\n"


def estimate(simulation: Simulation) -> Estimate:
    lines: list[Line] = []
    for cluster in simulation.of_type(DOKS):
        pool = cluster.value("nodePool")
        size = catalog.NODE_SIZES[pool["size"]]
        low, high = pool["minNodes"], pool["maxNodes"]
        lines.append(
            Line(
                f"nodes: {size.slug} x {low}..{high}",
                size.monthly_usd * low,
                size.monthly_usd * high,
            )
        )
        if cluster.value("ha"):
            ha = catalog.HA_CONTROL_PLANE_MONTHLY_USD
            lines.append(Line("HA control plane", ha, ha))
    # By name: the engine receives registrations in whatever order their inputs resolve.
    for database in sorted(simulation.of_type(DATABASE), key=lambda r: r.name):
        engine = database.value("engine")
        sizes = catalog.MYSQL_SIZES if engine == "mysql" else catalog.VALKEY_SIZES
        db_size = sizes[database.value("size")]
        count = database.value("nodeCount")
        price = db_size.monthly_usd(count)
        lines.append(Line(f"{engine}: {db_size.slug} x {count} node(s)", price, price))
    for _ in simulation.of_type(GATEWAY):
        price = catalog.NETWORK_LOAD_BALANCER_NODE_MONTHLY_USD
        lines.append(Line("Gateway load balancer (1 node)", price, price))
    return Estimate(simulation.stack, lines)
