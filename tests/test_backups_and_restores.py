"""MySQL's backups as stack config, and a stack whose MySQL starts from one of them: the source
and the backup checked against DigitalOcean before anything is registered, the app's database
and user taken from the backup instead of created, and `restoreFrom` refused where it would be
ignored."""

from __future__ import annotations

from typing import Any

import pytest

from config.cloud import OfflineCloud
from config.settings import ConfigError
from offline.simulate import Simulation, run_stack
from tests.k8s import k8s
from tests.kinds import DATABASE, DATABASE_DB, DATABASE_USER, MYSQL_CONFIG, SECRET

SOURCE = "posts-prod-mysql"
BACKUPS = ["2026-12-03T03:30:07Z", "2026-12-05T03:30:12Z", "2026-12-04T03:30:09Z"]


def mysql(simulation: Simulation) -> Any:
    return next(r for r in simulation.of_type(DATABASE) if r.value("engine") == "mysql")


def account(*clusters: dict[str, Any], backups: list[str] = BACKUPS) -> OfflineCloud:
    """An account whose clusters are `clusters`, the first of them with `backups`."""
    listed = [
        {"id": f"{c['name']}-id", "engine": "mysql", "tags": [], "db_names": ["posts"]}
        | {"users": [{"name": "doadmin"}, {"name": "posts-root"}]}
        | c
        for c in clusters
    ]
    return OfflineCloud(listed, {listed[0]["id"]: [{"created_at": b} for b in backups]})


def restore(cloud: OfflineCloud, stack: str = "dev", **keys: str) -> Simulation:
    return run_stack(stack, {"restoreFrom": SOURCE, **keys}, cloud=cloud)


def refused(cloud: OfflineCloud, **keys: str) -> str:
    with pytest.raises(ConfigError) as caught:
        restore(cloud, **keys)
    return str(caught.value)


# -- the backups --------------------------------------------------------------------------------


def test_the_backup_window_and_binlog_retention_are_the_stacks(
    dev: Simulation, prod: Simulation
) -> None:
    for simulation, binlog in ((dev, 600), (prod, 3600)):
        config = simulation.one(MYSQL_CONFIG)
        assert (config.value("backupHour"), config.value("backupMinute")) == (3, 30)
        assert config.value("binlogRetentionPeriod") == binlog
    moved = run_stack("dev", {"mysqlBackupTime": "22:05"}).one(MYSQL_CONFIG)
    assert (moved.value("backupHour"), moved.value("backupMinute")) == (22, 5)


def test_storage_autoscaling_is_sent_on_or_off_on_mysql_only(
    dev: Simulation, prod: Simulation
) -> None:
    # Sent even when off: left out, turning it off would leave it on at DigitalOcean.
    assert mysql(dev).value("storageAutoscale") == {
        "enabled": False,
        "thresholdPercent": 80,
        "incrementGib": 10,
    }
    assert mysql(prod).value("storageAutoscale")["enabled"] is True
    valkey = next(r for r in prod.of_type(DATABASE) if r.value("engine") == "valkey")
    assert valkey.value("storageAutoscale") is None  # DigitalOcean offers it for MySQL, not Valkey


def test_a_stack_without_restore_from_creates_the_database_and_user(dev: Simulation) -> None:
    assert mysql(dev).value("backupRestore") is None
    assert len(dev.of_type(DATABASE_DB)) == len(dev.of_type(DATABASE_USER)) == 1


# -- a stack from a backup ----------------------------------------------------------------------


def test_restore_from_creates_mysql_from_the_latest_backup_and_takes_the_apps_user() -> None:
    simulation = restore(account({"name": SOURCE}))
    cluster = mysql(simulation)
    assert cluster.value("backupRestore") == {
        "databaseName": SOURCE,
        "backupCreatedAt": "2026-12-05T03:30:12Z",  # the latest, named so the preview shows it
    }
    assert cluster.value("tags") == ["posts", "posts-dev", f"restored-from:{SOURCE}"]
    assert cluster.ignore_changes == ["backupRestore"]
    # The backup brought the app's database and user: neither is created again.
    assert simulation.of_type(DATABASE_DB) == [] and simulation.of_type(DATABASE_USER) == []
    url = k8s(simulation, SECRET, "posts").value("stringData.DATABASE_URL")
    assert url.startswith("mysql://posts-root:mock-restored-p%40ssword@private-posts-dev-mysql")
    assert url.endswith("/posts?ssl-mode=REQUIRED")


def test_restore_backup_picks_one_of_the_sources_backups() -> None:
    chosen = restore(account({"name": SOURCE}), restoreBackup="2026-12-03T03:30:07Z")
    assert mysql(chosen).value("backupRestore.backupCreatedAt") == "2026-12-03T03:30:07Z"


def test_a_backup_that_is_not_one_of_the_sources_is_refused_listing_them() -> None:
    message = refused(account({"name": SOURCE}), restoreBackup="2026-12-05T12:00:00Z")
    assert (
        f"restoreBackup: '2026-12-05T12:00:00Z' is not one of the backups of '{SOURCE}'"
        " (DigitalOcean restores those, not an arbitrary moment); latest first:"
        " 2026-12-05T03:30:12Z, 2026-12-04T03:30:09Z, 2026-12-03T03:30:07Z"
    ) in message


def test_an_unknown_source_is_refused_naming_the_accounts_mysql_clusters() -> None:
    message = refused(account({"name": "posts-staging-mysql"}, {"name": "other-mysql"}))
    assert (
        f"restoreFrom: no database cluster named '{SOURCE}' in this DigitalOcean account (its"
        " MySQL clusters: other-mysql, posts-staging-mysql)"
    ) in message
    assert "1 bad config value(s)" in message


def test_a_source_that_is_not_mysql_or_has_no_backup_or_lacks_the_app_is_refused() -> None:
    assert f"restoreFrom: '{SOURCE}' is a valkey cluster" in refused(
        account({"name": SOURCE, "engine": "valkey"})
    )
    assert f"restoreFrom: '{SOURCE}' has no backup yet" in refused(
        account({"name": SOURCE}, backups=[])
    )
    lacking = refused(account({"name": SOURCE, "db_names": ["defaultdb"], "users": []}))
    assert f"restoreFrom: '{SOURCE}' holds no database 'posts'" in lacking
    assert f"restoreFrom: '{SOURCE}' has no user 'posts-root'" in lacking


def test_restore_from_on_a_stack_whose_mysql_exists_is_refused_not_ignored() -> None:
    existing = account({"name": SOURCE}, {"name": "posts-dev-mysql", "tags": ["posts-dev"]})
    message = refused(existing)
    assert (
        "restoreFrom: the stack's MySQL cluster 'posts-dev-mysql' already exists (was created"
        " empty); DigitalOcean restores a backup only into a cluster it creates (backup_restore"
        " acts at creation), so it would be ignored."
    ) in message
    other = account(
        {"name": SOURCE}, {"name": "posts-dev-mysql", "tags": ["restored-from:posts-old-mysql"]}
    )
    assert "(was created from 'posts-old-mysql')" in refused(other)


def test_a_stack_restored_from_its_source_keeps_the_setting_and_changes_nothing() -> None:
    restored = account(
        {"name": SOURCE}, {"name": "posts-dev-mysql", "tags": ["posts", f"restored-from:{SOURCE}"]}
    )
    simulation = restore(restored)
    cluster = mysql(simulation)
    assert cluster.value("backupRestore") == {"databaseName": SOURCE}
    assert cluster.ignore_changes == ["backupRestore"]
    assert f"restored-from:{SOURCE}" in cluster.value("tags")
    assert simulation.of_type(DATABASE_USER) == []


def test_offline_the_source_is_assumed_and_the_run_says_it_was_not_checked() -> None:
    simulation = run_stack("dev", {"restoreFrom": SOURCE})
    assert mysql(simulation).value("backupRestore.databaseName") == SOURCE
    assert any("were not checked against DigitalOcean" in w for w in simulation.warnings)


def test_every_restore_problem_comes_before_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[str] = []
    import pulumi

    original = pulumi.CustomResource.__init__

    def spy(self: Any, t: str, name: str, *args: Any, **kwargs: Any) -> None:
        registered.append(name)
        original(self, t, name, *args, **kwargs)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    refused(account({"name": "elsewhere-mysql"}))
    assert registered == []
