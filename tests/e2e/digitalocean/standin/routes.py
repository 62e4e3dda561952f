"""DigitalOcean's API v2 routes of the stand-in, one function per resource family, and the
helpers every route uses to read a request and answer it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from flask import Response, request

from tests.e2e.digitalocean.standin.account import DigitalOcean
from tests.e2e.digitalocean.standin.common import JSON, ApiError
from tests.e2e.digitalocean.standin.domains import public_record

Handler = Callable[..., Response]
# route(rule, methods) registers the handler it decorates, run under the account's lock.
Route = Callable[[str, Sequence[str]], Callable[[Handler], Any]]


def body() -> JSON:
    payload = request.get_json(silent=True)
    if payload is None:
        if request.get_data():
            raise ApiError(400, "bad_request", "the request body is not valid JSON")
        return {}
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "the request body must be a JSON object")
    return payload


def answer(payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload), status=status, content_type="application/json; charset=utf-8"
    )


def observed(state: str) -> None:
    """The state a read answered, kept in the request log (`observed`): how often the provider
    polled, and what it saw each time."""
    request.environ["standin.observed"] = state


def nothing(status: int = 204) -> Response:
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response


def add_vpc_routes(route: Route, do: DigitalOcean) -> None:
    @route("/v2/vpcs", ["POST"])
    def vpcs_create() -> Response:
        return answer({"vpc": do.vpcs.create(body())}, 201)

    @route("/v2/vpcs", ["GET"])
    def vpcs_list() -> Response:
        vpcs = list(do.vpcs.by_id.values())
        return answer({"vpcs": vpcs, "links": {}, "meta": {"total": len(vpcs)}})

    @route("/v2/vpcs/<vpc_id>", ["GET"])
    def vpcs_get(vpc_id: str) -> Response:
        return answer({"vpc": do.vpcs.get(vpc_id)})

    @route("/v2/vpcs/<vpc_id>", ["PUT", "PATCH"])
    def vpcs_update(vpc_id: str) -> Response:
        return answer({"vpc": do.vpcs.update(vpc_id, body(), replace=request.method == "PUT")})

    @route("/v2/vpcs/<vpc_id>", ["DELETE"])
    def vpcs_delete(vpc_id: str) -> Response:
        do.delete_vpc(vpc_id)
        return nothing()


def add_kubernetes_routes(route: Route, do: DigitalOcean) -> None:
    clusters = do.kubernetes

    @route("/v2/kubernetes/options", ["GET"])
    def kubernetes_options() -> Response:
        return answer(clusters.options())

    @route("/v2/kubernetes/clusters", ["POST"])
    def clusters_create() -> Response:
        return answer({"kubernetes_cluster": clusters.create(body())}, 201)

    @route("/v2/kubernetes/clusters", ["GET"])
    def clusters_list() -> Response:
        views = clusters.views()
        return answer({"kubernetes_clusters": views, "links": {}, "meta": {"total": len(views)}})

    @route("/v2/kubernetes/clusters/<cluster_id>", ["GET"])
    def clusters_get(cluster_id: str) -> Response:
        view = clusters.read(cluster_id)
        observed(view["status"]["state"])
        return answer({"kubernetes_cluster": view})

    @route("/v2/kubernetes/clusters/<cluster_id>", ["PUT"])
    def clusters_update(cluster_id: str) -> Response:
        return answer({"kubernetes_cluster": clusters.update(cluster_id, body())}, 202)

    @route("/v2/kubernetes/clusters/<cluster_id>", ["DELETE"])
    def clusters_delete(cluster_id: str) -> Response:
        clusters.delete(cluster_id)
        return nothing()

    @route(
        "/v2/kubernetes/clusters/<cluster_id>/destroy_with_associated_resources/dangerous",
        ["DELETE"],
    )
    def clusters_delete_dangerous(cluster_id: str) -> Response:
        clusters.delete(cluster_id)
        return nothing()

    @route("/v2/kubernetes/clusters/<cluster_id>/destroy_with_associated_resources", ["GET"])
    def clusters_associated(cluster_id: str) -> Response:
        clusters.get(cluster_id)
        return answer({"load_balancers": [], "volumes": [], "volume_snapshots": []})

    @route("/v2/kubernetes/clusters/<cluster_id>/credentials", ["GET"])
    def clusters_credentials(cluster_id: str) -> Response:
        expiry = request.args.get("expiry_seconds", "0")
        if not expiry.isdigit():
            raise ApiError(400, "bad_request", "expiry_seconds must be a whole number")
        return answer(do.credentials.credentials(cluster_id, int(expiry)))

    @route("/v2/kubernetes/clusters/<cluster_id>/kubeconfig", ["GET"])
    def clusters_kubeconfig(cluster_id: str) -> Response:
        return Response(do.credentials.kubeconfig(cluster_id), content_type="application/yaml")

    @route("/v2/kubernetes/clusters/<cluster_id>/upgrade", ["POST"])
    def clusters_upgrade(cluster_id: str) -> Response:
        clusters.upgrade(cluster_id, body())
        return nothing(202)

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools", ["GET"])
    def pools_list(cluster_id: str) -> Response:
        pools = clusters.get(cluster_id)["node_pools"]
        return answer({"node_pools": pools, "links": {}, "meta": {"total": len(pools)}})

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools", ["POST"])
    def pools_add(cluster_id: str) -> Response:
        return answer({"node_pool": clusters.add_pool(cluster_id, body())}, 201)

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["GET"])
    def pools_get(cluster_id: str, pool_id: str) -> Response:
        return answer({"node_pool": clusters.pool_view(cluster_id, pool_id)})

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["PUT"])
    def pools_update(cluster_id: str, pool_id: str) -> Response:
        return answer({"node_pool": clusters.update_pool(cluster_id, pool_id, body())}, 202)

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["DELETE"])
    def pools_delete(cluster_id: str, pool_id: str) -> Response:
        clusters.delete_pool(cluster_id, pool_id)
        return nothing()

    @route("/v2/kubernetes/clusters/<cluster_id>/upgrades", ["GET"])
    def clusters_upgrades(cluster_id: str) -> Response:
        # DigitalOcean's description: `null` when the cluster is up to date.
        versions = clusters.upgrade_versions(cluster_id)
        return answer({"available_upgrade_versions": versions or None})

    @route("/v2/kubernetes/registry", ["POST", "DELETE"])
    def registry() -> Response:
        clusters.registry(body(), enable=request.method == "POST")
        return nothing()


def add_database_routes(route: Route, do: DigitalOcean) -> None:
    databases = do.databases
    settings = do.database_settings

    @route("/v2/databases", ["POST"])
    def databases_create() -> Response:
        return answer({"database": databases.create(body())}, 201)

    @route("/v2/databases", ["GET"])
    def databases_list() -> Response:
        return answer({"databases": databases.views()})

    @route("/v2/databases/<database_id>", ["GET"])
    def databases_get(database_id: str) -> Response:
        view = databases.read(database_id)
        observed(view["status"])
        return answer({"database": view})

    @route("/v2/databases/<database_id>", ["DELETE"])
    def databases_delete(database_id: str) -> Response:
        databases.delete(database_id)
        return nothing()

    @route("/v2/databases/<database_id>/resize", ["PUT"])
    def databases_resize(database_id: str) -> Response:
        databases.resize(database_id, body())
        return nothing(202)

    @route("/v2/databases/<database_id>/maintenance", ["PUT"])
    def databases_maintenance(database_id: str) -> Response:
        databases.set_maintenance(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/eviction_policy", ["GET"])
    def eviction_get(database_id: str) -> Response:
        return answer({"eviction_policy": settings.eviction_policy(database_id)})

    @route("/v2/databases/<database_id>/eviction_policy", ["PUT"])
    def eviction_set(database_id: str) -> Response:
        settings.set_eviction_policy(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/sql_mode", ["GET"])
    def sql_mode_get(database_id: str) -> Response:
        return answer({"sql_mode": settings.sql_mode(database_id)})

    @route("/v2/databases/<database_id>/sql_mode", ["PUT"])
    def sql_mode_set(database_id: str) -> Response:
        settings.set_sql_mode(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/firewall", ["GET"])
    def firewall_get(database_id: str) -> Response:
        return answer({"rules": settings.firewall(database_id)})

    @route("/v2/databases/<database_id>/firewall", ["PUT"])
    def firewall_set(database_id: str) -> Response:
        settings.set_firewall(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/config", ["GET"])
    def config_get(database_id: str) -> Response:
        return answer({"config": settings.config(database_id)})

    @route("/v2/databases/<database_id>/config", ["PATCH"])
    def config_update(database_id: str) -> Response:
        settings.update_config(database_id, body())
        return nothing(200)

    @route("/v2/databases/<database_id>/ca", ["GET"])
    def ca_get(database_id: str) -> Response:
        return answer({"ca": databases.ca(database_id)})

    @route("/v2/databases/<database_id>/backups", ["GET"])
    def backups_list(database_id: str) -> Response:
        return answer(databases.backups(database_id))

    @route("/v2/databases/<database_id>/autoscale", ["GET"])
    def autoscale_get(database_id: str) -> Response:
        return answer({"autoscale": databases.storage_autoscale(database_id)})

    @route("/v2/databases/<database_id>/autoscale", ["PUT"])
    def autoscale_set(database_id: str) -> Response:
        databases.set_storage_autoscale(database_id, body())
        return nothing()


def add_database_content_routes(route: Route, do: DigitalOcean) -> None:
    contents = do.database_contents

    @route("/v2/databases/<database_id>/dbs", ["POST"])
    def dbs_create(database_id: str) -> Response:
        return answer({"db": contents.create_db(database_id, body())}, 201)

    @route("/v2/databases/<database_id>/dbs", ["GET"])
    def dbs_list(database_id: str) -> Response:
        return answer({"dbs": contents.dbs(database_id)})

    @route("/v2/databases/<database_id>/dbs/<name>", ["GET"])
    def dbs_get(database_id: str, name: str) -> Response:
        return answer({"db": contents.db(database_id, name)})

    @route("/v2/databases/<database_id>/dbs/<name>", ["DELETE"])
    def dbs_delete(database_id: str, name: str) -> Response:
        contents.delete_db(database_id, name)
        return nothing()

    @route("/v2/databases/<database_id>/users", ["POST"])
    def users_create(database_id: str) -> Response:
        return answer({"user": contents.create_user(database_id, body())}, 201)

    @route("/v2/databases/<database_id>/users", ["GET"])
    def users_list(database_id: str) -> Response:
        return answer({"users": contents.users(database_id)})

    @route("/v2/databases/<database_id>/users/<name>", ["GET"])
    def users_get(database_id: str, name: str) -> Response:
        return answer({"user": contents.user(database_id, name)})

    @route("/v2/databases/<database_id>/users/<name>/reset_auth", ["POST"])
    def users_reset_auth(database_id: str, name: str) -> Response:
        return answer({"user": contents.reset_user_auth(database_id, name, body())})

    @route("/v2/databases/<database_id>/users/<name>", ["DELETE"])
    def users_delete(database_id: str, name: str) -> Response:
        contents.delete_user(database_id, name)
        return nothing()


def add_domain_routes(route: Route, do: DigitalOcean) -> None:
    domains = do.domains

    @route("/v2/domains", ["POST"])
    def domains_create() -> Response:
        return answer({"domain": domains.create(body())}, 201)

    @route("/v2/domains", ["GET"])
    def domains_list() -> Response:
        listed = list(domains.by_name.values())
        return answer({"domains": listed, "links": {}, "meta": {"total": len(listed)}})

    @route("/v2/domains/<name>", ["GET"])
    def domains_get(name: str) -> Response:
        return answer({"domain": domains.get(name)})

    @route("/v2/domains/<name>", ["DELETE"])
    def domains_delete(name: str) -> Response:
        domains.delete(name)
        return nothing()

    @route("/v2/domains/<name>/records", ["POST"])
    def records_create(name: str) -> Response:
        return answer({"domain_record": public_record(domains.create_record(name, body()))}, 201)

    @route("/v2/domains/<name>/records", ["GET"])
    def records_list(name: str) -> Response:
        records = domains.records_of(name)
        return answer({"domain_records": records, "links": {}, "meta": {"total": len(records)}})

    @route("/v2/domains/<name>/records/<int:record_id>", ["GET"])
    def records_get(name: str, record_id: int) -> Response:
        return answer({"domain_record": public_record(domains.record(name, record_id))})

    @route("/v2/domains/<name>/records/<int:record_id>", ["PUT", "PATCH"])
    def records_update(name: str, record_id: int) -> Response:
        record = domains.update_record(name, record_id, body())
        return answer({"domain_record": public_record(record)})

    @route("/v2/domains/<name>/records/<int:record_id>", ["DELETE"])
    def records_delete(name: str, record_id: int) -> Response:
        domains.delete_record(name, record_id)
        return nothing()


def add_tag_routes(route: Route, do: DigitalOcean) -> None:
    tags = do.tags

    @route("/v2/tags", ["POST"])
    def tags_create() -> Response:
        return answer({"tag": tags.create(body())}, 201)

    @route("/v2/tags/<name>", ["GET"])
    def tags_get(name: str) -> Response:
        return answer({"tag": tags.view(name)})

    @route("/v2/tags/<name>", ["DELETE"])
    def tags_delete(name: str) -> Response:
        tags.delete(name)
        return nothing()

    @route("/v2/tags/<name>/resources", ["POST", "DELETE"])
    def tags_resources(name: str) -> Response:
        tags.tag_resources(name, body(), add=request.method == "POST")
        return nothing()


def add_load_balancer_routes(route: Route, do: DigitalOcean) -> None:
    balancers = do.load_balancers

    @route("/v2/load_balancers", ["POST"])
    def load_balancers_create() -> Response:
        return answer({"load_balancer": balancers.create(body())}, 202)

    @route("/v2/load_balancers", ["GET"])
    def load_balancers_list() -> Response:
        listed = balancers.views()
        return answer({"load_balancers": listed, "links": {}, "meta": {"total": len(listed)}})

    @route("/v2/load_balancers/<balancer_id>", ["GET"])
    def load_balancers_get(balancer_id: str) -> Response:
        return answer({"load_balancer": balancers.get(balancer_id)})

    @route("/v2/load_balancers/<balancer_id>", ["DELETE"])
    def load_balancers_delete(balancer_id: str) -> Response:
        balancers.delete(balancer_id)
        return nothing()

    @route("/v2/droplets", ["GET"])
    def droplets_list() -> Response:
        listed = do.droplets.views(request.args.get("tag_name") or None)
        return answer({"droplets": listed, "links": {}, "meta": {"total": len(listed)}})


def add_monitoring_routes(route: Route, do: DigitalOcean) -> None:
    checks, policies = do.uptime, do.alert_policies

    @route("/v2/uptime/checks", ["POST"])
    def checks_create() -> Response:
        return answer({"check": checks.create(body())}, 201)

    @route("/v2/uptime/checks", ["GET"])
    def checks_list() -> Response:
        listed = checks.views()
        return answer({"checks": listed, "links": {}, "meta": {"total": len(listed)}})

    @route("/v2/uptime/checks/<check_id>", ["GET"])
    def checks_get(check_id: str) -> Response:
        return answer({"check": checks.get(check_id)})

    @route("/v2/uptime/checks/<check_id>", ["PUT"])
    def checks_update(check_id: str) -> Response:
        return answer({"check": checks.update(check_id, body())})

    @route("/v2/uptime/checks/<check_id>", ["DELETE"])
    def checks_delete(check_id: str) -> Response:
        checks.delete(check_id)
        return nothing()

    @route("/v2/uptime/checks/<check_id>/state", ["GET"])
    def checks_state(check_id: str) -> Response:
        return answer({"state": checks.check_state(check_id)})

    @route("/v2/uptime/checks/<check_id>/alerts", ["POST"])
    def uptime_alerts_create(check_id: str) -> Response:
        return answer({"alert": checks.create_alert(check_id, body())}, 201)

    @route("/v2/uptime/checks/<check_id>/alerts", ["GET"])
    def uptime_alerts_list(check_id: str) -> Response:
        listed = checks.alert_views(check_id)
        return answer({"alerts": listed, "links": {}, "meta": {"total": len(listed)}})

    @route("/v2/uptime/checks/<check_id>/alerts/<alert_id>", ["GET"])
    def uptime_alerts_get(check_id: str, alert_id: str) -> Response:
        return answer({"alert": checks.alert(check_id, alert_id)})

    @route("/v2/uptime/checks/<check_id>/alerts/<alert_id>", ["PUT"])
    def uptime_alerts_update(check_id: str, alert_id: str) -> Response:
        return answer({"alert": checks.update_alert(check_id, alert_id, body())})

    @route("/v2/uptime/checks/<check_id>/alerts/<alert_id>", ["DELETE"])
    def uptime_alerts_delete(check_id: str, alert_id: str) -> Response:
        checks.delete_alert(check_id, alert_id)
        return nothing()

    @route("/v2/monitoring/alerts", ["POST"])
    def policies_create() -> Response:
        # DigitalOcean answers 200 to this create (its description says so).
        return answer({"policy": policies.create(body())})

    @route("/v2/monitoring/alerts", ["GET"])
    def policies_list() -> Response:
        listed = policies.views()
        return answer({"policies": listed, "links": {}, "meta": {"total": len(listed)}})

    @route("/v2/monitoring/alerts/<uuid>", ["GET"])
    def policies_get(uuid: str) -> Response:
        return answer({"policy": policies.get(uuid)})

    @route("/v2/monitoring/alerts/<uuid>", ["PUT"])
    def policies_update(uuid: str) -> Response:
        return answer({"policy": policies.update(uuid, body())})

    @route("/v2/monitoring/alerts/<uuid>", ["DELETE"])
    def policies_delete(uuid: str) -> Response:
        policies.delete(uuid)
        return nothing()
