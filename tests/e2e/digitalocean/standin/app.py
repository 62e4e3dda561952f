"""The stand-in's Flask application: DigitalOcean's routes under /v2 (authenticated, logged,
rate-limit headers, deliberate faults applied), the inspection API under /_standin."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from tests.e2e.digitalocean.standin.account import (
    ACTED,
    DROP_HEADER,
    DROP_VALUE,
    DROPPED,
    EFFECTS,
    NO_EFFECT,
    DigitalOcean,
    Fault,
)
from tests.e2e.digitalocean.standin.common import ApiError, timestamp_now
from tests.e2e.digitalocean.standin.routes import (
    Handler,
    Route,
    add_database_content_routes,
    add_database_routes,
    add_domain_routes,
    add_kubernetes_routes,
    add_load_balancer_routes,
    add_monitoring_routes,
    add_tag_routes,
    add_vpc_routes,
    answer,
    body,
)


def create_app(digitalocean: DigitalOcean) -> Flask:
    """The Flask application: DigitalOcean's routes under /v2, the inspection API under
    /_standin."""
    app = Flask("do_standin")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    _add_hooks(app, digitalocean)
    route = _router(app, digitalocean)
    add_vpc_routes(route, digitalocean)
    add_kubernetes_routes(route, digitalocean)
    add_database_routes(route, digitalocean)
    add_database_content_routes(route, digitalocean)
    add_domain_routes(route, digitalocean)
    add_load_balancer_routes(route, digitalocean)
    add_tag_routes(route, digitalocean)
    add_monitoring_routes(route, digitalocean)
    _add_inspection_routes(route, digitalocean)
    return app


def _router(app: Flask, do: DigitalOcean) -> Route:
    """`route(rule, methods)`: registers a handler that runs under the account's lock."""

    def locked(handler: Handler) -> Handler:
        def run(**kwargs: Any) -> Response:
            with do.lock:
                return handler(**kwargs)

        run.__name__ = handler.__name__
        return run

    def route(rule: str, methods: Sequence[str]) -> Callable[[Handler], Any]:
        def register(handler: Handler) -> Any:
            app.add_url_rule(rule, view_func=locked(handler), methods=list(methods))
            return handler

        return register

    return route


# DigitalOcean's error bodies for the faults, from its OpenAPI description's examples (503 has
# none there: the `error` schema with an id of the same style).
FAULT_BODIES: dict[int, dict[str, str]] = {
    429: {"id": "too_many_requests", "message": "API rate limit exceeded."},
    500: {"id": "server_error", "message": "Unexpected server-side error"},
    502: {"id": "bad_gateway", "message": "Bad Gateway"},
    503: {"id": "service_unavailable", "message": "The service is temporarily unavailable."},
}
RATE_LIMIT = 5000  # requests per hour, as DigitalOcean's `ratelimit-limit` says


def _add_hooks(app: Flask, do: DigitalOcean) -> None:
    """Authentication, DigitalOcean's error bodies, and on every /v2 answer: the faults,
    rate-limit headers and the request log."""

    @app.before_request
    def authenticate_and_refuse() -> Response | None:
        request.environ["standin.started"] = time.monotonic()
        if not request.path.startswith("/v2/"):
            return None
        if request.headers.get("Authorization") != f"Bearer {do.token}":
            raise ApiError(401, "unauthorized", "Unable to authenticate you")
        with do.lock:
            fault = do.take_fault(
                request.method, request.path, request.get_json(silent=True), (NO_EFFECT,)
            )
        if fault is None:
            return None
        request.environ["standin.fault"] = fault.effect
        return _fault_answer(fault, fault.status or 500)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return answer(
            {"id": error.error_id, "message": error.message, "request_id": str(uuid.uuid4())},
            error.status,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        error_id = {404: "not_found", 405: "method_not_allowed", 500: "server_error"}.get(
            status, "bad_request"
        )
        message = (
            "The resource you were accessing could not be found."
            if status == 404
            else str(error.description)
        )
        return answer({"id": error_id, "message": message, "request_id": str(uuid.uuid4())}, status)

    @app.after_request
    def finish(response: Response) -> Response:
        if not request.path.startswith("/v2/"):
            return response
        with do.lock:
            if "standin.fault" not in request.environ:
                fault = do.take_fault(
                    request.method, request.path, request.get_json(silent=True), (ACTED, DROPPED)
                )
                if fault is not None:
                    request.environ["standin.fault"] = fault.effect
                    response = _acted_fault(fault, response)
            remaining = max(0, RATE_LIMIT - len(do.requests) - 1)
            response.headers["ratelimit-limit"] = str(RATE_LIMIT)
            response.headers.setdefault("ratelimit-remaining", str(remaining))
            response.headers.setdefault("ratelimit-reset", str(int(time.time()) + 60))
            do.requests.append(
                {
                    "t": request.environ.get("standin.started", time.monotonic()),
                    "t_end": time.monotonic(),
                    "at": timestamp_now(),
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode(),
                    "status": response.status_code,
                    "body": request.get_json(silent=True),
                    "observed": request.environ.get("standin.observed"),
                    "fault": request.environ.get("standin.fault"),
                }
            )
        return response


def _fault_answer(fault: Fault, status: int) -> Response:
    """The fault's answer: its body (or DigitalOcean's for the status) and its headers; a 429
    carries DigitalOcean's rate-limit headers with nothing remaining."""
    body = fault.body if fault.body is not None else FAULT_BODIES.get(status, FAULT_BODIES[500])
    if isinstance(body, dict) and "id" in body:
        body = {**body, "request_id": str(uuid.uuid4())}
    response = Response(
        json.dumps(body), status=status, content_type="application/json; charset=utf-8"
    )
    if status == 429:
        response.headers["ratelimit-remaining"] = "0"
        response.headers["ratelimit-reset"] = str(int(time.time()) + 1)
        response.headers["retry-after"] = "1"
    for key, value in fault.headers.items():
        response.headers[key] = value
    return response


def _acted_fault(fault: Fault, response: Response) -> Response:
    """After the cloud acted: the fault's answer instead of the real one, or the real one with
    the recorder told to cut it mid-way."""
    if fault.effect == DROPPED:
        response.headers[DROP_HEADER] = DROP_VALUE
        return response
    if fault.status is None and fault.body is not None:  # a contract fault: same status
        return _fault_answer(fault, response.status_code)
    return _fault_answer(fault, fault.status or 500)


def _add_inspection_routes(route: Route, do: DigitalOcean) -> None:
    """Under /_standin (never sent through Prism): the state, the request log, deliberate
    contract faults and out-of-band changes."""

    @route("/_standin/state", ["GET"])
    def standin_state() -> Response:
        return answer(do.state())

    @route("/_standin/kubernetes/node_drains", ["GET"])
    def standin_node_drains() -> Response:
        """What each node's drain did (tests/e2e/digitalocean/standin/nodes.py)."""
        return answer([d.describe() for d in do.kubernetes.pools.drains])

    @route("/_standin/requests", ["GET"])
    def standin_requests() -> Response:
        return answer(do.requests)

    @route("/_standin/faults", ["POST"])
    def standin_fault_add() -> Response:
        spec = body()
        try:
            fault = Fault(
                method=str(spec["method"]).upper(),
                path=re.compile(str(spec["path"])),
                status=int(spec["status"]) if spec.get("status") is not None else None,
                body=spec.get("body"),
                times=int(spec.get("times", 1)),
                effect=str(spec.get("effect", ACTED)),
                headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
                body_match=dict(spec.get("body_match") or {}),
            )
        except (KeyError, ValueError, re.error) as problem:
            raise ApiError(400, "bad_request", f"a fault needs method, path: {problem}") from None
        if fault.effect not in EFFECTS:
            raise ApiError(400, "bad_request", f"effect must be one of {EFFECTS}")
        do.faults.append(fault)
        return answer(fault.describe(), 201)

    @route("/_standin/behaviour", ["GET", "PATCH"])
    def standin_behaviour() -> Response:
        """How slowly the cloud acts, its name check and its load-balancer limit
        (tests/e2e/digitalocean/standin/lifecycle.py)."""
        if request.method == "PATCH":
            do.behaviour.update(body())
        return answer(do.behaviour.describe())

    @route("/_standin/databases/<database_id>/firewall/rules", ["POST"])
    def standin_add_rule(database_id: str) -> Response:
        database = do.databases.get(database_id)
        return answer(do.database_settings.add_firewall_rule(database, body()), 201)

    @route("/_standin/databases/<database_id>/backups", ["POST"])
    def standin_backup(database_id: str) -> Response:
        """Out of band: the cluster's daily backup ran."""
        return answer(do.databases.take_backup(database_id), 201)

    @route("/_standin/kubernetes/clusters/<cluster_id>", ["PATCH"])
    def standin_cluster(cluster_id: str) -> Response:
        """Out of band: DOKS auto-upgraded the patch version."""
        cluster = do.kubernetes.get(cluster_id)
        return answer(do.kubernetes.set_version(cluster, body().get("version")))

    @route("/_standin/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["PATCH"])
    def standin_pool(cluster_id: str, pool_id: str) -> Response:
        """Out of band: the cluster autoscaler changed the node count."""
        pool = do.kubernetes.pool(cluster_id, pool_id)
        return answer(do.kubernetes.set_node_count(cluster_id, pool, body().get("count")))
