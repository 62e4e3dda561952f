"""The first deploy on the real engine, in time: a slow cloud is waited for, and the Gateway (and
the load balancer DigitalOcean makes for it, minutes) comes up while the application rolls out.

Read from the first `up`'s event log (sequence numbers) and the stand-in's request log (what each
of the provider's reads was answered), never from wall time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tests.e2e.engine.environment import (
    CLUSTER_PROVISIONING_POLLS,
    DATABASE_CREATING_POLLS,
    NAMESPACE,
    StackEnvironment,
)
from tests.e2e.engine.events import ENDED, STARTED, step_events

GATEWAY = "edge-gateway"
CLUSTER = "cluster-doks"
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob")


def gateway_timing_problems(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Problems with "the Gateway's creation starts before the migration, and ends before the
    last workload's rollout" in one `up`'s events; empty when it holds."""
    steps = step_events(events)
    gateway = [s for s in steps if s.name == GATEWAY and s.op in ("create", "create-replacement")]
    rollouts_ended = [s.sequence for s in steps if s.type in WORKLOAD_TYPES and s.kind == ENDED]
    migration = [s.sequence for s in steps if s.name == "app-job-migrate" and s.kind == STARTED]
    if not gateway or not rollouts_ended or not migration:
        return ["the Gateway, a rollout or the migration is missing from the event log"]
    problems = []
    gateway_started = min(s.sequence for s in gateway if s.kind == STARTED)
    gateway_ended = max(s.sequence for s in gateway if s.kind == ENDED)
    if gateway_ended > max(rollouts_ended):
        problems.append(f"the Gateway ended (event {gateway_ended}) after every rollout")
    if gateway_started > min(migration):
        problems.append(f"the Gateway started (event {gateway_started}) after the migration")
    return problems


def test_the_gateway_is_created_before_the_application_rollout_ends(
    env: StackEnvironment,
) -> None:
    events = env.ensure_deployed().events
    steps = step_events(events)
    rollouts = {s.name for s in steps if s.type in WORKLOAD_TYPES and s.kind == ENDED}
    assert len(rollouts) == 5, "api, nginx, worker, frontend, scheduler"
    assert gateway_timing_problems(events) == []


def test_a_slow_cloud_is_waited_for_and_nothing_reaches_the_cluster_before_it_runs(
    env: StackEnvironment,
) -> None:
    run = env.ensure_deployed()
    requests = env.standin.requests()[env.first_requests :]
    (cluster,) = [c for c in env.standin.state()["kubernetes_clusters"]]
    cluster_path = f"/v2/kubernetes/clusters/{cluster['id']}"
    polls = [r for r in requests if r["method"] == "GET" and r["path"] == cluster_path]
    states = [r["observed"] for r in polls]
    assert states[: CLUSTER_PROVISIONING_POLLS + 1] == [
        *["provisioning"] * CLUSTER_PROVISIONING_POLLS,
        "running",
    ], states
    for database in env.standin.state()["databases"]:
        path = f"/v2/databases/{database['id']}"
        answered = [r["observed"] for r in requests if r["method"] == "GET" and r["path"] == path]
        assert answered[: DATABASE_CREATING_POLLS + 1] == [
            *["creating"] * DATABASE_CREATING_POLLS,
            "online",
        ], (database["name"], answered)

    # The stand-in's log: the credentials (what the Kubernetes provider needs) were asked for
    # only after the cluster first answered "running".
    running_at = next(
        i for i, r in enumerate(requests) if r in polls and r["observed"] == "running"
    )
    credentials = [
        i for i, r in enumerate(requests) if r["path"].startswith(f"{cluster_path}/credentials")
    ]
    assert credentials and min(credentials) > running_at
    # The event log: no Kubernetes object's step started before the cluster's creation ended.
    steps = step_events(run.events)
    cluster_created = next(
        s.sequence for s in steps if s.name == CLUSTER and s.kind == ENDED and s.op == "create"
    )
    first_object = min(
        s.sequence for s in steps if s.type.startswith("kubernetes:") and s.kind == STARTED
        and not s.type.startswith("kubernetes:providers")  # the provider object is configuration
    )  # fmt: skip
    assert cluster_created < first_object
    # And the API server: its first object of the app was made after that "running" answer
    # (both clocks in whole seconds, so not earlier in the same second).
    namespace = env.kubectl_json("get", "namespace", NAMESPACE)
    assert namespace["metadata"]["creationTimestamp"] >= requests[running_at]["at"]


def test_the_timing_check_fails_for_a_gateway_that_waits_for_the_application(
    prod_env: StackEnvironment,
) -> None:
    """Proof that the timing check can fail: `depends_on=[app]` (as the program once had it),
    with a change that recreates the Gateway (a new name) and a release, so that both happen in
    one `up`. On the prod stack (its worker has the time); put back afterwards."""
    env = prod_env
    env.ensure_deployed()
    previous = env.release
    renamed = ('GATEWAY_NAME = "posts"', 'GATEWAY_NAME = "posts-x"')
    with (
        env.program_variant("__main__.py", "depends_on=[app.namespace]", "depends_on=[app]"),
        env.program_variant("components/app/edge.py", *renamed),
    ):
        env.workspace.set_config("imageTag", "d5e6f7a")
        variant = env.up()
    problems = gateway_timing_problems(variant.events)
    assert any("after every rollout" in p for p in problems), problems
    env.workspace.set_config("imageTag", previous)
    env.up()
    env.workspace.pulumi("preview", "--expect-no-changes")
