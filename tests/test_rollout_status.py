"""The rollout check run after `pulumi up` (scripts/rollout-status): when a Deployment counts as
rolled out, how long it waits, and what it reads from the stack. On the real engine, against a
release whose pods never start and its rollback: tests/e2e/test_failed_rollouts.py."""

from __future__ import annotations

from typing import Any

import pytest

from ops.rollout_status import (
    CLUSTER,
    DEPLOYMENT,
    RolloutStatusError,
    not_rolled_out,
    targets_from_state,
    wait_for_rollouts,
)


def deployment(
    *,
    wanted: int = 4,
    generation: int = 3,
    observed: int = 3,
    replicas: int = 4,
    updated: int = 4,
    available: int = 4,
    progressing: str = "NewReplicaSetAvailable",
) -> dict[str, Any]:
    return {
        "metadata": {"name": "api", "namespace": "posts", "generation": generation},
        "spec": {"replicas": wanted},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": progressing},
            ],
        },
    }


def test_a_finished_rollout_is_rolled_out() -> None:
    assert not_rolled_out(deployment()) is None


def test_what_the_provider_took_for_a_finished_rollout_is_not() -> None:
    # The apply's own object: the new generation, the old status (docs/e2e.md).
    assert not_rolled_out(deployment(generation=4, observed=3)) == (
        "the controller has not yet seen generation 4"
    )


@pytest.mark.parametrize(
    ("replicas", "updated", "available", "says"),
    [
        (5, 1, 4, "1 of 4 pods run the latest template"),
        (5, 4, 4, "1 pod(s) of an older template still run"),
        (4, 4, 3, "3 of 4 updated pods available"),
    ],
)
def test_a_rollout_under_way_says_where_it_stands(
    replicas: int, updated: int, available: int, says: str
) -> None:
    state = deployment(replicas=replicas, updated=updated, available=available)
    assert not_rolled_out(state) == says


def test_an_exceeded_deadline_is_named() -> None:
    stuck = deployment(replicas=5, updated=1, progressing="ProgressDeadlineExceeded")
    assert str(not_rolled_out(stuck)).startswith("exceeded its progress deadline")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_it_waits_until_every_rollout_ends() -> None:
    clock = Clock()
    states = iter([deployment(updated=2, replicas=5), deployment(updated=3, replicas=5)])

    def read(namespace: str, name: str) -> dict[str, Any]:
        return next(states, deployment()) if name == "api" else deployment()

    pending = wait_for_rollouts(
        read, [("posts", "api"), ("posts", "nginx")], 60, clock=clock, sleep=clock.sleep
    )
    assert pending == {}
    assert clock.now == 4.0  # two polls of two seconds


def test_it_stops_at_the_timeout_and_names_what_is_not_rolled_out() -> None:
    clock = Clock()
    pending = wait_for_rollouts(
        lambda namespace, name: deployment(updated=1, replicas=5),
        [("posts", "api")],
        10,
        clock=clock,
        sleep=clock.sleep,
    )
    assert pending == {"posts/api": "1 of 4 pods run the latest template"}
    assert clock.now == 10.0


def test_it_stops_at_once_when_a_deadline_is_exceeded() -> None:
    clock = Clock()
    stuck = deployment(replicas=5, updated=1, progressing="ProgressDeadlineExceeded")
    pending = wait_for_rollouts(
        lambda namespace, name: stuck if name == "worker" else deployment(),
        [("posts", "api"), ("posts", "worker")],
        600,
        clock=clock,
        sleep=clock.sleep,
    )
    assert list(pending) == ["posts/worker"] and clock.now == 0.0


def test_the_deployments_and_the_cluster_come_from_the_stacks_state() -> None:
    exported = {
        "deployment": {
            "resources": [
                {"type": CLUSTER, "id": "doks-uuid"},
                *(
                    {"type": DEPLOYMENT, "outputs": {"metadata": {"namespace": "posts", "name": n}}}
                    for n in ("worker", "api")
                ),
                {"type": "kubernetes:batch/v1:Job", "outputs": {"metadata": {"name": "migrate"}}},
            ]
        }
    }
    target = targets_from_state(exported)
    assert target.cluster_id == "doks-uuid"
    assert target.deployments == (("posts", "api"), ("posts", "worker"))


def test_a_stack_not_deployed_is_said_plainly() -> None:
    with pytest.raises(RolloutStatusError, match="deploy the stack first"):
        targets_from_state({"deployment": {"resources": []}})
