"""Alerts on the real engine (the prod stack): the uptime check through the public entry and its
alerts, the alert policies on the nodes (by the pool's tag) and on both databases, all created by
the stack's `pulumi up`; a threshold change updates the alert in place; a refresh finds no
drift (docs/operations.md, "Alerts")."""

from __future__ import annotations

from tests.e2e.engine.environment import StackEnvironment

EMAIL = {"email": ["alerts@example.com"], "slack": []}


def test_alerts_are_created_a_threshold_change_updates_in_place_and_a_refresh_finds_no_drift(
    prod_env: StackEnvironment,
) -> None:
    env = prod_env
    env.ensure_deployed()
    state = env.standin.state()
    address = env.workspace.outputs()["publicAddress"]
    (check,) = state["uptime_checks"]
    assert {k: v for k, v in check.items() if k not in ("id", "regions")} == {
        "name": "posts-prod /api/health-check",
        "type": "http",
        "target": f"http://{address}/api/health-check",
        "enabled": True,
    }
    assert sorted(check["regions"]) == ["eu_west", "us_east"]  # a set to the provider
    alerts = {a["type"]: a for a in state["uptime_alerts"]}
    assert set(alerts) == {"down", "latency"}
    assert all(
        a["check_id"] == check["id"] and a["notifications"] == EMAIL for a in alerts.values()
    )
    assert (alerts["down"]["period"], alerts["latency"]["threshold"]) == ("2m", 2000)

    policies = {p["type"].rsplit("/", 1)[1]: p for p in state["alert_policies"]}
    databases = {d["id"] for d in state["databases"]}
    for metric, value in (("cpu", 80), ("memory_utilization_percent", 90),
                          ("disk_utilization_percent", 80)):  # fmt: skip
        node = policies[metric]
        assert (node["tags"], node["entities"], node["value"], node["window"]) == (
            ["posts-prod"],
            [],
            value,
            "5m",
        )
    for metric in ("cpu_alerts", "memory_utilization_alerts", "disk_utilization_alerts"):
        assert set(policies[metric]["entities"]) == databases and policies[metric]["tags"] == []
    # The pool's tag is on every node of the cluster: what the node alerts aim at.
    (cluster,) = state["kubernetes_clusters"]
    status, tagged = env.standin.api("GET", "/v2/droplets?tag_name=posts-prod")
    assert status == 200
    nodes = [d for d in tagged["droplets"] if f"k8s:{cluster['id']}" in d["tags"]]
    assert len(nodes) == sum(pool["count"] for pool in cluster["node_pools"]) > 0

    since = len(env.standin.requests())
    env.workspace.set_configs({"nodeCpuPercent": "70", "uptimeLatencyMs": "1500"})
    try:
        env.up()
        changed = sorted(
            f"{r['method']} {r['path']}"
            for r in env.standin.requests()[since:]
            if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
        )
        cpu, latency = policies["cpu"], alerts["latency"]
        assert changed == sorted([
            f"PUT /v2/monitoring/alerts/{cpu['uuid']}",
            f"PUT /v2/uptime/checks/{check['id']}/alerts/{latency['id']}",
        ]), changed  # fmt: skip
        after = env.standin.state()
        assert {p["uuid"]: p["value"] for p in after["alert_policies"]}[cpu["uuid"]] == 70
        assert {a["id"]: a["threshold"] for a in after["uptime_alerts"]}[latency["id"]] == 1500
        env.workspace.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")
        env.workspace.pulumi("preview", "--expect-no-changes")
    finally:
        env.workspace.remove_config("nodeCpuPercent")
        env.workspace.remove_config("uptimeLatencyMs")
        env.up()
