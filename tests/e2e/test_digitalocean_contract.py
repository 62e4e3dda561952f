"""DigitalOcean's API contract: the stand-in behind Prism's validating proxy.

One stand-in and one Prism for the module. The check fails on a request that breaks DigitalOcean's
OpenAPI description and on a response that does; the provider's known deviations pass, each of
them is seen, and the stand-in's own answers match the description. The last test runs this
repository's DigitalOcean resources through the real provider: up, no changes after up and after
refresh, drift the program ignores, changes, and destroy, with no violation outside the known
ones.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.digitalocean.prism import (
    KNOWN_DEVIATIONS,
    SPEC,
    PrismProxy,
    Violation,
    spec_as_json,
    unexpected,
    write_spec_as_json,
)
from tests.e2e.digitalocean.program import CLUSTER, DOMAIN
from tests.e2e.digitalocean.server import StandIn, http_json
from tests.e2e.engine.processes import port_open
from tests.e2e.engine.toolchain import Toolchain
from tests.e2e.engine.workspace import Workspace

TOKEN = "dop_v1_" + "c0ffee" * 10 + "abcd"
ENDPOINT = "https://127.0.0.1:6443"
CA_PEM_BASE64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmR1bW15Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn(
        tmp_path_factory.mktemp("do-standin"),
        token=TOKEN,
        clusters={CLUSTER: {"endpoint": ENDPOINT, "ca_pem_base64": CA_PEM_BASE64}},
        domains=[DOMAIN],
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
    assert not server.running() and not port_open(server.port), "the stand-in outlived stop()"


@pytest.fixture(scope="module")
def prism(standin: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismProxy]:
    proxy = PrismProxy(standin.url, tmp_path_factory.mktemp("prism") / "prism.log")
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
    assert not proxy.running(), "Prism outlived stop()"
    assert not port_open(proxy.port) and not port_open(proxy.prism_port)


def call(base: str, method: str, path: str, payload: Any = None, token: str = TOKEN) -> Any:
    """One API call with the stack's token (`token=""`: none): (status, parsed JSON or None)."""
    return http_json(base + path, method, payload, token)


def delete_vpc(base: str, path: str) -> list[int]:
    """DELETE the VPC as the provider does: again while DigitalOcean answers 403 "Can not delete
    VPC with members" (its deleted members linger a few reads); the statuses it got."""
    answers = [call(base, "DELETE", path)[0]]
    while answers[-1] == 403 and len(answers) < 10:
        answers.append(call(base, "DELETE", path)[0])
    return answers


def only(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, [str(v) for v in violations]
    return violations[0]


# -- the machinery -------------------------------------------------------------------------------


def test_the_standin_starts_answers_and_stops(tmp_path: Path) -> None:
    server = StandIn(tmp_path, token=TOKEN)
    server.start()
    try:
        assert server.running()
        assert call(server.url, "GET", "/v2/kubernetes/options")[0] == 200
        assert server.state() == {
            "vpcs": [],
            "kubernetes_clusters": [],
            "databases": [],
            "domains": [],
            "domain_records": [],
            "tags": [],
            "load_balancers": [],
            "uptime_checks": [],
            "uptime_alerts": [],
            "alert_policies": [],
        }
    finally:
        server.stop()
    assert server.process is not None and server.process.popen.returncode is not None
    assert not port_open(server.port)


def test_prism_and_the_standin_run_for_the_module(standin: StandIn, prism: PrismProxy) -> None:
    assert standin.running() and prism.running()
    # On the JSON copy that ./scripts/e2e writes (the violation tests below run on it too).
    assert prism.spec == spec_as_json(), prism.spec
    status, options = call(prism.url, "GET", "/v2/kubernetes/options")
    assert status == 200
    assert options["options"]["versions"][0]["slug"].startswith("1.36.")
    assert standin.requests()[-1]["path"] == "/v2/kubernetes/options"


def test_prisms_json_copy_is_the_description_itself(tmp_path: Path) -> None:
    copy = write_spec_as_json(SPEC, tmp_path / "description.json")
    as_yaml = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    assert json.loads(copy.read_text(encoding="utf-8")) == as_yaml
    assert len(as_yaml["paths"]) > 100


def test_the_standin_refuses_a_request_without_the_token(standin: StandIn) -> None:
    status, body = call(standin.url, "GET", "/v2/vpcs", token="")
    assert status == 401
    assert body["id"] == "unauthorized" and body["message"] == "Unable to authenticate you"
    assert call(standin.url, "GET", "/v2/vpcs", token="dop_v1_wrong")[0] == 401


def test_an_unknown_id_is_digitaloceans_not_found(prism: PrismProxy) -> None:
    mark = prism.mark()
    status, body = call(prism.url, "GET", "/v2/vpcs/5a4981aa-9653-4bd1-bef5-d6bff52042e4")
    assert status == 404
    assert body["id"] == "not_found" and body["message"]
    assert prism.violations(mark) == []


# -- the check fails when it should --------------------------------------------------------------


def test_a_request_without_a_required_property_is_a_request_violation(prism: PrismProxy) -> None:
    mark = prism.mark()
    status, body = call(prism.url, "POST", "/v2/vpcs", {"region": "nyc3"})
    assert status == 422 and body["id"] == "unprocessable_entity"
    violation = only(prism.violations(mark))
    assert (violation.method, violation.path, violation.side) == ("POST", "/v2/vpcs", "request")
    assert violation.code == "required" and "'name'" in violation.message
    assert violation.json_path == "$"
    with pytest.raises(AssertionError, match="must have required property 'name'"):
        prism.check(mark)


def test_a_request_with_a_wrong_type_is_a_request_violation(prism: PrismProxy) -> None:
    mark = prism.mark()
    call(prism.url, "POST", "/v2/vpcs", {"name": 5, "region": "nyc3"})
    violation = only(prism.violations(mark))
    assert violation.side == "request" and violation.code == "type"
    assert violation.json_path == "$.name"
    assert unexpected([violation]) == [violation]
    with pytest.raises(AssertionError, match=r"POST /v2/vpcs -> 422: request \$\.name"):
        prism.check(mark)


def test_a_response_that_breaks_the_contract_is_a_response_violation(
    standin: StandIn, prism: PrismProxy
) -> None:
    mark = prism.mark()
    status, created = call(prism.url, "POST", "/v2/vpcs", {"name": "fault", "region": "nyc3"})
    assert status == 201
    vpc_id = created["vpc"]["id"]
    path = f"/v2/vpcs/{vpc_id}"
    assert prism.violations(mark) == []

    standin.inject_fault("GET", path, {"vpc": {"id": 5, "name": "fault", "region": "nyc3"}})
    assert call(prism.url, "GET", path)[1]["vpc"]["id"] == 5
    violation = only(prism.violations(mark))
    assert (violation.side, violation.code, violation.json_path) == ("response", "type", "$.vpc.id")
    with pytest.raises(AssertionError, match=r"response \$\.vpc\.id"):
        prism.check(mark)

    # The fault was for one response: the next one is the stand-in's own again.
    after = prism.mark()
    assert call(prism.url, "GET", path)[1]["vpc"]["id"] == vpc_id
    assert call(prism.url, "DELETE", path)[0] == 204
    assert prism.violations(after) == []


# -- the provider's known deviations -------------------------------------------------------------


def provider_requests(base: str) -> None:
    """The requests the real provider sends that break the description, as it sends them (taken
    from the real provider's traffic through Prism)."""
    _, vpc = call(base, "POST", "/v2/vpcs", {"name": "known", "region": "nyc3"})
    vpc_id = vpc["vpc"]["id"]
    pool = {
        "name": "known-default",
        "size": "s-2vcpu-4gb",
        "tags": ["posts", "terraform:default-node-pool"],
        "labels": {"posts.dev/pool": "default"},
        "auto_scale": True,
        "min_nodes": 1,
        "max_nodes": 2,
    }
    policy = {"start_time": "04:00", "duration": "", "day": "sunday"}
    _, created = call(
        base,
        "POST",
        "/v2/kubernetes/clusters",
        {
            "name": "known",
            "region": "nyc3",
            "version": "1.36.3-do.0",
            "tags": ["posts"],
            "vpc_uuid": vpc_id,
            "ha": False,
            "node_pools": [pool],
            "maintenance_policy": policy,
            "auto_upgrade": True,
            "surge_upgrade": True,
        },
    )
    cluster = created["kubernetes_cluster"]
    nulls: dict[str, Any] = {
        "control_plane_firewall": {"enabled": None, "allowed_addresses": None},
        "cluster_autoscaler_configuration": {
            "scale_down_utilization_threshold": None,
            "scale_down_unneeded_time": None,
            "expanders": None,
        },
    }
    for switch in (
        "routing_agent",
        "amd_gpu_device_plugin",
        "amd_gpu_device_metrics_exporter_plugin",
        "nvidia_gpu_device_plugin",
        "rdma_shared_dev_plugin",
        "coredns_autoscaler",
        "p2p_oci_registry_plugin",
    ):
        nulls[switch] = {"enabled": None}
    update: dict[str, Any] = {"name": "known", "tags": ["posts"], "maintenance_policy": policy}
    update |= {"auto_upgrade": True, "surge_upgrade": True, "ha": False, **nulls}
    assert call(base, "PUT", f"/v2/kubernetes/clusters/{cluster['id']}", update)[0] == 202
    pool_path = (
        f"/v2/kubernetes/clusters/{cluster['id']}/node_pools/{cluster['node_pools'][0]['id']}"
    )
    resized = {**pool, "taints": [], "max_nodes": 3}
    del resized["size"]
    assert call(base, "PUT", pool_path, resized)[0] == 202
    app_pool = {**pool, "name": "known-s-2vcpu-4gb", "tags": ["posts"], "taints": []}
    added = call(base, "POST", f"/v2/kubernetes/clusters/{cluster['id']}/node_pools", app_pool)
    assert added[0] == 201

    status, database = call(
        base,
        "POST",
        "/v2/databases",
        {
            "name": "known-mysql",
            "engine": "mysql",
            "version": "8",
            "size": "db-s-1vcpu-1gb",
            "region": "nyc3",
            "num_nodes": 1,
            "private_network_uuid": vpc_id,
            "tags": ["posts"],
            "project_id": "",
            "rules": None,
        },
    )
    assert status == 201
    database_id = database["database"]["id"]
    assert call(base, "POST", "/v2/tags", {"name": "release-2"})[0] == 201
    tagged = {"resources": [{"resource_id": database_id, "resource_type": "database"}]}
    assert call(base, "POST", "/v2/tags/release-2/resources", tagged)[0] == 204
    assert call(base, "DELETE", "/v2/tags/release-2/resources", tagged)[0] == 204

    record = {"name": "known", "data": "203.0.113.10", "priority": 0, "port": 0, "ttl": 300}
    record |= {"weight": 0, "flags": 0}
    status, created_record = call(
        base, "POST", f"/v2/domains/{DOMAIN}/records", {"type": "A", **record}
    )
    assert status == 201
    record_path = f"/v2/domains/{DOMAIN}/records/{created_record['domain_record']['id']}"
    assert call(base, "PUT", record_path, {**record, "data": "203.0.113.11"})[0] == 200

    # An Uptime check (the provider sends no `method`), and alerts without Slack on it and as
    # Monitoring alert policies (the provider sends `slack: null`), created and updated.
    check: dict[str, Any] = {
        "name": "known",
        "type": "http",
        "target": "http://203.0.113.10/api/health-check",
    }
    check |= {"regions": ["us_east", "eu_west"], "enabled": True}
    status, created_check = call(base, "POST", "/v2/uptime/checks", check)
    assert status == 201
    check_path = f"/v2/uptime/checks/{created_check['check']['id']}"
    alert: dict[str, Any] = {
        "name": "down",
        "type": "down",
        "threshold": 1,
        "comparison": "less_than",
    }
    alert |= {"period": "2m", "notifications": {"email": ["alerts@example.com"], "slack": None}}
    status, created_alert = call(base, "POST", f"{check_path}/alerts", alert)
    assert status == 201
    alert_path = f"{check_path}/alerts/{created_alert['alert']['id']}"
    assert call(base, "PUT", alert_path, {**alert, "period": "5m"})[0] == 200
    alert_policy: dict[str, Any] = {
        "type": "v1/dbaas/alerts/cpu_alerts",
        "description": "known",
        "compare": "GreaterThan",
    }
    alert_policy |= {
        "value": 80,
        "window": "10m",
        "entities": [database_id],
        "tags": [],
        "enabled": True,
    }
    alert_policy |= {"alerts": {"email": ["alerts@example.com"], "slack": None}}
    status, created_policy = call(base, "POST", "/v2/monitoring/alerts", alert_policy)
    assert status == 200
    policy_path = f"/v2/monitoring/alerts/{created_policy['policy']['uuid']}"
    assert call(base, "PUT", policy_path, {**alert_policy, "value": 70})[0] == 200

    for path in (
        policy_path,
        check_path,
        record_path,
        f"/v2/databases/{database_id}",
        f"/v2/kubernetes/clusters/{cluster['id']}",
    ):
        assert call(base, "DELETE", path)[0] == 204
    assert delete_vpc(base, f"/v2/vpcs/{vpc_id}")[-1] == 204
    assert call(base, "DELETE", "/v2/tags/release-2")[0] == 204


def test_every_known_deviation_is_recognised_and_seen(prism: PrismProxy) -> None:
    mark = prism.mark()
    provider_requests(prism.url)
    seen = prism.violations(mark)
    assert seen, "the provider's deviations were not reported at all"
    assert all(v.side == "request" for v in seen), [str(v) for v in seen]
    prism.check(mark)
    unseen = [k for k in KNOWN_DEVIATIONS if not any(k.covers(v) for v in seen)]
    assert unseen == [], "known deviations no request showed: " + ", ".join(
        f"{k.method} {k.path} {'.'.join(k.location)}" for k in unseen
    )


def test_a_known_deviation_with_another_value_is_still_a_violation(prism: PrismProxy) -> None:
    """`project_id` is known only as the provider sends it, "": any other non-UUID is not."""
    mark = prism.mark()
    status, _ = call(
        prism.url,
        "POST",
        "/v2/databases",
        {"name": "values", "engine": "mysql", "size": "db-s-1vcpu-1gb", "region": "nyc3"}
        | {"num_nodes": 1, "project_id": "my-project", "rules": []},
    )
    assert status == 422
    problems = prism.unexpected_violations(mark)
    assert [(v.json_path, v.value) for v in problems] == [("$.project_id", "my-project")]


def test_prisms_log_format_is_still_recognised(prism: PrismProxy) -> None:
    """The recorder's count check reads Prism's log: a violation it recorded from the header is
    also a `Violation:` line the log parser recognises, with the same message."""
    mark = prism.mark()
    logged_before = len(prism.logged_violations())
    call(prism.url, "POST", "/v2/vpcs", {"name": 7, "region": "nyc3"})
    violation = only(prism.violations(mark))
    logged = prism.logged_violations()[logged_before:]
    assert logged, "Prism logged no line the parser recognises: has its log format changed?"
    assert any(violation.message in text for _, text in logged), logged


def test_a_known_deviation_elsewhere_is_still_a_violation(prism: PrismProxy) -> None:
    """`project_id: ""` is known on POST /v2/databases only; a missing `name` there is not."""
    mark = prism.mark()
    status, _ = call(
        prism.url,
        "POST",
        "/v2/databases",
        {"engine": "mysql", "size": "db-s-1vcpu-1gb", "region": "nyc3", "num_nodes": 1},
    )
    assert status == 422
    problems = prism.unexpected_violations(mark)
    assert [(v.code, v.json_path) for v in problems] == [("required", "$")]


# -- the stand-in's answers ----------------------------------------------------------------------


def test_the_standins_answers_match_the_description(standin: StandIn, prism: PrismProxy) -> None:
    """Every endpoint the provider uses, with valid requests: no violation at all."""
    mark = prism.mark()
    base = prism.url
    _, vpc = call(base, "POST", "/v2/vpcs", {"name": "answers", "region": "nyc3"})
    vpc_id = vpc["vpc"]["id"]
    _, created = call(
        base,
        "POST",
        "/v2/kubernetes/clusters",
        {
            "name": CLUSTER,
            "region": "nyc3",
            "version": "1.36.3-do.0",
            "vpc_uuid": vpc_id,
            "node_pools": [
                {"name": "p", "size": "s-2vcpu-4gb", "count": 1, "auto_scale": True}
                | {"min_nodes": 1, "max_nodes": 2, "labels": {"posts.dev/pool": "default"}}
            ],
        },
    )
    cluster = created["kubernetes_cluster"]
    cluster_path = f"/v2/kubernetes/clusters/{cluster['id']}"
    pool_path = f"{cluster_path}/node_pools/{cluster['node_pools'][0]['id']}"
    status, credentials = call(base, "GET", f"{cluster_path}/credentials?expiry_seconds=0")
    assert status == 200
    assert (credentials["server"], credentials["token"]) == (ENDPOINT, TOKEN)
    assert credentials["certificate_authority_data"] == CA_PEM_BASE64
    assert call(base, "GET", cluster_path)[1]["kubernetes_cluster"]["status"]["state"] == "running"
    for method, path, payload in (
        ("GET", f"{cluster_path}/node_pools", None),
        ("PUT", pool_path, {"name": "p", "count": 2}),
        ("GET", pool_path, None),
        ("PUT", cluster_path, {"name": CLUSTER, "maintenance_policy": {"day": "monday"}}),
        ("GET", f"{cluster_path}/upgrades", None),
        ("GET", f"{cluster_path}/kubeconfig", None),
        ("POST", "/v2/kubernetes/registry", {"cluster_uuids": [cluster["id"]]}),
        ("GET", "/v2/kubernetes/clusters?page=1&per_page=200", None),
    ):
        assert call(base, method, path, payload)[0] < 300, (method, path)
    # A pool added and deleted: gone (404) once its nodes are drained and deleted.
    status, added = call(
        base,
        "POST",
        f"{cluster_path}/node_pools",
        {"name": "q", "size": "s-2vcpu-4gb", "count": 1, "tags": ["posts"], "labels": None},
    )
    assert status == 201, added
    added_path = f"{cluster_path}/node_pools/{added['node_pool']['id']}"
    assert call(base, "DELETE", added_path)[0] == 204
    assert call(base, "GET", added_path)[0] == 404
    # An upgrade: `upgrading`, then `running` the new version; up to date, no upgrades (null).
    _, old_cluster = call(
        base,
        "POST",
        "/v2/kubernetes/clusters",
        {
            "name": "answers-old",
            "region": "nyc3",
            "version": "1.35.7-do.1",
            "vpc_uuid": vpc_id,
            "node_pools": [{"name": "o", "size": "s-1vcpu-2gb", "count": 1}],
        },
    )
    old_path = f"/v2/kubernetes/clusters/{old_cluster['kubernetes_cluster']['id']}"
    _, offered = call(base, "GET", f"{old_path}/upgrades")
    assert [v["slug"] for v in offered["available_upgrade_versions"]] == ["1.36.3-do.0"]
    assert call(base, "POST", f"{old_path}/upgrade", {"version": "1.36.3-do.0"})[0] == 202
    states = [call(base, "GET", old_path)[1]["kubernetes_cluster"] for _ in range(3)]
    assert [(c["status"]["state"], c["version"]) for c in states] == [
        ("upgrading", "1.35.7-do.1"),
        ("upgrading", "1.35.7-do.1"),
        ("running", "1.36.3-do.0"),
    ]
    assert call(base, "GET", f"{old_path}/upgrades")[1] == {"available_upgrade_versions": None}
    assert call(base, "DELETE", old_path)[0] == 204

    databases = {}
    for engine in ("mysql", "valkey"):
        _, database = call(
            base,
            "POST",
            "/v2/databases",
            {"name": f"answers-{engine}", "engine": engine, "version": "8", "num_nodes": 1}
            | {"size": "db-s-1vcpu-1gb", "region": "nyc3", "private_network_uuid": vpc_id},
        )
        databases[engine] = f"/v2/databases/{database['database']['id']}"
    mysql, valkey = databases["mysql"], databases["valkey"]
    rules: dict[str, Any] = {
        "rules": [
            {"type": "k8s", "value": cluster["id"]},
            {"type": "ip_addr", "value": "203.0.113.7"},
        ]
    }
    steps: list[tuple[str, str, Any]] = [
        ("GET", mysql, None),
        ("PUT", f"{mysql}/maintenance", {"day": "sunday", "hour": "02:00"}),
        ("PUT", f"{mysql}/resize", {"size": "db-s-1vcpu-2gb", "num_nodes": 1}),
        ("PUT", f"{mysql}/firewall", rules),
        ("GET", f"{mysql}/firewall", None),
        ("PATCH", f"{mysql}/config", {"config": {"sql_require_primary_key": True}}),
        ("GET", f"{mysql}/config", None),
        ("GET", f"{mysql}/sql_mode", None),
        ("GET", f"{mysql}/ca", None),
        ("POST", f"{mysql}/dbs", {"name": "posts"}),
        ("GET", f"{mysql}/dbs/posts", None),
        ("POST", f"{mysql}/users", {"name": "posts-root"}),
        ("GET", f"{mysql}/users/posts-root", None),
        ("DELETE", f"{mysql}/users/posts-root", None),
        ("DELETE", f"{mysql}/dbs/posts", None),
        ("PUT", f"{valkey}/eviction_policy", {"eviction_policy": "volatile_lru"}),
        ("GET", f"{valkey}/eviction_policy", None),
        ("GET", valkey, None),
        ("GET", f"/v2/domains/{DOMAIN}", None),
        ("PUT", f"{mysql}/autoscale", {"storage": {"enabled": True, "threshold_percent": 80}}),
        ("GET", f"{mysql}/autoscale", None),
        ("GET", mysql, None),  # with its storage autoscaling now
    ]
    for method, path, payload in steps:
        assert call(base, method, path, payload)[0] < 300, (method, path)

    # Backups, and a cluster created from one.
    assert call(base, "POST", f"{mysql}/dbs", {"name": "posts"})[0] == 201
    standin.take_backup(mysql.rsplit("/", 1)[1])
    status, listed = call(base, "GET", f"{mysql}/backups")
    assert status == 200 and len(listed["backups"]) == 1
    status, restored = call(
        base,
        "POST",
        "/v2/databases",
        {"name": "answers-restored", "engine": "mysql", "version": "8", "num_nodes": 1}
        | {"size": "db-s-1vcpu-1gb", "region": "nyc3", "private_network_uuid": vpc_id}
        | {"backup_restore": {"database_name": "answers-mysql"}},
    )
    assert status == 201 and "posts" in restored["database"]["db_names"]

    # Uptime: a check and an alert on it; Monitoring: an alert policy on a node pool's tag.
    check: dict[str, Any] = {"name": "answers", "method": "GET", "type": "http", "enabled": True}
    check |= {"target": "http://203.0.113.10/api/health-check", "regions": ["us_east", "eu_west"]}
    _, created_check = call(base, "POST", "/v2/uptime/checks", check)
    check_path = f"/v2/uptime/checks/{created_check['check']['id']}"
    alert: dict[str, Any] = {
        "name": "down",
        "type": "down",
        "threshold": 1,
        "comparison": "less_than",
    }
    alert |= {"period": "2m", "notifications": {"email": ["alerts@example.com"], "slack": []}}
    _, created_alert = call(base, "POST", f"{check_path}/alerts", alert)
    alert_path = f"{check_path}/alerts/{created_alert['alert']['id']}"
    policy: dict[str, Any] = {
        "type": "v1/insights/droplet/cpu",
        "description": "answers",
        "compare": "GreaterThan",
    }
    policy |= {"value": 80, "window": "10m", "entities": [], "tags": ["posts-dev"], "enabled": True}
    policy |= {"alerts": {"email": ["alerts@example.com"], "slack": []}}
    _, created_policy = call(base, "POST", "/v2/monitoring/alerts", policy)
    policy_path = f"/v2/monitoring/alerts/{created_policy['policy']['uuid']}"
    for method, path, payload in (
        ("GET", check_path, None),
        ("GET", "/v2/uptime/checks", None),
        ("PUT", check_path, {**check, "regions": ["us_east", "us_west"]}),
        ("GET", f"{check_path}/state", None),
        ("GET", alert_path, None),
        ("GET", f"{check_path}/alerts", None),
        ("PUT", alert_path, {**alert, "period": "5m"}),
        ("DELETE", alert_path, None),
        ("DELETE", check_path, None),
        ("GET", policy_path, None),
        ("GET", "/v2/monitoring/alerts", None),
        ("PUT", policy_path, {**policy, "value": 70}),
        ("DELETE", policy_path, None),
        ("DELETE", f"/v2/databases/{restored['database']['id']}", None),
        ("DELETE", mysql, None),
        ("DELETE", valkey, None),
        ("DELETE", cluster_path, None),
    ):
        assert call(base, method, path, payload)[0] < 300, (method, path)
    # Its deleted members linger: first "Can not delete VPC with members" (a 403 as the
    # description has it), then deleted.
    answers = delete_vpc(base, f"/v2/vpcs/{vpc_id}")
    assert answers[0] == 403 and answers[-1] == 204, answers
    assert prism.violations(mark) == []


def test_a_vpc_with_members_cannot_be_deleted(prism: PrismProxy) -> None:
    mark = prism.mark()
    _, vpc = call(prism.url, "POST", "/v2/vpcs", {"name": "members", "region": "nyc3"})
    vpc_path = f"/v2/vpcs/{vpc['vpc']['id']}"
    _, database = call(
        prism.url,
        "POST",
        "/v2/databases",
        {"name": "members-valkey", "engine": "valkey", "version": "8", "num_nodes": 1}
        | {"size": "db-s-1vcpu-1gb", "region": "nyc3", "private_network_uuid": vpc["vpc"]["id"]},
    )
    status, body = call(prism.url, "DELETE", vpc_path)
    assert status == 403 and "members" in body["message"]
    assert call(prism.url, "DELETE", f"/v2/databases/{database['database']['id']}")[0] == 204
    # The deleted database stays a member for a few reads, as DigitalOcean's do.
    answers = delete_vpc(prism.url, vpc_path)
    assert answers[:-1] == [403] * (len(answers) - 1) and answers[-1] == 204, answers
    assert len(answers) > 1
    assert prism.violations(mark) == []


# -- the real provider ---------------------------------------------------------------------------


def no_changes(project: Workspace) -> None:
    """Right after an up: a preview and a refresh find nothing to change (a refresh that
    changes nothing leaves the next preview as the first one was)."""
    project.pulumi("preview", "--expect-no-changes", "--diff")
    project.pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes")


def test_the_real_provider_round_trip_keeps_the_contract(
    toolchain: Toolchain, standin: StandIn, prism: PrismProxy, tmp_path: Path
) -> None:
    mark = prism.mark()
    first_request = len(standin.requests())
    started = time.monotonic()
    # An upgrade is over by the provider's own read after it (no wait in this program).
    standin.behaviour(cluster_upgrading_polls=0)
    project = Workspace(
        tmp_path,
        "dev",
        toolchain,
        {"DIGITALOCEAN_API_URL": prism.url, "DIGITALOCEAN_TOKEN": TOKEN},
        program="tests.e2e.digitalocean.program",
    )
    project.init_stack()
    project.set_configs(
        {
            "imageTag": "3f9c2e7",
            "protectResources": "false",
            "appPool": "true",
            "withMonitoring": "true",
            "version": "1.35.7-do.1",
        }
    )
    project.pulumi("up", "--yes", "--skip-preview")
    no_changes(project)

    outputs = project.outputs(show_secrets=True)
    (cluster,) = [c for c in standin.state()["kubernetes_clusters"] if c["name"] == CLUSTER]
    assert outputs["clusterId"] == cluster["id"]
    assert outputs["endpoint"] == outputs["kubeHost"] == ENDPOINT
    assert (outputs["kubeToken"], outputs["kubeCa"]) == (TOKEN, CA_PEM_BASE64)
    assert (
        outputs["mysqlPrivateHost"] == "private-posts-dev-mysql-do-user-1-0.k.db.ondigitalocean.com"
    )
    assert outputs["mysqlUrl"].startswith("mysql://posts-root:")
    assert outputs["cacheUrl"].endswith(
        "@private-posts-dev-valkey-do-user-1-0.k.db.ondigitalocean.com:25061"
    )
    assert outputs["fqdn"] == f"posts.{DOMAIN}"

    # What the program leaves to DigitalOcean: the autoscaler's node count, patch upgrades.
    app_pool = next(p for p in cluster["node_pools"] if p["name"] != f"{CLUSTER}-default")
    standin.set_node_count(cluster["id"], app_pool["id"], 2)
    standin.set_cluster_version(cluster["id"], "1.35.8-do.0")
    project.pulumi("refresh", "--yes", "--skip-preview")
    project.pulumi("preview", "--expect-no-changes", "--diff")

    # A minor upgrade, in place (DigitalOcean's upgrade API), then changes of every kind.
    project.set_config("version", "1.36.3-do.0")
    project.set_config("upgrade", "true")
    project.pulumi("up", "--yes", "--skip-preview")
    project.set_config("upgrade", "false")
    no_changes(project)
    (upgraded,) = [c for c in standin.state()["kubernetes_clusters"] if c["name"] == CLUSTER]
    assert (upgraded["id"], upgraded["version"]) == (cluster["id"], "1.36.3-do.0")

    for changed in ("true", "false"):
        project.set_config("changed", changed)
        project.pulumi("up", "--yes", "--skip-preview")
        no_changes(project)

    project.pulumi("destroy", "--yes", "--skip-preview")
    left = standin.state()
    names = {CLUSTER, "posts-dev-vpc", "posts-dev-mysql", "posts-dev-valkey"}
    assert not [c for c in left["kubernetes_clusters"] if c["name"] in names]
    assert not [d for d in left["databases"] if d["name"] in names]
    assert not [v for v in left["vpcs"] if v["name"] in names]
    assert not [r for r in left["domain_records"] if r["name"] == "posts"]

    requests = standin.requests()[first_request:]
    counts = Counter(f"{r['method']} {r['path']}" for r in requests)
    assert counts, "the provider sent nothing"
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "seconds": round(time.monotonic() - started, 1),
                "requests": [[r["method"], r["path"], r["query"], r["status"]] for r in requests],
                "violations": [str(v) for v in prism.violations(mark)],
            },
            indent=1,
        )
    )
    prism.check(mark)
    # Every known deviation is one the real provider sends: an entry it never sent is stale.
    seen = prism.violations(mark)
    unseen = [k for k in KNOWN_DEVIATIONS if not any(k.covers(v) for v in seen)]
    assert unseen == [], "known deviations the real provider never sent: " + ", ".join(
        f"{k.method} {k.path} {'.'.join(k.location)}" for k in unseen
    )
