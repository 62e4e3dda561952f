"""The two static web servers on port 80: nginx (hands PHP to `api-service:9000`) behind
`nginx-service`, and the frontend behind `frontend-service`. One builder: the same image shape
(an nginx master), capabilities, probes' timing, shutdown and Service; they differ in what
says they are ready."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.app import pods
from components.app.workloads.context import HTTP_PORT, AppContext
from components.app.workloads.deployments import Replicated, ServicePort, replicated


@dataclass(frozen=True)
class WebServer:
    workload: str  # its image and its objects' name
    component: str  # its `app.kubernetes.io/component`
    replicas: int
    readiness: dict[str, Any]


def nginx(app: AppContext, after: list[pulumi.Resource]) -> Replicated:
    """`after`: the release's migration, so a failed release leaves the whole app on the previous
    one."""
    # The seed's nginx image forwards PHP to `api-service:9000` (its fastcgi_pass).
    # Ready by TCP, not an HTTP path: every path of this nginx goes to php-fpm, and nginx must
    # stay ready (and alive) while api pods roll.
    readiness = pods.tcp_probe(HTTP_PORT, period=5, failures=3)
    return web_server(app, WebServer("nginx", "web", app.settings.nginx_replicas, readiness), after)


def frontend(app: AppContext, after: list[pulumi.Resource]) -> Replicated:
    """`after`: the release's migration, as for nginx."""
    readiness = pods.http_probe("/", HTTP_PORT, period=5, failures=3)
    server = WebServer("frontend", "frontend", app.settings.frontend_replicas, readiness)
    return web_server(app, server, after)


def web_server(app: AppContext, server: WebServer, after: list[pulumi.Resource]) -> Replicated:
    container = pods.container(
        pods.ContainerSpec(
            name=server.workload,
            image=app.settings.image(server.workload),
            resources=app.settings.resources[server.workload],
            port=HTTP_PORT,
            capabilities=pods.NGINX_CAPABILITIES,
            readiness=server.readiness,
            liveness=pods.tcp_probe(HTTP_PORT, period=10, failures=6, initial_delay=5),
            pre_stop_sleep_seconds=5,
        )
    )
    return replicated(
        app,
        server.workload,
        server.component,
        [container],
        replicas=server.replicas,
        after=after,
        service=ServicePort(f"{server.workload}-service", HTTP_PORT, "http"),
    )
