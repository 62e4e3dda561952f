"""What DigitalOcean offers, as data: regions, size slugs, monthly prices, versions.

Every number that describes DigitalOcean lives here, so that a price change or a new region is
a one-line edit with a date beside it. Validation (the config checks) and the cost estimate
read these tables; nothing else hard-codes a slug.

Sources (read on CATALOG_DATE): DigitalOcean's pricing pages for Droplets, Kubernetes, Managed
Databases and Load Balancers, and the product docs' "availability" and "supported versions"
pages. Prices are USD per month, list price, excluding tax, bandwidth overage and storage beyond
what a size includes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


# -- Capacity of a worker node and what DOKS itself runs on it -----------------------------------
#
# Every figure below says where it comes from: "published" is a number DigitalOcean prints (its
# docs, or a manifest in one of its repositories); "derived" is computed or observed, and says how.
# Kubernetes units: CPU in millicores, memory in MiB (1 GiB = 1024 MiB).

DOKS_LIMITS_URL = "https://docs.digitalocean.com/products/kubernetes/details/limits/"
# The stored copy of that page read on ALLOCATABLE_DATE says "Last edited on 3 Dec 2025".
ALLOCATABLE_DATE = "2026-11-26"
SYSTEM_PODS_DATE = "2026-11-26"

# "A single worker node can have up to 110 pods." (published: DOKS_LIMITS_URL, Resource Limits)
MAX_PODS_PER_NODE = 110
# The most nodes one DOKS node pool may have, so the most maxNodes may be.
DOKS_MAX_NODES_PER_POOL = 100

# Sources of the observed figures and manifests: Node.status and pod requests that people printed
# from real DOKS clusters with `kubectl describe node`. The index the research used names the
# first three by repository; the last two it gave only as file text (no repository or path).
OBSERVED_DOKS_1_24_GUIDE = (
    "https://github.com/digitalocean/k8s-adoption-journey/blob/"
    "d9789577bde54350d0cf5403f97cbc38ae4c13b3/docs/02-development/observability-dev.md"
    " (DigitalOcean's own guide; DOKS 1.24.4-do.0, s-4vcpu-8gb-amd, 2022-09)"
)
OBSERVED_DOKS_1_33_RUNNERS = (
    "https://github.com/redducklabs/redducklabs-runners/blob/"
    "911df354e4b01131e667bfbecb60e2702e68e02c/docs/specs/"
    "2026-08-19-runner-capacity-and-memory-design.md (DOKS 1.33, s-8vcpu-16gb, measured"
    " 2026-08-19: 7880m and 13.32 GiB allocatable; test/verify-runner-resources.sh: 13967028Ki)"
)
DO_AGENT_MANIFEST = (
    "https://github.com/digitalocean/do-agent/blob/"
    "129bae859eb7451a178fe1940b0af3a4ea885e8a/deploy/do-agent.yaml"
)
CSI_NODE_MANIFEST = (
    "https://github.com/digitalocean/csi-digitalocean/blob/"
    "0bf4fca2bb13c3d9d5d6f27a940a312fdc0dd33b/deploy/kubernetes/releases/"
    "csi-digitalocean-dev/driver.yaml"
)
OBSERVED_DOKS_1_28_NOTES = (
    "a public GitHub study note, `kubectl describe nodes` of a DOKS 1.28.2-do.0 s-2vcpu-4gb node"
    " in sgp1, 2024-01-11 (code index file id 10547589585; repository not given by the index)"
)
OBSERVED_DOKS_1_35_REPORT = (
    "a public GitHub cluster report, DOKS v1.35.1 in nyc1, 2 x s-2vcpu-2gb, 2026-05-16: per node"
    " 1900m CPU / 1499744Ki allocatable, kube-system requests 602m CPU / 625Mi on each node;"
    " no kube-proxy, no cilium-operator on the nodes (code index file id 56015065206;"
    " repository not given by the index)"
)


@dataclass(frozen=True)
class NodeAllocatable:
    """What the kubelet offers pods on one node of a size (Node.status.allocatable)."""

    cpu_millicores: int
    memory_mib: int
    basis: str  # "published: <url>" or "derived: <how>"


def _allocatable_memory_mib(slug: str) -> tuple[int, str]:
    """DigitalOcean's "Maximum Pod Allocatable Memory" table, by the node's memory.

    The table (DOKS_LIMITS_URL, "Allocatable Memory") lists some slugs per memory size; a slug it
    does not list gets its row's figure by the node's memory (DOKS reserves by memory, whatever
    the CPU family), and says so. Observed Node.status.allocatable is a few hundred MiB higher
    (s-2vcpu-2gb 1464 MiB, s-2vcpu-4gb 3110 MiB, s-4vcpu-8gb-amd 6694 MiB, s-8vcpu-16gb 13639 MiB),
    so the published figure is the conservative one: a plan that fits it fits on DOKS.
    """
    published_rows: dict[float, tuple[int, tuple[str, ...]]] = {
        2: (1024, ("s-1vcpu-2gb", "s-2vcpu-2gb")),
        4: (2560, ("s-2vcpu-4gb", "c-2")),
        8: (6144, ("s-4vcpu-8gb", "g-2vcpu-8gb", "gd-2vcpu-8gb", "c-4")),
        16: (13312, ("s-6vcpu-16gb", "g-4vcpu-16gb", "gd-4vcpu-16gb", "c-8")),
        32: (28672, ("s-8vcpu-32gb", "g-8vcpu-32gb", "gd-8vcpu-32gb", "c-16")),
    }
    memory_gib = NODE_SIZES[slug].memory_gib
    if memory_gib not in published_rows:
        raise ValueError(
            f"{slug}: no allocatable memory known for {memory_gib:g} GiB nodes; add its row from"
            f" {DOKS_LIMITS_URL}#allocatable-memory"
        )
    mib, listed = published_rows[memory_gib]
    if slug in listed:
        return mib, f"published: {DOKS_LIMITS_URL}#allocatable-memory ({mib} MiB)"
    return mib, (
        f"derived: not listed; the {memory_gib:g} GiB row of {DOKS_LIMITS_URL}#allocatable-memory"
        f" ({', '.join(listed)}: {mib} MiB)"
    )


def _allocatable_cpu_millicores(vcpus: int) -> tuple[int, str]:
    """DigitalOcean publishes no CPU reservation; these are observed Node.status.allocatable."""
    observed = {
        2: (1900, f"{OBSERVED_DOKS_1_28_NOTES}; and {OBSERVED_DOKS_1_35_REPORT}"),
        4: (3900, OBSERVED_DOKS_1_24_GUIDE),
        8: (7880, OBSERVED_DOKS_1_33_RUNNERS),
    }
    if vcpus in observed:
        millicores, source = observed[vcpus]
        return (
            millicores,
            f"derived: observed {millicores}m allocatable of {vcpus} vCPU on {source}",
        )
    # 1 vCPU: not observed; DOKS kept 100m back on every 2- and 4-vCPU node observed.
    return vcpus * 1000 - 100, (
        f"derived: {vcpus * 1000}m less the 100m DOKS reserved on the observed 2- and 4-vCPU nodes"
    )


def _node_allocatable(slug: str) -> NodeAllocatable:
    memory_mib, memory_basis = _allocatable_memory_mib(slug)
    cpu_millicores, cpu_basis = _allocatable_cpu_millicores(NODE_SIZES[slug].vcpus)
    return NodeAllocatable(
        cpu_millicores=cpu_millicores,
        memory_mib=memory_mib,
        basis=f"memory {memory_basis}; cpu {cpu_basis}",
    )


# For every slug in NODE_SIZES (read ALLOCATABLE_DATE).
NODE_ALLOCATABLE: dict[str, NodeAllocatable] = {
    slug: _node_allocatable(slug) for slug in NODE_SIZES
}


@dataclass(frozen=True)
class SystemPod:
    """A DOKS-managed workload in kube-system, with the requests the scheduler counts."""

    name: str
    kind: Literal["DaemonSet", "Deployment"]
    replicas: int  # ignored for a DaemonSet (one pod per node)
    cpu_millicores: int
    memory_mib: int
    basis: str


# What DOKS 1.35/1.36 runs in kube-system on the worker nodes, by the requests of each pod (all
# containers summed), read SYSTEM_PODS_DATE. Not here, because DOKS no longer runs them on the
# nodes: kube-proxy (Cilium replaces it; absent from the 1.35.1 listing; it requested 0m/125Mi up
# to 1.28) and cilium-operator (absent from the node listings since 2026; it requested
# 100m/150M up to 1.28). GPU-only DaemonSets (do-node-agent-nvidia-dcgm-exporter and the AMD
# exporter) select GPU nodes only. The 1.35.1 report's per-node total, 602m / 625Mi on each of
# its two nodes (one coredns replica on each), is exactly cilium + coredns + cpc-bridge-proxy +
# do-node-agent below, so everything else there requests nothing.
DOKS_SYSTEM_PODS: tuple[SystemPod, ...] = (
    SystemPod(
        name="cilium",
        kind="DaemonSet",
        replicas=1,
        cpu_millicores=300,
        memory_mib=300,
        basis=(
            f"derived: itemized 300m/300Mi on {OBSERVED_DOKS_1_28_NOTES} (310m/310Mi on"
            f" {OBSERVED_DOKS_1_24_GUIDE}); the 602m/625Mi node total of"
            f" {OBSERVED_DOKS_1_35_REPORT} leaves exactly this; Cilium's own chart sets no requests"
        ),
    ),
    SystemPod(
        name="cpc-bridge-proxy",
        kind="DaemonSet",
        replicas=1,
        cpu_millicores=100,
        memory_mib=75,
        basis=(
            f"published: 100m/75Mi in the `kubectl describe node` of {OBSERVED_DOKS_1_24_GUIDE};"
            f" same on {OBSERVED_DOKS_1_28_NOTES}; named cpc-bridge-proxy-ebpf on 1.35"
        ),
    ),
    SystemPod(
        name="do-node-agent",
        kind="DaemonSet",
        replicas=1,
        cpu_millicores=102,
        memory_mib=80,
        basis=(
            f"published: requests 102m/80Mi in {DO_AGENT_MANIFEST}; observed the same on"
            f" {OBSERVED_DOKS_1_24_GUIDE} and {OBSERVED_DOKS_1_28_NOTES}"
        ),
    ),
    SystemPod(
        name="csi-do-node",
        kind="DaemonSet",
        replicas=1,
        cpu_millicores=0,
        memory_mib=0,
        basis=(
            f"published: no resources on the node plugin's containers in {CSI_NODE_MANIFEST};"
            f" observed 0/0 on {OBSERVED_DOKS_1_24_GUIDE} and {OBSERVED_DOKS_1_28_NOTES}"
        ),
    ),
    SystemPod(
        name="doks-telemetry-config-reloader",
        kind="DaemonSet",
        replicas=1,
        cpu_millicores=0,
        memory_mib=0,
        basis=(
            f"derived: runs on every node of {OBSERVED_DOKS_1_35_REPORT}, whose node total leaves"
            " nothing for it"
        ),
    ),
    SystemPod(
        name="coredns",
        kind="Deployment",
        replicas=2,
        cpu_millicores=100,
        memory_mib=170,
        basis=(
            f"derived: 2 replicas and 100m/170Mi from the 602m/625Mi node total of"
            f" {OBSERVED_DOKS_1_35_REPORT} less the three DaemonSets above (100m/150M, i.e. 143Mi,"
            f" up to 1.28: {OBSERVED_DOKS_1_28_NOTES}); the upstream addon requests 100m/70Mi"
            " (https://github.com/kubernetes/kubernetes/blob/"
            "008b3652959ca58af8be3fb5b6ecfe9ae7638282/cluster/addons/dns/coredns/"
            "coredns.yaml.base), DOKS asks for more"
        ),
    ),
    SystemPod(
        name="konnectivity-agent",
        kind="Deployment",
        replicas=2,
        cpu_millicores=0,
        memory_mib=0,
        basis=(
            f"derived: a 2-replica Deployment on {OBSERVED_DOKS_1_35_REPORT} (a DaemonSet before);"
            f" 0m/0Mi observed on {OBSERVED_DOKS_1_24_GUIDE} and {OBSERVED_DOKS_1_28_NOTES}"
        ),
    ),
    SystemPod(
        name="hubble-relay",
        kind="Deployment",
        replicas=1,
        cpu_millicores=0,
        memory_mib=0,
        basis=(
            f"derived: on by default ({OBSERVED_DOKS_1_35_REPORT}); the two nodes' totals are equal"
            " although only one runs hubble-relay and the other hubble-ui, so both request nothing"
        ),
    ),
    SystemPod(
        name="hubble-ui",
        kind="Deployment",
        replicas=1,
        cpu_millicores=0,
        memory_mib=0,
        basis="derived: as hubble-relay",
    ),
)


# -- How long DigitalOcean takes to create what a first deploy creates -----------------------------
#
# Typical minutes, for the render's first-deploy estimate (offline/deploy_time.py). DigitalOcean
# documents none of them as a figure: its docs say a cluster and a database cluster take
# "several minutes" to provision and a load balancer "a few minutes"; these are the typical
# times reported for each (DOKS about 7 min, Managed MySQL about 8, Managed Valkey about 5, a
# Network Load Balancer about 2) and the app's own steps as they run on a warm cluster (the
# migration Job and a rollout about 1 min each, most of it pulling images). Estimates, not
# promises: the point is the shape of the critical path, not its minute.
CREATION_TIMES_DATE = "2026-11-26"
CREATION_MINUTES: dict[str, float] = {
    "vpc": 0.3,
    "kubernetes-cluster": 7.0,
    "mysql": 8.0,
    "valkey": 5.0,
    "load-balancer": 2.0,  # what a Gateway waits for (its address, Programmed)
    "migration": 1.0,
    "rollout": 1.0,
}


# -- Knowing when production breaks: Uptime and Monitoring -----------------------------------------
#
# Read on MONITORING_DATE from DigitalOcean's OpenAPI description (../shared/schemas/
# digitalocean-openapi, the `check_updatable`, `alert_updatable` and `alert_policy_request`
# schemas) and its product docs.
MONITORING_DATE = "2026-12-06"

# Where an Uptime check runs from (`check_updatable.regions`).
UPTIME_REGIONS = ("us_east", "us_west", "eu_west", "se_asia")
# How long an Uptime alert's condition must hold (`alert_updatable.period`).
UPTIME_ALERT_PERIODS = ("2m", "3m", "5m", "10m", "15m", "30m", "1h")
# The window a Monitoring alert policy averages its metric over (`alert_policy_request.window`).
MONITOR_ALERT_WINDOWS = ("5m", "10m", "30m", "1h")

# The alert policy types this program uses. Droplet types are aimed at Droplet IDs or tags (a DOKS
# node is a Droplet carrying its pool's tags); the `v1/dbaas/alerts/*` types at database cluster
# UUIDs. The description's table names no engine for the dbaas types: it allows each of them for
# any database cluster, Valkey included (its only Valkey exception is backups: "Backups are not
# supported for Caching or Valkey clusters").
NODE_ALERT_TYPES = {
    "cpu": "v1/insights/droplet/cpu",
    "memory": "v1/insights/droplet/memory_utilization_percent",
    "disk": "v1/insights/droplet/disk_utilization_percent",
}
DATABASE_ALERT_TYPES = {
    "cpu": "v1/dbaas/alerts/cpu_alerts",
    "memory": "v1/dbaas/alerts/memory_utilization_alerts",
    "disk": "v1/dbaas/alerts/disk_utilization_alerts",
}

# "Each Uptime check costs $1.00 per month, billed in hourly increments. There is no additional
# cost for alerts." (published: https://docs.digitalocean.com/products/uptime/details/, the page
# generated on 27 Mar 2026).
UPTIME_CHECK_MONTHLY_USD = 1.0
UPTIME_PRICING_URL = "https://docs.digitalocean.com/products/uptime/details/"
# "DigitalOcean Monitoring is provided at no additional cost." (published:
# https://www.digitalocean.com/docs/monitoring/, "Plans and Pricing"; the current concepts page,
# https://docs.digitalocean.com/products/monitoring/concepts/, calls it "a free, opt-in service").
MONITOR_ALERT_MONTHLY_USD = 0.0
MONITORING_PRICING_URL = "https://www.digitalocean.com/docs/monitoring/"

# Storage a MySQL cluster's autoscaling adds is billed per GiB on top of the plan. The price per
# GiB was not found in the sources read here: unverified, so the cost estimate names the increment
# and leaves the amount out.
DATABASE_ADDED_STORAGE_PRICE = "unverified"
