"""frontend: the static front end on port 80 behind `frontend-service`."""

from __future__ import annotations

import pulumi

from components.app import pods
from components.app.workloads.context import HTTP_PORT, AppContext


def frontend(app: AppContext, after: list[pulumi.Resource]) -> None:
    """`after`: the release's migration, so a failed release leaves the whole app on the previous
    one."""
    settings = app.settings
    container = pods.container(
        pods.ContainerSpec(
            name="frontend",
            image=settings.image("frontend"),
            resources=settings.resources["frontend"],
            port=HTTP_PORT,
            capabilities=pods.NGINX_CAPABILITIES,
            readiness=pods.http_probe("/", HTTP_PORT, period=5, failures=3),
            liveness=pods.tcp_probe(HTTP_PORT, period=10, failures=6, initial_delay=5),
            pre_stop_sleep_seconds=5,
        )
    )
    app.deployment(
        "frontend", "frontend", [container], replicas=settings.frontend_replicas, depends_on=after
    )
    app.service("frontend-service", "frontend", HTTP_PORT, "http")
    app.disruption_budget("frontend")
