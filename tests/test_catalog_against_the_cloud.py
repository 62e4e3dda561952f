"""The program's DigitalOcean catalog against the stand-in's own reading of DigitalOcean's offer.

The two tables are kept apart on purpose (model/catalog.py for the program, the end-to-end
stand-in's tests/e2e/digitalocean/standin/reference.py): when both read one table, a wrong entry
passes the program's checks and the stand-in alike. Here every slug the program may send is one
the cloud offers, with the same shape; a disagreement names the entry.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from model import catalog
from tests.e2e.digitalocean.standin import reference


def disagreements(program: Any, cloud: Any) -> list[str]:
    """Every catalog entry the cloud's reference data does not bear out."""
    found = []
    for region in program.REGIONS:
        if region not in cloud.REGIONS:
            found.append(f"region {region}: not offered")
    for slug, size in program.NODE_SIZES.items():
        offered = cloud.NODE_SIZES.get(slug)
        if offered is None:
            found.append(f"node size {slug}: not offered for DOKS node pools")
        elif offered != (size.vcpus, size.memory_gib):
            shape = f"{size.vcpus} vCPU {size.memory_gib} GiB"
            found.append(f"node size {slug}: {shape}, the cloud says {offered}")
    for engine, sizes in (("mysql", program.MYSQL_SIZES), ("valkey", program.VALKEY_SIZES)):
        for slug, size in sizes.items():
            offered = cloud.DATABASE_SIZES[engine].get(slug)
            if offered is None:
                found.append(f"{engine} size {slug}: not offered")
            elif offered[:2] != (size.vcpus, size.memory_gib):
                found.append(f"{engine} size {slug}: shape differs from {offered[:2]}")
            elif offered[2] != (size.standby_monthly_usd is not None):
                found.append(f"{engine} size {slug}: standby nodes differ")
    engine_versions = (("mysql", program.MYSQL_VERSIONS), ("valkey", program.VALKEY_VERSIONS))
    for engine, versions in engine_versions:
        for version in versions:
            if version not in cloud.DATABASE_VERSIONS[engine]:
                found.append(f"{engine} version {version}: not offered")
    monitoring = (
        ("Uptime region", program.UPTIME_REGIONS, cloud.UPTIME_REGIONS),
        ("Uptime alert period", program.UPTIME_ALERT_PERIODS, cloud.UPTIME_ALERT_PERIODS),
        ("alert policy window", program.MONITOR_ALERT_WINDOWS, cloud.ALERT_POLICY_WINDOWS),
        ("node alert type", program.NODE_ALERT_TYPES.values(), cloud.DROPLET_ALERT_TYPES),
        ("database alert type", program.DATABASE_ALERT_TYPES.values(), cloud.DATABASE_ALERT_TYPES),
    )
    for what, used, offered_values in monitoring:
        found += [f"{what} {value}: not offered" for value in used if value not in offered_values]
    minors = {kv.rsplit(".", 1)[0] for _, kv in cloud.KUBERNETES_VERSIONS}
    if program.DEFAULT_KUBERNETES_MINOR not in minors:
        found.append(f"Kubernetes {program.DEFAULT_KUBERNETES_MINOR}: not offered")
    return found


def test_every_catalog_entry_is_offered_by_the_cloud_as_the_catalog_describes_it() -> None:
    assert disagreements(catalog, reference) == []


def test_a_wrong_catalog_entry_is_named() -> None:
    wrong = SimpleNamespace(**{name: getattr(catalog, name) for name in dir(catalog)})
    wrong.NODE_SIZES = {
        **catalog.NODE_SIZES,
        "s-2vcpu-4gb": catalog.NodeSize("s-2vcpu-4gb", 4, 4, 24.0),
        "s-3vcpu-6gb": catalog.NodeSize("s-3vcpu-6gb", 3, 6, 36.0),
    }
    wrong.REGIONS = {**catalog.REGIONS, "nyc2": "New York 2"}
    wrong.DEFAULT_KUBERNETES_MINOR = "1.34"
    wrong.UPTIME_REGIONS = (*catalog.UPTIME_REGIONS, "ap_south")
    wrong.DATABASE_ALERT_TYPES = {**catalog.DATABASE_ALERT_TYPES, "disk": "v1/dbaas/alerts/disk"}
    assert sorted(disagreements(wrong, reference)) == sorted(
        [
            "Uptime region ap_south: not offered",
            "database alert type v1/dbaas/alerts/disk: not offered",
            "region nyc2: not offered",
            "node size s-2vcpu-4gb: 4 vCPU 4 GiB, the cloud says (2, 4)",
            "node size s-3vcpu-6gb: not offered for DOKS node pools",
            "Kubernetes 1.34: not offered",
        ]
    )


def test_the_cloud_no_longer_offers_kubernetes_1_34() -> None:
    """It left support on 2026-10-27: a stack asking for it meets DigitalOcean's refusal."""
    assert not any(slug.startswith("1.34.") for slug, _ in reference.KUBERNETES_VERSIONS)
    assert reference.RETIRED_KUBERNETES_MINORS["1.34"] == "2026-10-27"
