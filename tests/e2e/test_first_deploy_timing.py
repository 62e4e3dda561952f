"""The first deploy on the real engine: the Gateway (and the load balancer DigitalOcean makes for
it, minutes) comes up while the application rolls out, not after it.

Read from the first `up`'s event log (sequence numbers). With the edge waiting for the whole
application (`depends_on=[app]`, as the program had it), the Gateway's creation started only
after every workload's, and this check failed.
"""

from __future__ import annotations

from tests.e2e.environment import StackEnvironment
from tests.e2e.events import ENDED, STARTED, step_events

GATEWAY = "edge-gateway"
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob")


def test_the_gateway_is_created_before_the_application_rollout_ends(
    env: StackEnvironment,
) -> None:
    steps = step_events(env.ensure_deployed().events)
    gateway = [s for s in steps if s.name == GATEWAY and s.op == "create"]
    gateway_ended = next(s.sequence for s in gateway if s.kind == ENDED)
    rollouts_ended = [s.sequence for s in steps if s.type in WORKLOAD_TYPES and s.kind == ENDED]
    assert len(rollouts_ended) == 5, "api, nginx, worker, frontend, scheduler"
    assert gateway_ended < max(rollouts_ended)
    # It started as soon as its namespace existed, before the migration even began.
    gateway_started = next(s.sequence for s in gateway if s.kind == STARTED)
    migration_started = next(
        s.sequence for s in steps if s.name == "app-job-migrate" and s.kind == STARTED
    )
    assert gateway_started < migration_started
