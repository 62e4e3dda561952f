"""nginx: the web server on port 80 behind `nginx-service`; hands PHP to `api-service:9000`."""

from __future__ import annotations

import pulumi

from components.app import pods
from components.app.workloads.context import HTTP_PORT, AppContext


def nginx(app: AppContext, after: list[pulumi.Resource]) -> None:
    """`after`: the release's migration, so a failed release leaves the whole app on the previous
    one."""
    settings = app.settings
    # The seed's nginx image forwards PHP to `api-service:9000` (its fastcgi_pass).
    container = pods.container(
        pods.ContainerSpec(
            name="nginx",
            image=settings.image("nginx"),
            resources=settings.resources["nginx"],
            port=HTTP_PORT,
            capabilities=pods.NGINX_CAPABILITIES,
            # TCP, not an HTTP path: every path of this nginx goes to php-fpm, and nginx
            # must stay ready (and alive) while api pods roll.
            readiness=pods.tcp_probe(HTTP_PORT, period=5, failures=3),
            liveness=pods.tcp_probe(HTTP_PORT, period=10, failures=6, initial_delay=5),
            pre_stop_sleep_seconds=5,
        )
    )
    app.deployment("nginx", "web", [container], replicas=settings.nginx_replicas, depends_on=after)
    app.service("nginx-service", "nginx", HTTP_PORT, "http")
    app.disruption_budget("nginx")
