"""Releases on the real engine: the migration runs first, once, and a failed one stops the release.

The control plane's kwok Stage holds each migrate pod a few seconds before it succeeds, so that
"migrate completes before any workload changes" is visible in the engine's event log
(event sequence numbers, not wall-clock). Pods of `FAILING_TAG` fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.engine.environment import (
    FAILING_TAG,
    MIGRATE_JOB,
    NAMESPACE,
    RELEASED_WORKLOADS,
    StackEnvironment,
)
from tests.e2e.engine.events import changes, ordered_after, step_events
from tests.e2e.releases import images, migrate_jobs, release


@pytest.fixture
def dev(dev_env: StackEnvironment) -> Iterator[StackEnvironment]:
    """The deployed dev stack; each test leaves it at a release that succeeded."""
    dev_env.ensure_deployed()
    yield dev_env
    if dev_env.workspace.pulumi("config", "get", "imageTag").stdout.strip() != dev_env.release:
        release(dev_env, dev_env.release)


def test_a_release_migrates_first_then_rolls_every_workload(
    dev: StackEnvironment,
) -> None:
    previous = dev.release
    run = release(dev, "a1b2c3d")
    assert ordered_after(run.events, MIGRATE_JOB, RELEASED_WORKLOADS) == []
    job = dev.kubectl_json("get", "job", "migrate-a1b2c3d", "-n", NAMESPACE)
    assert job["status"].get("succeeded") == 1
    assert f"migrate-{previous}" not in migrate_jobs(dev), "the previous release's Job stays"
    for workload, used in images(dev).items():
        assert {image.rsplit(":", 1)[1] for image in used} == {"a1b2c3d"}, workload


def test_the_same_release_again_changes_nothing_and_migrates_nothing(
    dev: StackEnvironment,
) -> None:
    jobs_before = migrate_jobs(dev)
    run = release(dev, dev.release)
    assert step_events(run.events), "the event log recorded no step at all"
    assert changes(run.events) == []
    assert migrate_jobs(dev) == jobs_before


def test_the_order_check_fails_for_a_program_without_the_migration_dependency(
    dev: StackEnvironment,
) -> None:
    """Proof that the order check can fail: the same release without the dependency."""
    with dev.program_variant(
        "components/app/application.py",
        "after_migration: list[pulumi.Resource] = [self.migrate]",
        "after_migration: list[pulumi.Resource] = []",
    ):
        run = release(dev, "b2c3d4e")
    problems = ordered_after(run.events, MIGRATE_JOB, RELEASED_WORKLOADS)
    assert any(problem.startswith("app-deployment-api:") for problem in problems), problems


def test_a_failed_migration_fails_up_naming_the_job_and_the_release_keeps_running(
    dev: StackEnvironment,
) -> None:
    previous, running = dev.release, images(dev)
    run = release(dev, FAILING_TAG, check=False)
    assert run.returncode != 0
    assert f"migrate-{FAILING_TAG}" in run.output
    assert images(dev) == running
    job = dev.kubectl_json("get", "job", f"migrate-{FAILING_TAG}", "-n", NAMESPACE)
    assert job["status"].get("failed", 0) >= 1

    # Back to the release that runs: its migration runs again (nothing pending: a no-op for
    # Laravel); the workloads, which never left it, do not change.
    back = release(dev, previous)
    assert {c.name for c in changes(back.events)} == {MIGRATE_JOB}
    assert migrate_jobs(dev).keys() == {f"migrate-{previous}"}
    assert images(dev) == running


def test_rolling_back_migrates_with_the_previous_tag_and_returns_every_workload(
    dev: StackEnvironment,
) -> None:
    """docs/operations.md, "Rolling back a release": set the previous tag and `pulumi up`."""
    previous, running = dev.release, images(dev)
    release(dev, "c3d4e5f")
    back = release(dev, previous)
    # The previous release's migration runs again (nothing pending: a no-op for Laravel), and
    # completes before any workload returns to that release.
    assert ordered_after(back.events, MIGRATE_JOB, RELEASED_WORKLOADS) == []
    job = dev.kubectl_json("get", "job", f"migrate-{previous}", "-n", NAMESPACE)
    assert job["status"].get("succeeded") == 1
    assert migrate_jobs(dev).keys() == {f"migrate-{previous}"}
    assert images(dev) == running
    dev.workspace.pulumi("preview", "--expect-no-changes")
