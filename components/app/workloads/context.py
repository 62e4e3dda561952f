"""What every object of the application shares: `AppContext`.

The `Application` component hands it to each workload module (api, nginx, worker, scheduler,
frontend, migrate): the component itself as the parent (so every object's URN stays under
`posts:app:Application`), the cluster's provider, the namespace every object waits for, the
settings, and what pods need to start (pull secrets, rollout annotations). Pod templates come
from the one builder in `components/app/pods.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from components.app import pods
from components.labels import DOKS_POOL_LABEL, POOL_ROLE_LABEL, labels
from config.sections import AppSettings

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
    node_pool: pulumi.Input[str]  # the name of the app's node pool (from the pool itself)

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

    def pod_template(
        self,
        workload: str,
        component: str,
        containers: list[dict[str, Any]],
        *,
        follow_pool: bool = True,
        **options: Any,
    ) -> dict[str, Any]:
        """The pod template of a workload of this release (`pods.pod_template`), on the app's
        pools only: never on the cluster's own pool. `follow_pool`: on the app's pool of this
        config by name, so that a new nodeSize rolls the workload onto the new pool before the
        old one is deleted (and the pods wait for the pool to exist)."""
        selector: dict[str, pulumi.Input[str]] = {POOL_ROLE_LABEL: "app"}
        if follow_pool:
            selector[DOKS_POOL_LABEL] = self.node_pool
        return pods.pod_template(
            workload,
            component,
            containers,
            version=self.settings.image_tag,
            image_pull_secrets=self.pull_secrets,
            node_selector=selector,
            **options,
        )

    def controller_meta(
        self, object_name: str, component: str, workload: str, containers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The metadata of a workload's Deployment, Job or CronJob: with the checkov exceptions
        its containers need, each with its reason."""
        return self.meta(
            object_name,
            component,
            workload,
            annotations=pods.checkov_skip_annotations(containers),
        )
