"""The app's autoscaling node pool on the real provider: created at its minimum; the autoscaler's
count is not drift; a change of its bounds keeps that count when deployed with `--refresh`.

The program sets no `node_count` (its docs: set it with auto_scale "only if the desired result is
to explicitly reset the number of nodes"). The create request then lacks `count`, a known
deviation from DigitalOcean's OpenAPI description (tests/e2e/digitalocean/prism.py); the pool
starts at min_nodes. But the provider's read of a `digitalocean_kubernetes_node_pool` stores the
pool's count, and its update sends what is stored: the count Pulumi last read. Without a refresh
that can be older than the autoscaler's and resets the pool to it; with `--refresh` it is the live
one.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.engine.environment import StackEnvironment, stack_setting

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
    (cluster,) = env.standin.state()["kubernetes_clusters"]
    app_pool = f"posts-dev-{stack_setting('dev', 'nodeSize')}"
    (create,) = [
        r for r in requests_to(env, "POST", "/node_pools") if r["body"]["name"] == app_pool
    ]
    requested = create["body"]
    assert "count" not in requested
    assert (requested["auto_scale"], requested["min_nodes"], requested["max_nodes"]) == (
        True,
        low,
        high,
    )
    # The cluster's own pool, with the cluster: one node of systemNodeSize, also without count.
    (cluster_create,) = [r for r in requests_to(env, "POST", POOLS) if r["path"] == POOLS]
    (own,) = cluster_create["body"]["node_pools"]
    assert (own["size"], own["min_nodes"], own["max_nodes"]) == (
        stack_setting("dev", "systemNodeSize"),
        1,
        1,
    )
    assert "count" not in own
    pool = next(p for p in cluster["node_pools"] if p["name"] == app_pool)
    assert pool["count"] == low

    # The autoscaler adds a node: not drift, nothing to change.
    env.standin.set_node_count(cluster["id"], pool["id"], high)
    env.workspace.pulumi("preview", "--refresh", "--expect-no-changes")

    def count() -> int:
        (found,) = env.standin.state()["kubernetes_clusters"]
        return int(next(p for p in found["node_pools"] if p["name"] == app_pool)["count"])

    # The provider reads the pool's count into its state and sends it with every update of the
    # pool: without a refresh, the count it last read (low), resetting the autoscaler's.
    env.workspace.set_config("maxNodes", str(high + 1))
    try:
        env.up()
        update = requests_to(env, "PUT", f"/node_pools/{pool['id']}")[-1]["body"]
        assert (update["count"], update["max_nodes"]) == (low, high + 1)
        assert count() == low, "the provider no longer resets the pool: docs/operations.md"
    finally:
        # With `--refresh` (as CI deploys), the count it sends is the autoscaler's: kept.
        env.standin.set_node_count(cluster["id"], pool["id"], high)
        env.workspace.set_config("maxNodes", str(high))
        env.up("--refresh")
        update = requests_to(env, "PUT", f"/node_pools/{pool['id']}")[-1]["body"]
        assert (update["count"], update["max_nodes"]) == (high, high)
        assert count() == high
