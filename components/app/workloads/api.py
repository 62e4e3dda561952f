"""api: php-fpm on port 9000 behind `api-service`, scaled by CPU between its bounds."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.app import pods
from components.app.workloads.context import PHP_FPM_PORT, AppContext
from components.app.workloads.deployments import Replicated, ServicePort, replicated


@dataclass(frozen=True)
class Api:
    replicated: Replicated
    autoscaler: kubernetes.autoscaling.v2.HorizontalPodAutoscaler


def api(app: AppContext, after: list[pulumi.Resource]) -> Api:
    """`after`: the release's migration."""
    php_fpm = pods.container(
        app.php_container(
            "api",
            port=PHP_FPM_PORT,
            port_name="fastcgi",
            capabilities=pods.SWITCH_USER,
            # php-fpm accepts FastCGI on 9000 once its pool is up; a wedged master stops
            # accepting and is restarted.
            readiness=pods.tcp_probe(PHP_FPM_PORT, period=5, failures=3),
            liveness=pods.tcp_probe(PHP_FPM_PORT, period=10, failures=6, initial_delay=10),
            pre_stop_sleep_seconds=5,
        )
    )
    # No `replicas`: the HorizontalPodAutoscaler owns the count (4 to 8).
    created = replicated(
        app,
        "api",
        "php-fpm",
        [php_fpm],
        replicas=None,
        after=after,
        service=ServicePort("api-service", PHP_FPM_PORT, "fastcgi"),
        rollout_annotations=True,
    )
    return Api(created, _autoscaler(app, created.deployment))


def _autoscaler(
    app: AppContext, deployment: kubernetes.apps.v1.Deployment
) -> kubernetes.autoscaling.v2.HorizontalPodAutoscaler:
    settings = app.settings
    return kubernetes.autoscaling.v2.HorizontalPodAutoscaler(
        f"{app.name}-hpa-api",
        metadata=app.meta("api", "autoscaler"),
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "minReplicas": settings.api_min_replicas,
            "maxReplicas": settings.api_max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": settings.api_cpu_target_percent,
                        },
                    },
                }
            ],
            # Scale up at once, scale down only after 5 calm minutes.
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
        opts=app.opts([deployment]),
    )
