"""A replicated workload: its Deployment, its PodDisruptionBudget and, with a port, its Service.

Decided once for the api, the worker, nginx and the frontend: rolling updates that add pods
before removing any (no capacity dip during a release), replicas spread across nodes, at most
one pod down in a drain, a ClusterIP Service in front of the pods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from components.app.workloads.context import AppContext
from components.labels import selector
from model.capacity import MAX_SURGE_PERCENT

# How long after a rollout's progress deadline `pulumi up` gives up on it: Kubernetes marks the
# Deployment within a second or two of the deadline.
ROLLOUT_REPORT_SECONDS = 15


@dataclass(frozen=True)
class ServicePort:
    """The Service in front of a workload: its name (what clients use) and its one port."""

    name: str  # e.g. "api-service"
    port: int
    port_name: str  # e.g. "fastcgi", "http"


@dataclass(frozen=True)
class Replicated:
    """What a replicated workload is made of."""

    deployment: kubernetes.apps.v1.Deployment
    disruption_budget: kubernetes.policy.v1.PodDisruptionBudget
    service: kubernetes.core.v1.Service | None


def replicated(
    app: AppContext,
    workload: str,
    component: str,
    containers: list[dict[str, Any]],
    *,
    replicas: int | None,
    after: list[pulumi.Resource],
    service: ServicePort | None = None,
    grace_seconds: int = 30,
    rollout_annotations: bool = False,
) -> Replicated:
    """`replicas` None: an autoscaler owns the count. `after`: what the Deployment waits for
    (the release's migration). `rollout_annotations`: the pods roll when the ConfigMap or the
    Secret changes (the pods that read them at start)."""
    deadline = app.settings.rollout_timeout_seconds
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector(workload)},
        "revisionHistoryLimit": 5,
        # A rollout with no progress for this long is failed by Kubernetes itself
        # (Progressing=False, ProgressDeadlineExceeded), which `pulumi up` then reports.
        "progressDeadlineSeconds": deadline,
        # New pods must be ready before an old one goes: no capacity dip during a release.
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": f"{MAX_SURGE_PERCENT}%", "maxUnavailable": 0},
        },
        "template": app.pod_template(
            workload,
            component,
            containers,
            annotations=app.rollout_annotations if rollout_annotations else None,
            termination_grace_seconds=grace_seconds,
            spread=True,
        ),
    }
    if replicas is not None:
        spec = {"replicas": replicas, **spec}
    # `pulumi up` waits a little longer than the deadline, so that its error carries
    # Kubernetes's reason; the provider's own default is 10 minutes.
    wait = f"{deadline + ROLLOUT_REPORT_SECONDS}s"
    deployment = kubernetes.apps.v1.Deployment(
        f"{app.name}-deployment-{workload}",
        metadata=app.controller_meta(workload, component, workload, containers),
        spec=spec,
        opts=pulumi.ResourceOptions.merge(
            app.opts(after),
            pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait)),
        ),
    )
    return Replicated(
        deployment=deployment,
        disruption_budget=_disruption_budget(app, workload),
        service=_service(app, workload, service) if service is not None else None,
    )


def _service(app: AppContext, workload: str, service: ServicePort) -> kubernetes.core.v1.Service:
    """A ClusterIP Service in front of a workload's pods."""
    port = service.port
    return kubernetes.core.v1.Service(
        f"{app.name}-service-{workload}",
        metadata=app.meta(service.name, "service", workload),
        spec={
            "type": "ClusterIP",
            "selector": selector(workload),
            "ports": [
                {"name": service.port_name, "protocol": "TCP", "port": port, "targetPort": port}
            ],
        },
        opts=app.opts(),
    )


def _disruption_budget(app: AppContext, workload: str) -> kubernetes.policy.v1.PodDisruptionBudget:
    """At most one of the workload's pods down at a time in voluntary disruptions (drains)."""
    return kubernetes.policy.v1.PodDisruptionBudget(
        f"{app.name}-pdb-{workload}",
        metadata=app.meta(workload, "disruption-budget"),
        spec={"maxUnavailable": 1, "selector": {"matchLabels": selector(workload)}},
        opts=app.opts(),
    )
