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

from tests.e2e.standin.account import DigitalOcean, Fault
from tests.e2e.standin.common import ApiError, timestamp_now
from tests.e2e.standin.routes import (
    Handler,
    Route,
    add_database_content_routes,
    add_database_routes,
    add_domain_routes,
    add_kubernetes_routes,
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
    add_tag_routes(route, digitalocean)
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


def _add_hooks(app: Flask, do: DigitalOcean) -> None:
    """Authentication, DigitalOcean's error bodies, and on every /v2 answer: the deliberate
    faults, rate-limit headers and the request log."""

    @app.before_request
    def authenticate() -> None:
        request.environ["standin.started"] = time.monotonic()
        if request.path.startswith("/v2/") and (
            request.headers.get("Authorization") != f"Bearer {do.token}"
        ):
            raise ApiError(401, "unauthorized", "Unable to authenticate you")

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
            response = _apply_fault(do, response)
            remaining = max(0, 5000 - len(do.requests) - 1)
            response.headers["ratelimit-limit"] = "5000"
            response.headers["ratelimit-remaining"] = str(remaining)
            response.headers["ratelimit-reset"] = str(int(time.time()) + 60)
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
                }
            )
        return response


def _apply_fault(do: DigitalOcean, response: Response) -> Response:
    for fault in do.faults:
        if fault.method == request.method and fault.path.fullmatch(request.path):
            fault.times -= 1
            if fault.times <= 0:
                do.faults.remove(fault)
            faulty = Response(
                json.dumps(fault.body),
                status=fault.status or response.status_code,
                content_type="application/json; charset=utf-8",
            )
            return faulty
    return response


def _add_inspection_routes(route: Route, do: DigitalOcean) -> None:
    """Under /_standin (never sent through Prism): the state, the request log, deliberate
    contract faults and out-of-band changes."""

    @route("/_standin/state", ["GET"])
    def standin_state() -> Response:
        return answer(do.state())

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
            )
        except (KeyError, ValueError, re.error) as problem:
            raise ApiError(400, "bad_request", f"a fault needs method, path: {problem}") from None
        do.faults.append(fault)
        return answer(fault.describe(), 201)

    @route("/_standin/databases/<database_id>/firewall/rules", ["POST"])
    def standin_add_rule(database_id: str) -> Response:
        database = do.databases.get(database_id)
        return answer(do.database_settings.add_firewall_rule(database, body()), 201)

    @route("/_standin/kubernetes/clusters/<cluster_id>", ["PATCH"])
    def standin_cluster(cluster_id: str) -> Response:
        """Out of band: DOKS auto-upgraded the patch version."""
        cluster = do.kubernetes.get(cluster_id)
        return answer(do.kubernetes.set_version(cluster, body().get("version")))

    @route("/_standin/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["PATCH"])
    def standin_pool(cluster_id: str, pool_id: str) -> Response:
        """Out of band: the cluster autoscaler changed the node count."""
        pool = do.kubernetes.pool(cluster_id, pool_id)
        return answer(do.kubernetes.set_node_count(pool, body().get("count")))
