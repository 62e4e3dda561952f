"""The autoscaling node pool on the real provider: created at its minimum, and a later change of
its bounds never resets the count the autoscaler chose.

The program sets no `node_count`: the provider would send it on every pool update, resetting an
autoscaled pool to it (its docs: set it with auto_scale "only if the desired result is to
explicitly reset the number of nodes"). The create request then lacks `count`, a known deviation
from DigitalOcean's OpenAPI description (tests/e2e/prism.py); the pool starts at min_nodes.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.environment import StackEnvironment, stack_setting

POOLS = "/v2/kubernetes/clusters"


def requests_to(env: StackEnvironment, method: str, suffix: str) -> list[dict[str, Any]]:
    return [
        r
        for r in env.standin.requests()
        if r["method"] == method and r["path"].startswith(POOLS) and r["path"].endswith(suffix)
    ]


def test_the_pool_starts_at_its_minimum_and_a_bounds_change_keeps_the_autoscaled_count(
    dev_env: StackEnvironment,
) -> None:
    env = dev_env
    env.ensure_deployed()
    low, high = int(stack_setting("dev", "minNodes")), int(stack_setting("dev", "maxNodes"))
    (create,) = [r for r in requests_to(env, "POST", POOLS) if r["path"] == POOLS]
    (requested,) = create["body"]["node_pools"]
    assert "count" not in requested
    assert (requested["auto_scale"], requested["min_nodes"], requested["max_nodes"]) == (
        True,
        low,
        high,
    )
    (cluster,) = env.standin.state()["kubernetes_clusters"]
    (pool,) = cluster["node_pools"]
    assert pool["count"] == low

    # The autoscaler adds a node: not drift, nothing to change.
    env.standin.set_node_count(cluster["id"], pool["id"], high)
    env.workspace.pulumi("preview", "--refresh", "--expect-no-changes")

    env.workspace.set_config("maxNodes", str(high + 1))
    try:
        env.up()
        update = requests_to(env, "PUT", f"/node_pools/{pool['id']}")[-1]["body"]
        assert "count" not in update
        assert update["max_nodes"] == high + 1
        (cluster,) = env.standin.state()["kubernetes_clusters"]
        assert cluster["node_pools"][0]["count"] == high, "the update reset the autoscaled pool"
    finally:
        env.workspace.set_config("maxNodes", str(high))
        env.up()
