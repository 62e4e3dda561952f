"""What the stand-in's DigitalOcean offers: its own dated reference data.

Deliberately not the program's catalog (`model/catalog.py`): when both read the same table,
a wrong catalog entry passes the program's checks and the stand-in alike. This list is a second,
separate reading of DigitalOcean's published offer, so a size, region or version that the
program believes in but DigitalOcean does not sell is refused here with DigitalOcean's 422, and
`tests/test_catalog_against_the_cloud.py` compares the two tables entry by entry.

Read on REFERENCE_DATE from (no live API here: no internet):
- regions: the "Regional Availability" matrix of DigitalOcean's product docs (Kubernetes,
  Managed Databases: MySQL and Valkey), legacy regions closed to new resources left out;
- node sizes: the Droplet plans DOKS accepts for worker nodes (`doctl kubernetes options sizes`
  as documented; DOKS refuses plans under 2 GiB of memory);
- database sizes: the Managed Databases pricing page (MySQL; Valkey, the in-memory plans);
- Kubernetes versions: DOKS offers the three newest supported minors. 1.34 reached the end of
  upstream support on 2026-10-27 (kubernetes.io/releases/1.34) and DOKS stopped offering it for
  new clusters; 1.35 and 1.36 remain, newest patch first as `GET /v2/kubernetes/options`
  lists them.
"""

from __future__ import annotations

REFERENCE_DATE = "2026-12-06"

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

# (slug, kubernetes_version), newest first: the first slug with a prefix is its `latest_version`.
KUBERNETES_VERSIONS: tuple[tuple[str, str], ...] = (
    ("1.36.3-do.0", "1.36.3"),
    ("1.35.7-do.1", "1.35.7"),
)
# Minors that DOKS no longer offers for new clusters, with the day support ended.
RETIRED_KUBERNETES_MINORS: dict[str, str] = {"1.34": "2026-10-27", "1.33": "2026-06-28"}

# Droplet plans accepted for DOKS worker nodes: slug -> (vCPUs, memory GiB).
NODE_SIZES: dict[str, tuple[int, int]] = {
    "s-1vcpu-2gb": (1, 2),
    "s-2vcpu-2gb": (2, 2),
    "s-2vcpu-4gb": (2, 4),
    "s-4vcpu-8gb": (4, 8),
    "s-8vcpu-16gb": (8, 16),
    "s-2vcpu-4gb-amd": (2, 4),
    "s-4vcpu-8gb-amd": (4, 8),
    "s-8vcpu-16gb-amd": (8, 16),
    "s-2vcpu-4gb-intel": (2, 4),
    "s-4vcpu-8gb-intel": (4, 8),
    "s-8vcpu-16gb-intel": (8, 16),
    "g-2vcpu-8gb": (2, 8),
    "g-4vcpu-16gb": (4, 16),
    "g-8vcpu-32gb": (8, 32),
    "c-2": (2, 4),
    "c-4": (4, 8),
    "c-8": (8, 16),
    "m-2vcpu-16gb": (2, 16),
    "m-4vcpu-32gb": (4, 32),
}

# Managed database plans per engine: slug -> (vCPUs, memory GiB, standby nodes allowed).
DATABASE_SIZES: dict[str, dict[str, tuple[int, int, bool]]] = {
    "mysql": {
        "db-s-1vcpu-1gb": (1, 1, False),
        "db-s-1vcpu-2gb": (1, 2, True),
        "db-s-2vcpu-4gb": (2, 4, True),
        "db-s-4vcpu-8gb": (4, 8, True),
        "db-s-6vcpu-16gb": (6, 16, True),
        "db-s-8vcpu-32gb": (8, 32, True),
        "db-s-16vcpu-64gb": (16, 64, True),
    },
    "valkey": {
        "db-s-1vcpu-1gb": (1, 1, False),
        "db-s-1vcpu-2gb": (1, 2, True),
        "db-s-2vcpu-4gb": (2, 4, True),
        "db-s-4vcpu-8gb": (4, 8, True),
    },
    "pg": {
        "db-s-1vcpu-1gb": (1, 1, False),
        "db-s-1vcpu-2gb": (1, 2, True),
        "db-s-2vcpu-4gb": (2, 4, True),
    },
}

# Major versions offered per engine, and the full version a new cluster reports.
DATABASE_VERSIONS: dict[str, dict[str, str]] = {
    "mysql": {"8": "8.0.39"},
    "pg": {"17": "17.4"},
    "valkey": {"8": "8.0.2"},
}

# -- Uptime and Monitoring (read on REFERENCE_DATE from DigitalOcean's API reference: the Uptime
# and Monitoring tags; a second reading, apart from model/catalog.py) ---------------------------

UPTIME_CHECK_TYPES = ("ping", "http", "https")
UPTIME_REGIONS = ("us_east", "us_west", "eu_west", "se_asia")
UPTIME_ALERT_TYPES = ("latency", "down", "down_global", "ssl_expiry")
UPTIME_ALERT_PERIODS = ("2m", "3m", "5m", "10m", "15m", "30m", "1h")
UPTIME_COMPARISONS = ("greater_than", "less_than")
ALERT_POLICY_WINDOWS = ("5m", "10m", "30m", "1h")
ALERT_POLICY_COMPARISONS = ("GreaterThan", "LessThan")
# Alert policy types by what their entities are: Droplet IDs (or tags), database cluster UUIDs.
# (Load balancer and Droplet autoscale pool types exist too; this account offers what it models.)
DROPLET_ALERT_TYPES = tuple(
    f"v1/insights/droplet/{metric}"
    for metric in (
        "load_1", "load_5", "load_15", "memory_utilization_percent", "disk_utilization_percent",
        "cpu", "disk_read", "disk_write", "public_outbound_bandwidth", "public_inbound_bandwidth",
        "private_outbound_bandwidth", "private_inbound_bandwidth",
    )
)  # fmt: skip
DATABASE_ALERT_TYPES = tuple(
    f"v1/dbaas/alerts/{metric}"
    for metric in ("load_15_alerts", "memory_utilization_alerts", "disk_utilization_alerts",
                   "cpu_alerts")
)  # fmt: skip

# Managed databases that take daily backups (and can be created from one): "Backups are not
# supported for Caching or Valkey clusters."
BACKED_UP_ENGINES = ("mysql", "pg")
# Storage autoscaling's bounds (the `database_storage_autoscale_params` schema), where offered.
STORAGE_AUTOSCALE_THRESHOLD = (15, 95)
STORAGE_AUTOSCALE_INCREMENT_GIB = (10, 500)
