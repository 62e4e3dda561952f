"""The order check of the release scenario, on event logs whose order is known.

The real-engine proof (a program without the dependency fails the check) is in test_releases.py;
these pin down what the check reads.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.engine.events import changes, ordered_after

JOB = "urn:pulumi:dev::posts-infra::posts:app:Application$kubernetes:batch/v1:Job::app-job-migrate"
API = (
    "urn:pulumi:dev::posts-infra::posts:app:Application$kubernetes:apps/v1:Deployment::"
    "app-deployment-api"
)


def event(sequence: int, key: str, op: str, urn: str) -> dict[str, Any]:
    return {"sequence": sequence, key: {"metadata": {"op": op, "urn": urn, "type": "t"}}}


def test_a_dependent_changed_after_the_migration_ended_is_in_order() -> None:
    log = [
        event(1, "resourcePreEvent", "create-replacement", JOB),
        event(2, "resOutputsEvent", "create-replacement", JOB),
        event(3, "resourcePreEvent", "update", API),
        event(4, "resOutputsEvent", "update", API),
    ]
    assert ordered_after(log, "app-job-migrate", ["app-deployment-api"]) == []


def test_a_dependent_changed_while_the_migration_runs_is_reported() -> None:
    log = [
        event(1, "resourcePreEvent", "create-replacement", JOB),
        event(2, "resourcePreEvent", "update", API),
        event(3, "resOutputsEvent", "update", API),
        event(4, "resOutputsEvent", "create-replacement", JOB),
    ]
    (problem,) = ordered_after(log, "app-job-migrate", ["app-deployment-api"])
    assert "app-deployment-api: update started at event 2" in problem


def test_a_missing_migration_or_dependent_change_is_reported() -> None:
    log = [event(1, "resourcePreEvent", "same", API), event(2, "resOutputsEvent", "same", API)]
    assert ordered_after(log, "app-job-migrate", ["app-deployment-api"]) == [
        "app-job-migrate: no completed creation in the event log"
    ]
    with_job = [*log, event(3, "resOutputsEvent", "create-replacement", JOB)]
    assert ordered_after(with_job, "app-job-migrate", ["app-deployment-api"]) == [
        "app-deployment-api: no change in the event log"
    ]


def test_only_steps_that_change_something_count_as_changes() -> None:
    log = [
        event(1, "resourcePreEvent", "same", API),
        event(2, "resourcePreEvent", "read", JOB),
        event(3, "resourcePreEvent", "update", API),
    ]
    assert [(c.sequence, c.op) for c in changes(log)] == [(3, "update")]
