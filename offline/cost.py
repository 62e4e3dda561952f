"""Monthly cost of a stack at the autoscaler's minimum and maximum, from model/catalog.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model import catalog
from offline.simulate import Simulation, reveal

DOKS = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
UPTIME_CHECK = "digitalocean:index/uptimeCheck:UptimeCheck"
UPTIME_ALERT = "digitalocean:index/uptimeAlert:UptimeAlert"
MONITOR_ALERT = "digitalocean:index/monitorAlert:MonitorAlert"


@dataclass(frozen=True)
class Line:
    item: str
    at_min: float
    at_max: float


@dataclass(frozen=True)
class Estimate:
    stack: str
    lines: list[Line]
    notes: list[str] = field(default_factory=list)  # costs that depend on use, said in words

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
        if self.notes:
            rows += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(rows) + "\n"


def estimate(simulation: Simulation) -> Estimate:
    lines: list[Line] = []
    for cluster in simulation.of_type(DOKS):
        lines.append(_pool_line("nodes, cluster's own pool", cluster.value("nodePool")))
        for pool in sorted(simulation.of_type(NODE_POOL), key=lambda r: r.name):
            lines.append(_pool_line("nodes, app's pool", reveal(pool.inputs)))
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
    notes: list[str] = []
    checks, uptime_alerts = simulation.of_type(UPTIME_CHECK), simulation.of_type(UPTIME_ALERT)
    if checks:
        price = catalog.UPTIME_CHECK_MONTHLY_USD * len(checks)
        item = f"uptime check x {len(checks)}, with {len(uptime_alerts)} alert(s) at no charge"
        lines.append(Line(item, price, price))
        notes.append(
            f"Uptime: ${catalog.UPTIME_CHECK_MONTHLY_USD:.2f} per check per month, alerts"
            f" included ({catalog.UPTIME_PRICING_URL}, read {catalog.MONITORING_DATE})."
        )
    policies = simulation.of_type(MONITOR_ALERT)
    if policies:
        price = catalog.MONITOR_ALERT_MONTHLY_USD * len(policies)
        lines.append(Line(f"monitoring alert policies x {len(policies)}", price, price))
        notes.append(
            'Monitoring alert policies: no charge ("DigitalOcean Monitoring is provided at no'
            f' additional cost", {catalog.MONITORING_PRICING_URL}, read {catalog.MONITORING_DATE}).'
        )
    for database in simulation.of_type(DATABASE):
        autoscale = database.value("storageAutoscale") or {}
        if autoscale.get("enabled"):
            notes.append(
                f"{database.value('engine')} storage autoscaling: +{autoscale['incrementGib']} GiB"
                f" each time disk use passes {autoscale['thresholdPercent']}%, billed per GiB"
                " added and never removed; not in the totals (price per GiB"
                f" {catalog.DATABASE_ADDED_STORAGE_PRICE})."
            )
    return Estimate(simulation.stack, lines, notes)


def _pool_line(what: str, pool: dict[str, Any]) -> Line:
    size = catalog.NODE_SIZES[pool["size"]]
    low, high = pool["minNodes"], pool["maxNodes"]
    return Line(
        f"{what}: {size.slug} x {low}..{high}", size.monthly_usd * low, size.monthly_usd * high
    )
