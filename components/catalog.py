"""What DigitalOcean offers, as data: regions, size slugs, monthly prices, versions.

Every number that describes DigitalOcean lives here, so that a price change or a new region is
a one-line edit with a date beside it. Validation (components/settings.py) and the cost estimate
read these tables; nothing else hard-codes a slug.

Sources (read on CATALOG_DATE): DigitalOcean's pricing pages for Droplets, Kubernetes, Managed
Databases and Load Balancers, and the product docs' "availability" and "supported versions"
pages. Prices are USD per month, list price, excluding tax, bandwidth overage and storage beyond
what a size includes.
"""

from __future__ import annotations

from dataclasses import dataclass

CATALOG_DATE = "2026-11-26"

# Region slugs where DOKS, Managed MySQL and Managed Valkey can all be created.
# (nyc2, sfo1 and ams2 are legacy regions closed to new resources.)
REGIONS: dict[str, str] = {
    "nyc1": "New York 1",
    "nyc3": "New York 3",
    "sfo2": "San Francisco 2",
    "sfo3": "San Francisco 3",
    "tor1": "Toronto 1",
    "atl1": "Atlanta 1",
    "ams3": "Amsterdam 3",
    "lon1": "London 1",
    "fra1": "Frankfurt 1",
    "blr1": "Bangalore 1",
    "sgp1": "Singapore 1",
    "syd1": "Sydney 1",
}


@dataclass(frozen=True)
class NodeSize:
    """A Droplet size usable as a DOKS worker node."""

    slug: str
    vcpus: int
    memory_gib: float
    monthly_usd: float


# Basic (shared CPU) and dedicated-CPU Droplet sizes that DOKS accepts for node pools. DOKS
# rejects sizes below 2 GiB of memory for worker nodes, so the 512 MiB and 1 GiB sizes are
# deliberately absent.
NODE_SIZES: dict[str, NodeSize] = {
    size.slug: size
    for size in (
        NodeSize("s-1vcpu-2gb", 1, 2, 12.0),
        NodeSize("s-2vcpu-2gb", 2, 2, 18.0),
        NodeSize("s-2vcpu-4gb", 2, 4, 24.0),
        NodeSize("s-4vcpu-8gb", 4, 8, 48.0),
        NodeSize("s-8vcpu-16gb", 8, 16, 96.0),
        NodeSize("s-2vcpu-4gb-amd", 2, 4, 28.0),
        NodeSize("s-4vcpu-8gb-amd", 4, 8, 56.0),
        NodeSize("s-8vcpu-16gb-amd", 8, 16, 112.0),
        NodeSize("s-2vcpu-4gb-intel", 2, 4, 32.0),
        NodeSize("s-4vcpu-8gb-intel", 4, 8, 64.0),
        NodeSize("s-8vcpu-16gb-intel", 8, 16, 128.0),
        NodeSize("g-2vcpu-8gb", 2, 8, 63.0),
        NodeSize("g-4vcpu-16gb", 4, 16, 126.0),
        NodeSize("g-8vcpu-32gb", 8, 32, 252.0),
        NodeSize("c-2", 2, 4, 42.0),
        NodeSize("c-4", 4, 8, 84.0),
        NodeSize("c-8", 8, 16, 168.0),
        NodeSize("m-2vcpu-16gb", 2, 16, 84.0),
        NodeSize("m-4vcpu-32gb", 4, 32, 168.0),
    )
}

# The DOKS control plane is free; the high-availability control plane is billed monthly.
HA_CONTROL_PLANE_MONTHLY_USD = 40.0


@dataclass(frozen=True)
class DatabaseSize:
    """A managed-database size slug, priced per node (primary and each standby)."""

    slug: str
    vcpus: int
    memory_gib: float
    primary_monthly_usd: float
    standby_monthly_usd: float | None  # None: this size cannot have standby nodes

    def monthly_usd(self, node_count: int) -> float:
        standby = self.standby_monthly_usd or 0.0
        return self.primary_monthly_usd + standby * (node_count - 1)


# Managed MySQL sizes (storage included in the price). Each standby node is billed as the
# primary; the smallest size cannot have standby nodes.
MYSQL_SIZES: dict[str, DatabaseSize] = {
    size.slug: size
    for size in (
        DatabaseSize("db-s-1vcpu-1gb", 1, 1, 15.0, None),
        DatabaseSize("db-s-1vcpu-2gb", 1, 2, 30.0, 30.0),
        DatabaseSize("db-s-2vcpu-4gb", 2, 4, 60.0, 60.0),
        DatabaseSize("db-s-4vcpu-8gb", 4, 8, 120.0, 120.0),
        DatabaseSize("db-s-6vcpu-16gb", 6, 16, 240.0, 240.0),
        DatabaseSize("db-s-8vcpu-32gb", 8, 32, 480.0, 480.0),
    )
}

# Managed Valkey sizes (in-memory; the same slugs as the retired Managed Redis).
VALKEY_SIZES: dict[str, DatabaseSize] = {
    size.slug: size
    for size in (
        DatabaseSize("db-s-1vcpu-1gb", 1, 1, 15.0, None),
        DatabaseSize("db-s-1vcpu-2gb", 1, 2, 30.0, 30.0),
        DatabaseSize("db-s-2vcpu-4gb", 2, 4, 60.0, 60.0),
        DatabaseSize("db-s-4vcpu-8gb", 4, 8, 120.0, 120.0),
    )
}

MYSQL_VERSIONS = ("8",)
VALKEY_VERSIONS = ("8",)

# DigitalOcean ended Managed Redis: no new clusters since 2025-06-30; existing ones were moved
# to Managed Valkey, a Redis-compatible fork that speaks the same protocol.
CACHE_ENGINES = ("valkey",)
REDIS_END_OF_LIFE = "2025-06-30"

# A DOKS Gateway provisions one regional Network Load Balancer; it is billed per LB node.
NETWORK_LOAD_BALANCER_NODE_MONTHLY_USD = 15.0

# DOKS offers new clusters only its three newest minors. 1.34 reached end of support on
# 2026-10-27 (forced upgrades from 2026-11-26); 1.36 is the newest we have seen offered.
# For 1.36+ the API turns the HA control plane on unless told otherwise, so the cluster sets
# `ha` explicitly.
DEFAULT_KUBERNETES_MINOR = "1.36"
