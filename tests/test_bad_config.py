"""What bad stack config gets: one clear error naming every bad key, before any resource."""

from __future__ import annotations

import pytest

from config.schema import KEYS
from config.settings import ConfigError
from offline.simulate import run_stack

BAD_CONFIGS = [
    ({"region": "mars1"}, "region: 'mars1' is not one of: nyc1, nyc3"),
    ({"nodeSize": "s-64vcpu-1tb"}, "nodeSize: 's-64vcpu-1tb' is not one of: s-1vcpu-2gb"),
    ({"minNodes": "0"}, "minNodes: 0 is below 1"),
    ({"minNodes": "3", "maxNodes": "2"}, "maxNodes: 2 is below minNodes (3)"),
    ({"maxNodes": "many"}, "maxNodes: 'many' is not a whole number"),
    ({"kubernetesVersionPrefix": "1.36"}, "kubernetesVersionPrefix: '1.36' is not of the form"),
    ({"kubernetesVersionPrefix": "v1.36."}, "kubernetesVersionPrefix: 'v1.36.' is not of the form"),
    ({"databaseAdminSources": '["10.0.0.300"]'}, "databaseAdminSources: '10.0.0.300' is not"),
    ({"databaseAdminSources": '["203.0.113.7/24"]'}, "'203.0.113.7/24' is not an IPv4 address"),
    ({"databaseAdminSources": '["0.0.0.0/0"]'}, "would open the databases to the world"),
    ({"databaseAdminSources": "203.0.113.7"}, "databaseAdminSources: expected a YAML list"),
    ({"cacheEngine": "memcached"}, "cacheEngine: 'memcached' is not one of: valkey"),
    ({"cacheEngine": "redis"}, "cacheEngine: DigitalOcean ended Managed Redis on 2025-06-30"),
    ({"cacheVersion": "7"}, "cacheVersion: '7' is not one of: 8"),
    ({"mysqlVersion": "5.7"}, "mysqlVersion: '5.7' is not one of: 8"),
    ({"mysqlSize": "db-s-1vcpu-1gb", "mysqlNodeCount": "2"}, "cannot have standby nodes"),
    ({"mysqlNodeCount": "4"}, "mysqlNodeCount: 4 is not 1, 2 or 3"),
    ({"haControlPlane": "yes"}, "haControlPlane: 'yes' is not true or false"),
    ({"maintenanceDay": "caturday"}, "maintenanceDay: 'caturday' is not one of"),
    ({"maintenanceStartTime": "25:00"}, "maintenanceStartTime: '25:00' is not a 24-hour time"),
    ({"vpcIpRange": "10.110.0.1/20"}, "vpcIpRange: '10.110.0.1/20' is not an IPv4 CIDR"),
    ({"vpcIpRange": "8.8.0.0/20"}, "vpcIpRange: '8.8.0.0/20' is not a private IPv4 range"),
    ({"vpcIpRange": "10.0.0.0/8"}, "vpcIpRange: /8 is outside DigitalOcean's /16 to /28"),
    ({"serviceSubnet": "172.16.128.0/19"}, "serviceSubnet: 172.16.128.0/19 overlaps clusterSubnet"),
    ({"kubernetesAuth": "password"}, "kubernetesAuth: 'password' is not one of: token, doctl"),
    ({"minNode": "1"}, "minNode: unknown key (did you mean 'minNodes'?)"),
    ({"digitalocean:token": "dop_v1_plain"}, "digitalocean:token: stored in plain text"),
    ({"digitalocean:token": None}, "kubernetesAuth: 'token' needs the DigitalOcean API token"),
    ({"imageTag": "latest"}, "imageTag: 'latest' is a moving tag"),
    ({"imageTag": None}, "imageTag: required"),
    ({"imageTag": "bad tag!"}, "imageTag: 'bad tag!' is not a Docker tag"),
    ({"imageRegistry": "Docker.io/Me"}, "imageRegistry: 'Docker.io/Me' is not a registry"),
    ({"imageNames": '["db=posts-db"]'}, "imageNames: 'db=posts-db' is not `workload=name`"),
    ({"appKey": None}, "appKey: required; Laravel APP_KEY"),
    ({"appSettings": '["lower=x"]'}, "appSettings: 'lower=x' is not `KEY=value`"),
    ({"namespace": "default"}, "namespace: 'default' is not a DNS label of its own"),
    ({"apiMinReplicas": "9"}, "apiMaxReplicas: 8 is below apiMinReplicas (9)"),
    ({"apiCpuTargetPercent": "500"}, "apiCpuTargetPercent: 500 is not between 10 and 100"),
    ({"workerReplicas": "0"}, "workerReplicas: 0 is below 1"),
    ({"workerQueues": "a b"}, "workerQueues: 'a b' is not a comma-separated list"),
    ({"apiResources": "1/2/3"}, "apiResources: '1/2/3' is not `cpu/memory/memoryLimit`"),
    ({"apiResources": "250m/512Mi/256Mi"}, "memory limit 256Mi is below the request 512Mi"),
    ({"hostname": "Posts.Example"}, "hostname: 'Posts.Example' is not a lowercase DNS name"),
    ({"dnsDomain": "example.com"}, "dnsDomain: needs hostname"),
    ({"hostname": "a.example.org", "dnsDomain": "example.com"}, "is not inside 'example.com'"),
    ({"tls": "true"}, "tls: needs hostname"),
    ({"tls": "true", "hostname": "a.example.com"}, "tlsEmail: an e-mail address is required"),
    # alerting
    ({"nodeAlertWindow": "15m"}, "nodeAlertWindow: '15m' is not one of: 5m, 10m, 30m, 1h"),
    ({"databaseAlertWindow": "1d"}, "databaseAlertWindow: '1d' is not one of: 5m, 10m, 30m, 1h"),
    ({"uptimeDownPeriod": "1m"}, "uptimeDownPeriod: '1m' is not one of: 2m, 3m, 5m, 10m"),
    ({"nodeCpuPercent": "150"}, "nodeCpuPercent: 150 is not between 1 and 99"),
    ({"databaseDiskPercent": "0"}, "databaseDiskPercent: 0 is not between 1 and 99"),
    ({"uptimeLatencyMs": "20"}, "uptimeLatencyMs: 20 is not between 100 and 30000"),
    ({"tlsExpiryDays": "45"}, "tlsExpiryDays: 45 is not between 1 and 29"),
    (
        {"alertEmails": '["ops at example.com"]'},
        "alertEmails: 'ops at example.com' is not an e-mail",
    ),
    ({"alertEmails": '["a@x.io", "A@x.io"]'}, "alertEmails: 'A@x.io' is listed twice"),
    ({"uptimeRegions": '["us_east"]'}, "uptimeRegions: needs at least two regions"),
    ({"uptimeRegions": '["us_east", "mars"]'}, "uptimeRegions: 'mars' is not an Uptime region"),
    ({"alertSlackChannel": "#ops"}, "alertSlackWebhook: alertSlackChannel needs the channel's"),
    # backups and restores
    ({"mysqlBackupTime": "3:30"}, "mysqlBackupTime: '3:30' is not a 24-hour time HH:MM"),
    ({"mysqlBinlogRetentionSeconds": "60"}, "mysqlBinlogRetentionSeconds: 60 is not between 600"),
    ({"mysqlStorageAutoscalePercent": "99"}, "mysqlStorageAutoscalePercent: 99 is not between 15"),
    ({"mysqlStorageAutoscaleIncrementGib": "5"}, "mysqlStorageAutoscaleIncrementGib: 5 is not"),
    ({"restoreFrom": "Posts_Prod"}, "restoreFrom: 'Posts_Prod' is not a database cluster name"),
    (
        {"restoreFrom": "posts-prod-mysql", "restoreBackup": "yesterday"},
        "restoreBackup: 'yesterday'",
    ),
    ({"restoreBackup": "2026-12-05T03:30:12Z"}, "restoreBackup: needs restoreFrom"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_each_bad_value_is_named_with_what_is_accepted(
    overrides: dict[str, str | None], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides)
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once_before_any_resource() -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {"region": "mars1", "minNodes": "0", "cacheEngine": "redis"})
    error = caught.value
    assert len(error.problems) == 3
    text = str(error)
    assert "stack 'dev' has 3 bad config value(s); nothing was changed" in text
    for key in ("region", "minNodes", "cacheEngine"):
        assert f"  - {key}:" in text


def test_config_error_is_a_run_error_so_the_cli_prints_no_traceback() -> None:
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)


def test_no_resource_is_registered_for_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from offline import simulate

    captured: list[simulate.Registration] = []
    original = simulate._make_monitor
    monkeypatch.setattr(
        simulate, "_make_monitor", lambda mocks, registrations: original(mocks, captured)
    )
    with pytest.raises(ConfigError):
        run_stack("dev", {"region": "mars1"})
    assert captured == []


LIMITED = [
    (key.name, value, message)
    for key in KEYS
    for value, message in (
        *([(str(key.minimum - 1), f"{key.minimum - 1} is")] if key.minimum is not None else []),
        *([(str(key.maximum + 1), f"{key.maximum + 1} is")] if key.maximum is not None else []),
        *(
            [("not-a-value", f"'not-a-value' is not one of: {', '.join(key.allowed)}")]
            if key.allowed
            else []
        ),
    )
]


@pytest.mark.parametrize(
    ("key", "value", "message"), LIMITED, ids=[f"{k}={v}" for k, v, _ in LIMITED]
)
def test_every_limit_on_a_keys_schema_entry_is_enforced(key: str, value: str, message: str) -> None:
    """Minimums, maximums and allowed values live on the key's entry in config/schema.py; a
    value outside them is that key's one problem (the checks that read it wait)."""
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {key: value})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{key}: {message}")


def test_the_schema_carries_the_limits() -> None:
    """A guard on the test above: it checks the limits the schema has."""
    names = {key for key, _, _ in LIMITED}
    assert {"minNodes", "maxNodes", "apiCpuTargetPercent", "region", "nodeSize"} <= names


def test_a_check_across_keys_waits_until_each_of_its_keys_is_good() -> None:
    """maxNodes >= minNodes is not checked while maxNodes is no number (its default would
    make the message wrong)."""
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {"minNodes": "3", "maxNodes": "many"})
    assert caught.value.problems == ["maxNodes: 'many' is not a whole number"]
