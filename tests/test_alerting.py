"""Knowing when production breaks: the uptime check through the public entry, its alerts, the
alerts on the nodes and the databases, who they tell, and what a threshold change does."""

from __future__ import annotations

import pytest

from config.settings import ConfigError
from offline.cost import estimate
from offline.simulate import Registration, Simulation, redact, reveal, run_stack, secret_paths
from tests.kinds import (
    DATABASE,
    DOKS,
    GATEWAY,
    MONITOR_ALERT,
    STASH,
    UPTIME_ALERT,
    UPTIME_CHECK,
)

TLS = {"hostname": "posts.example.com", "tls": "true", "tlsEmail": "ops@example.com"}
WEBHOOK = "https://hooks.slack.com/services/T000/B000/secret-part"


def alerts_by_name(simulation: Simulation, type_: str) -> dict[str, Registration]:
    return {r.name: r for r in simulation.of_type(type_)}


def test_the_uptime_check_goes_through_the_public_entry_from_two_regions(dev: Simulation) -> None:
    check = dev.one(UPTIME_CHECK)
    # No hostname: the Gateway's load balancer address (the mock's TEST-NET-3 address).
    assert check.value("target") == "http://203.0.113.10/api/health-check"
    assert check.value("type") == "http"
    assert check.value("regions") == ["us_east", "eu_west"]
    assert check.value("enabled") is True
    # It starts once the public entry and the app are there: a first deploy is no outage.
    assert dev.depends_on(check, dev.one(GATEWAY))
    assert any(urn.endswith("Deployment::app-deployment-api") for urn in check.dependencies)


def test_with_tls_the_check_is_https_on_the_hostname_and_the_certificate_is_watched() -> None:
    tls = run_stack("prod", TLS)
    check = tls.one(UPTIME_CHECK)
    assert (check.value("type"), check.value("target")) == (
        "https",
        "https://posts.example.com/api/health-check",
    )
    expiry = alerts_by_name(tls, UPTIME_ALERT)["monitoring-uptime-tls-expiry"]
    assert (expiry.value("type"), expiry.value("comparison"), expiry.value("threshold")) == (
        "ssl_expiry",
        "less_than",
        21,
    )


def test_down_and_latency_alerts_take_their_thresholds_and_periods_from_the_stack(
    dev: Simulation, prod: Simulation
) -> None:
    for simulation, down_period, latency_ms in ((dev, "5m", 3000), (prod, "2m", 2000)):
        alerts = alerts_by_name(simulation, UPTIME_ALERT)
        assert sorted(alerts) == ["monitoring-uptime-down", "monitoring-uptime-latency"]
        down, latency = alerts["monitoring-uptime-down"], alerts["monitoring-uptime-latency"]
        assert (down.value("type"), down.value("period")) == ("down", down_period)
        assert (latency.value("type"), latency.value("comparison")) == ("latency", "greater_than")
        assert (latency.value("threshold"), latency.value("period")) == (latency_ms, "5m")
        check = simulation.one(UPTIME_CHECK)
        assert {a.property_dependencies["checkId"][0] for a in alerts.values()} == {check.urn}
        for alert in alerts.values():
            assert alert.value("notifications") == [{"emails": ["alerts@example.com"]}]


def test_node_alerts_are_aimed_through_the_pools_tag(dev: Simulation, prod: Simulation) -> None:
    for simulation, window in ((dev, "30m"), (prod, "5m")):
        alerts = alerts_by_name(simulation, MONITOR_ALERT)
        pool_tags = simulation.one(DOKS).value("nodePool.tags")
        expected = {
            "monitoring-node-cpu": ("v1/insights/droplet/cpu", 80),
            "monitoring-node-memory": ("v1/insights/droplet/memory_utilization_percent", 90),
            "monitoring-node-disk": ("v1/insights/droplet/disk_utilization_percent", 80),
        }
        for name, (type_, threshold) in expected.items():
            alert = alerts[name]
            (tag,) = alert.value("tags")
            assert tag == f"posts-{simulation.stack}" and tag in pool_tags
            assert alert.value("entities") is None  # the provider refuses an empty list
            assert (alert.value("type"), alert.value("value")) == (type_, threshold)
            assert (alert.value("compare"), alert.value("window")) == ("GreaterThan", window)
            assert alert.value("alerts") == {"emails": ["alerts@example.com"]}


def test_database_alerts_cover_mysql_and_valkey(dev: Simulation) -> None:
    alerts = alerts_by_name(dev, MONITOR_ALERT)
    clusters = {r.value("engine"): r.urn for r in dev.of_type(DATABASE)}
    for metric, threshold in (("cpu", 80), ("memory", 90), ("disk", 80)):
        alert = alerts[f"monitoring-database-{metric}"]
        assert alert.value("type").startswith("v1/dbaas/alerts/")
        assert alert.value("value") == threshold and alert.value("window") == "30m"
        # Aimed at both clusters' IDs (the mocks' IDs are "<name>-id").
        assert alert.value("entities") == ["mysql-cluster-id", "cache-cluster-id"]
        assert set(alert.property_dependencies["entities"]) == set(clusters.values())
        assert alert.value("tags") is None


def test_a_threshold_change_changes_only_that_alerts_value_in_place(dev: Simulation) -> None:
    changed = run_stack("dev", {"nodeCpuPercent": "65", "databaseAlertWindow": "1h"})
    before, after = alerts_by_name(dev, MONITOR_ALERT), alerts_by_name(changed, MONITOR_ALERT)
    assert sorted(before) == sorted(after)  # same logical names: updates, not replacements
    assert after["monitoring-node-cpu"].value("value") == 65
    assert {a.value("window") for n, a in after.items() if "database" in n} == {"1h"}
    untouched = ("monitoring-node-memory", "monitoring-node-disk")
    assert all(reveal(before[n].inputs) == reveal(after[n].inputs) for n in untouched)


def test_slack_gets_the_channel_and_the_webhook_as_a_secret() -> None:
    simulation = run_stack(
        "dev", {"alertSlackChannel": "#posts-alerts"}, {"alertSlackWebhook": WEBHOOK}
    )
    # Pulumi marks the whole property holding a secret as secret: the targets show as [secret].
    for alert in simulation.of_type(MONITOR_ALERT):
        (slack,) = alert.value("alerts.slacks")
        assert slack == {"channel": "#posts-alerts", "url": WEBHOOK}
        assert secret_paths(alert.inputs) == ["alerts"]
    for alert in simulation.of_type(UPTIME_ALERT):
        assert alert.value("notifications.0.slacks.0.url") == WEBHOOK
        assert secret_paths(alert.inputs) == ["notifications"]
    everything = str([redact(r.inputs) for r in simulation.registrations])
    assert WEBHOOK not in everything and "secret-part" not in everything


@pytest.mark.parametrize(
    "webhook", ["http://hooks.slack.com/services/T0/B0/secret-part", "hooks.slack.com/secret-part"]
)
def test_a_webhook_that_is_not_https_is_refused_without_showing_it(webhook: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {"alertSlackChannel": "#posts-alerts"}, {"alertSlackWebhook": webhook})
    assert "alertSlackWebhook: is not an https URL" in str(caught.value)
    assert "secret-part" not in str(caught.value)


def test_a_webhook_in_plain_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="alertSlackWebhook: must be stored encrypted"):
        run_stack("dev", {"alertSlackChannel": "#ops", "alertSlackWebhook": WEBHOOK})


def test_alerting_off_creates_none_of_it_and_costs_nothing() -> None:
    off = run_stack("dev", {"alerting": "false"})
    for type_ in (UPTIME_CHECK, UPTIME_ALERT, MONITOR_ALERT):
        assert off.of_type(type_) == []
    assert not any("uptime" in line.item for line in estimate(off).lines)


def test_alerting_with_nobody_to_tell_keeps_the_check_warns_and_creates_no_alert() -> None:
    nobody = run_stack("dev", {"alertEmails": "[]"})
    assert len(nobody.of_type(UPTIME_CHECK)) == 1
    assert nobody.of_type(UPTIME_ALERT) == [] and nobody.of_type(MONITOR_ALERT) == []
    assert any(w.startswith("alerting: nobody is told") for w in nobody.warnings)


def test_the_cost_lists_the_check_and_the_policies_with_their_sources(dev: Simulation) -> None:
    cost = estimate(dev)
    items = {line.item: (line.at_min, line.at_max) for line in cost.lines}
    assert items["uptime check x 1, with 2 alert(s) at no charge"] == (1.0, 1.0)
    assert items["monitoring alert policies x 6"] == (0.0, 0.0)
    text = cost.markdown()
    assert "https://docs.digitalocean.com/products/uptime/details/" in text
    assert "DigitalOcean Monitoring is provided at no additional cost" in text


def test_a_protected_stack_guards_its_alerts_from_destroy(dev: Simulation) -> None:
    guard = dev.one(STASH)
    watched = {r.urn for t in (UPTIME_CHECK, UPTIME_ALERT, MONITOR_ALERT) for r in dev.of_type(t)}
    assert watched and watched <= set(guard.dependencies)
