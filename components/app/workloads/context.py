"""What every object of the application shares, and how a workload becomes a Deployment.

`AppContext` is handed by the `Application` component to each workload module (api, nginx,
worker, scheduler, frontend, migrate): the component itself as the parent (so every object's URN
stays under `posts:app:Application`), the cluster's provider, the namespace every object waits
for, the settings, and what pods need to start (pull secrets, rollout annotations). Pod specs
come from the one builder in `components/workload.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from components.app import pods
from components.labels import labels, selector
from config.sections import AppSettings
from model.capacity import MAX_SURGE_PERCENT

CONFIG_MAP = "posts"
SECRET = "posts"
PHP_FPM_PORT = 9000
HTTP_PORT = 80


@dataclass(frozen=True)
class AppContext:
    component: pulumi.Resource  # the Application: every object's parent
    name: str  # the component's name, the start of every logical name ("app")
    settings: AppSettings
    provider: kubernetes.Provider
    namespace: kubernetes.core.v1.Namespace
    pull_secrets: list[str]
    rollout_annotations: dict[str, pulumi.Input[str]]

    def opts(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        """Objects use the cluster's provider and wait for the namespace they live in."""
        return pulumi.ResourceOptions(
            parent=self.component,
            provider=self.provider,
            depends_on=[self.namespace, *(depends_on or [])],
        )

    def meta(
        self, object_name: str, component: str, workload: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": object_name,
            "namespace": self.settings.namespace,
            "labels": labels(workload or object_name, component),
        }
        meta.update(extra)
        return meta

    def php_container(self, workload: str, **overrides: Any) -> pods.ContainerSpec:
        """A container of the Laravel app (the api image), with the ConfigMap and the Secret as
        its environment."""
        image_workload = "api" if workload == "migrate" else workload
        return pods.ContainerSpec(
            name=workload,
            image=self.settings.image(image_workload),
            resources=self.settings.resources[workload],
            env_from=pods.env_from(CONFIG_MAP, SECRET),
            **overrides,
        )

    def deployment(
        self,
        workload: str,
        component: str,
        containers: list[dict[str, Any]],
        *,
        replicas: int | None,
        grace_seconds: int = 30,
        rollout_annotations: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> kubernetes.apps.v1.Deployment:
        template_annotations: dict[str, pulumi.Input[str]] = (
            dict(self.rollout_annotations) if rollout_annotations else {}
        )
        spec: dict[str, Any] = {
            "selector": {"matchLabels": selector(workload)},
            "revisionHistoryLimit": 5,
            # New pods must be ready before an old one goes: no capacity dip during a release.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": f"{MAX_SURGE_PERCENT}%", "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": {
                        **labels(workload, component),
                        "app.kubernetes.io/version": self.settings.image_tag,
                    },
                    **({"annotations": template_annotations} if template_annotations else {}),
                },
                "spec": pods.pod_spec(
                    containers,
                    termination_grace_seconds=grace_seconds,
                    spread_selector=selector(workload),
                    image_pull_secrets=self.pull_secrets,
                ),
            },
        }
        if replicas is not None:
            spec = {"replicas": replicas, **spec}
        return kubernetes.apps.v1.Deployment(
            f"{self.name}-deployment-{workload}",
            metadata=self.meta(
                workload, component, annotations=pods.checkov_skip_annotations(containers)
            ),
            spec=spec,
            opts=self.opts(depends_on),
        )

    def service(self, service_name: str, workload: str, port: int, port_name: str) -> None:
        """A ClusterIP Service in front of a workload's pods."""
        kubernetes.core.v1.Service(
            f"{self.name}-service-{workload}",
            metadata=self.meta(service_name, "service", workload),
            spec={
                "type": "ClusterIP",
                "selector": selector(workload),
                "ports": [{"name": port_name, "protocol": "TCP", "port": port, "targetPort": port}],
            },
            opts=self.opts(),
        )

    def disruption_budget(self, workload: str) -> None:
        """At most one of the workload's pods down at a time in voluntary disruptions (drains)."""
        kubernetes.policy.v1.PodDisruptionBudget(
            f"{self.name}-pdb-{workload}",
            metadata=self.meta(workload, "disruption-budget"),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector(workload)}},
            opts=self.opts(),
        )
