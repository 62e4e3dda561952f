"""A release is one image tag: its migration runs once, before the new code serves traffic."""

from __future__ import annotations

import pytest

from components.app.workloads.migrate import migrate_job_name
from offline.simulate import Simulation, run_stack
from tests.k8s import k8s, only_container, pod_template
from tests.kinds import CRON_JOB, DEPLOYMENT, JOB


def test_migrate_runs_artisan_migrate_once_without_retries(dev: Simulation) -> None:
    job = dev.one(JOB)
    assert job.value("metadata.name") == "migrate-3f9c2e7"
    spec = job.value("spec")
    assert spec["backoffLimit"] == 0
    assert pod_template(job)["spec"]["restartPolicy"] == "Never"
    assert "ttlSecondsAfterFinished" not in spec, "a deleted Job would make Pulumi re-run it"
    assert only_container(job)["command"] == ["php", "/usr/src/artisan", "migrate", "--force"]


def test_a_new_tag_is_a_new_job_and_the_same_tag_the_same_job(dev: Simulation) -> None:
    same = run_stack("dev").one(JOB)
    new = run_stack("dev", {"imageTag": "9a8b7c6"}).one(JOB)
    job = dev.one(JOB)
    # same logical resource (so Pulumi replaces it), different Kubernetes name (so it runs again)
    assert new.urn == job.urn
    assert new.value("metadata.name") == "migrate-9a8b7c6"
    assert new.inputs != job.inputs
    # the same release: identical inputs, so no diff and no second run
    assert same.inputs == job.inputs


def test_a_release_deletes_the_previous_job_before_creating_its_own(dev: Simulation) -> None:
    """Otherwise a failed release keeps the previous Job, and rolling back to that release
    collides with it: the real engine refuses with `migrate-<tag>` already exists."""
    assert dev.one(JOB).delete_before_replace


def test_changing_settings_does_not_rerun_the_migration(dev: Simulation) -> None:
    changed = run_stack("dev", {"appSettings": '["LOG_LEVEL=debug"]'}, {"appKey": "base64:new"})
    assert changed.one(JOB).inputs == dev.one(JOB).inputs


@pytest.mark.parametrize("workload", ["api", "worker", "nginx", "frontend"])
def test_a_release_rolls_out_only_after_the_migration(dev: Simulation, workload: str) -> None:
    """api and worker: new code never meets an old schema; nginx and the frontend: a failed
    migration leaves the whole app on the previous release."""
    assert dev.depends_on(k8s(dev, DEPLOYMENT, workload), dev.one(JOB))


def test_scheduler_waits_for_the_migration_too(dev: Simulation) -> None:
    assert dev.depends_on(k8s(dev, CRON_JOB, "scheduler"), dev.one(JOB))


def test_scheduler_moves_only_after_the_api_and_the_worker_rolled_out(dev: Simulation) -> None:
    """A CronJob has no rollout that could fail: on a release whose servers never become ready
    it would run the next minute's schedule on that release. It waits for their rollouts."""
    scheduler = k8s(dev, CRON_JOB, "scheduler")
    assert dev.depends_on(scheduler, k8s(dev, DEPLOYMENT, "api"))
    assert dev.depends_on(scheduler, k8s(dev, DEPLOYMENT, "worker"))
    assert not dev.depends_on(scheduler, k8s(dev, DEPLOYMENT, "nginx"))


def test_migration_waits_for_its_settings_and_secret(dev: Simulation) -> None:
    job = dev.one(JOB)
    assert any(r.urn in job.dependencies for r in dev.of_type("kubernetes:core/v1:Secret"))
    assert any(r.urn in job.dependencies for r in dev.of_type("kubernetes:core/v1:ConfigMap"))


def test_migration_is_awaited_not_skipped(dev: Simulation) -> None:
    """Pulumi waits for a Job to complete (and fails, naming it, when it fails) unless told
    to skip; the wait is bounded by the configured timeout."""
    job = dev.one(JOB)
    annotations = job.value("metadata.annotations") or {}
    assert "pulumi.com/skipAwait" not in annotations
    assert job.value("spec.activeDeadlineSeconds") == 600


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("3f9c2e7", "migrate-3f9c2e7"),
        ("v1.2.3", "migrate-v1-2-3-"),
        ("Release_7", "migrate-release-7-"),
        ("a" * 64, "migrate-" + "a" * 40 + "-"),
    ],
)
def test_job_names_are_valid_and_distinct_for_any_tag(tag: str, name: str) -> None:
    job_name = migrate_job_name(tag)
    assert job_name.startswith(name)
    assert len(job_name) <= 63
    assert job_name == job_name.lower()
    assert migrate_job_name(tag + "x") != job_name
