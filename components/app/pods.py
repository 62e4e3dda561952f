"""Kubernetes object specs for the app's workloads, with the hardening decided once, here.

Specs are plain dicts in the API's own camelCase, so each reads as `kubectl get -o yaml` shows it.

What the seed's images allow: they are the stock php-fpm and nginx images with the app baked in,
and both start as root (php-fpm's master and nginx's master switch their workers to an
unprivileged user, nginx binds port 80, and Laravel writes `storage/` and `bootstrap/cache`
inside the image). So containers keep root and a writable root filesystem, but every one drops all
Linux capabilities except the few its process needs, cannot gain privileges, runs under the
RuntimeDefault seccomp profile, and mounts no service-account token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.labels import labels, selector
from config.values import Resources

ARTISAN = "/usr/src/artisan"  # where the seed's images keep Laravel's artisan

# Capabilities a master process needs to switch its workers to an unprivileged user.
SWITCH_USER = ["SETUID", "SETGID"]
# nginx's master also binds port 80 and prepares its cache directories for its workers.
NGINX_CAPABILITIES = [*SWITCH_USER, "NET_BIND_SERVICE", "CHOWN", "DAC_OVERRIDE"]

# checkov findings this design accepts, each with its reason (written on the object as a
# `checkov.io/skip-<check>` annotation, which checkov reads). The first set holds for every
# workload.
CHECKOV_SKIPS_COMMON = {
    "CKV_K8S_11": "no CPU limit on purpose: CPU limits throttle php-fpm under load; requests"
    " are set and the HPA scales on them",
    "CKV_K8S_15": "IfNotPresent on purpose: tags are immutable releases, so Always would only add"
    " a registry round trip (and Docker Hub rate limits) to every pod start and HPA scale-out",
    "CKV_K8S_22": "the seed's images write inside the image (Laravel storage/ and"
    " bootstrap/cache, nginx's cache); a read-only root breaks them",
    "CKV_K8S_23": "the seed's images start as root (php-fpm/nginx masters drop to an"
    " unprivileged user for their workers); all capabilities but those are dropped",
    "CKV_K8S_40": "see CKV_K8S_23: the images' user is root; no UID of 10000 or above"
    " exists in them",
    "CKV_K8S_43": "images are pinned by an immutable release tag (the commit SHA), not a digest",
}
# Only where a container adds capabilities back after dropping ALL.
CHECKOV_SKIP_ADDED_CAPABILITIES = {
    "CKV_K8S_25": "the master process needs these few capabilities to switch its workers to an"
    " unprivileged user (and nginx to bind port 80); every other capability is dropped",
}
# Only where a container takes the app's Secret as environment variables.
CHECKOV_SKIP_SECRET_ENV = {
    "CKV_K8S_35": "Laravel reads its credentials from the environment (the seed's design); the"
    " Secret is namespaced, and pods mount no service-account token",
}


def resources(spec: Resources) -> dict[str, Any]:
    return {
        "requests": {"cpu": spec.cpu_request.text, "memory": spec.memory_request.text},
        "limits": {"memory": spec.memory_limit.text},
    }


def env_from(config_map: str, secret: str) -> list[dict[str, Any]]:
    return [{"configMapRef": {"name": config_map}}, {"secretRef": {"name": secret}}]


def tcp_probe(port: int, *, period: int, failures: int, initial_delay: int = 0) -> dict[str, Any]:
    return {
        "tcpSocket": {"port": port},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def http_probe(path: str, port: int, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def exec_probe(command: list[str], *, period: int, failures: int) -> dict[str, Any]:
    return {
        "exec": {"command": command},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    resources: Resources
    capabilities: list[str] = field(default_factory=list)  # added back after dropping ALL
    command: list[str] | None = None
    port: int | None = None
    port_name: str = "http"
    env_from: list[dict[str, Any]] = field(default_factory=list)
    readiness: dict[str, Any] | None = None
    liveness: dict[str, Any] | None = None
    pre_stop_sleep_seconds: int | None = None


def container(spec: ContainerSpec) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": spec.name,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",  # tags are immutable releases
    }
    if spec.command:
        body["command"] = spec.command
    if spec.port is not None:
        body["ports"] = [
            {
                "name": spec.port_name,
                "containerPort": spec.port,
                "protocol": "TCP",
            }
        ]
    if spec.env_from:
        body["envFrom"] = spec.env_from
    body["resources"] = resources(spec.resources)
    if spec.readiness:
        body["readinessProbe"] = spec.readiness
    if spec.liveness:
        body["livenessProbe"] = spec.liveness
    if spec.pre_stop_sleep_seconds:
        # Let the Service and the Gateway stop sending traffic before the process gets SIGTERM.
        body["lifecycle"] = {"preStop": {"sleep": {"seconds": spec.pre_stop_sleep_seconds}}}
    body["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {
            "drop": ["ALL"],
            **({"add": spec.capabilities} if spec.capabilities else {}),
        },
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return body


def pod_template(
    workload: str,
    component: str,
    containers: list[dict[str, Any]],
    *,
    version: str,
    image_pull_secrets: list[str],
    annotations: Mapping[str, pulumi.Input[str]] | None = None,
    restart_policy: str = "Always",
    termination_grace_seconds: int = 30,
    spread: bool = False,
    node_selector: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict[str, Any]:
    """The one pod template of every workload (the Deployments, the migrate Job, the scheduler's
    CronJob): its labels with the release, and the pod spec with the secure defaults."""
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,  # nothing in the app talks to the Kubernetes API
        "enableServiceLinks": False,  # no Docker-link env vars clashing with Laravel's
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": termination_grace_seconds,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers,
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in image_pull_secrets]
    if spread:
        # Replicas on different nodes where there are several; never blocks scheduling on one.
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector(workload)},
            }
        ]
    metadata: dict[str, Any] = {
        "labels": {**labels(workload, component), "app.kubernetes.io/version": version}
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"metadata": metadata, "spec": spec}


def checkov_skip_annotations(containers: list[dict[str, Any]]) -> dict[str, str]:
    """`checkov.io/skip-<check>` annotations for a workload: each deliberate exception with its
    reason, keyed by the check so adding one leaves the others' lines unchanged in a diff.

    Exceptions that depend on the containers are only claimed where the containers need them.
    Checkov splits each value at `=`, so a reason must not contain one (the checkov
    test would fail on it).
    """
    reasons = dict(CHECKOV_SKIPS_COMMON)
    if any(c["securityContext"]["capabilities"].get("add") for c in containers):
        reasons.update(CHECKOV_SKIP_ADDED_CAPABILITIES)
    if any("secretRef" in source for c in containers for source in c.get("envFrom", [])):
        reasons.update(CHECKOV_SKIP_SECRET_ENV)
    return {f"checkov.io/skip-{check}": f"{check}={reason}" for check, reason in reasons.items()}
