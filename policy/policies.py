"""The rules every posts-infra stack must keep, as Pulumi policies.

Run by the engine with `pulumi preview --policy-pack policy` (see `__main__.py`), and offline by
the tests, which feed them the resources the program registers under mocks. Self-contained on
purpose: the pack judges the program, so it shares no code with it.

Resource policies see each resource's inputs as the engine receives them (camelCase keys, secrets
unwrapped); stack policies see every resource with its outputs and its property dependencies.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DATABASE_CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
DATABASE_DB = "digitalocean:index/databaseDb:DatabaseDb"
DATABASE_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
KUBERNETES_CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"

# Where a pod template sits in each workload kind.
POD_TEMPLATE_PATHS = {
    "kubernetes:core/v1:Pod": (),
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# Tags that move from release to release; a pod restarted later would run other code.
MOVING_TAGS = {"latest", "stable", "main", "master", "edge", "dev"}
SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE")
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)


def whole_number(value: Any) -> int | None:
    """An integer input as the engine sends it: every number arrives as a float (`4.0`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def containers(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every (init) container of a workload resource, with a readable location."""
    path = POD_TEMPLATE_PATHS.get(args.resource_type)
    if path is None:
        return
    node: Any = args.props
    for key in path:
        node = (node or {}).get(key)
    spec = (node or {}).get("spec") or {}
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            yield f"{args.name}: {field} '{container.get('name')}'", container


# -- images --------------------------------------------------------------------------------------


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (Kubernetes pulls 'latest')"
    tag = last.rsplit(":", 1)[1]
    if tag in MOVING_TAGS:
        return f"uses the moving tag '{tag}'"
    return None


def validate_image_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container in containers(args):
        image = container.get("image") or ""
        problem = image_problem(image)
        if problem:
            report(f"{where}: image '{image}' {problem}; pin a release tag or a digest", None)


no_moving_image_tags = ResourceValidationPolicy(
    name="no-moving-image-tags",
    description="Every container image is pinned: a release tag or digest, never untagged or a"
    " moving tag (latest, stable, main, master, edge, dev), so a rollout and a rollback run"
    " exactly the reviewed code.",
    validate=validate_image_tags,
)


# -- resources -----------------------------------------------------------------------------------


def validate_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    require_cpu_limit = bool(args.get_config().get("requireCpuLimit", False))
    for where, container in containers(args):
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        missing = [f"requests.{r}" for r in ("cpu", "memory") if r not in requests]
        missing += ["limits.memory"] if "memory" not in limits else []
        missing += ["limits.cpu"] if require_cpu_limit and "cpu" not in limits else []
        if missing:
            report(f"{where}: sets no {', '.join(missing)}", None)


requests_and_limits = ResourceValidationPolicy(
    name="requests-and-limits",
    description="Every container requests CPU and memory (the scheduler and the HPA need them)"
    " and limits memory. A CPU limit is required only with requireCpuLimit: by default it is"
    " not, because CPU limits throttle php-fpm under load.",
    validate=validate_resources,
    config_schema=PolicyConfigSchema(
        properties={"requireCpuLimit": {"type": "boolean", "default": False}}
    ),
)


# -- ConfigMaps ----------------------------------------------------------------------------------


def validate_config_map(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONFIG_MAP:
        return
    for section in ("data", "binaryData"):
        for key, value in (args.props.get(section) or {}).items():
            if any(word in key.upper() for word in SECRET_WORDS):
                report(
                    f"{args.name}: key '{key}' looks like a credential; put it in a Secret", None
                )
            elif isinstance(value, str) and URL_WITH_PASSWORD.search(value):
                report(f"{args.name}: '{key}' holds a URL with a password; use a Secret", None)


no_secret_in_config_map = ResourceValidationPolicy(
    name="no-secret-in-configmap",
    description="No ConfigMap key looks like a credential (KEY, SECRET, TOKEN, PASSWORD,"
    " CREDENTIAL, PRIVATE) and no value is a URL with a password: ConfigMaps are not secret.",
    validate=validate_config_map,
)


# -- databases -----------------------------------------------------------------------------------


def world_open(cidr: str) -> str | None:
    """Why an `ip_addr` trusted source opens the database to the internet, if it does."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None  # not a CIDR: the provider rejects it
    if network.prefixlen == 0:
        return "is the whole internet"
    if not network.is_private and network.prefixlen < 16:
        return f"admits {network.num_addresses:,} public addresses"
    return None


def validate_database_firewall(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DATABASE_FIREWALL:
        return
    rules = args.props.get("rules") or []
    if not rules:
        report(f"{args.name}: no rules; a database without trusted sources is open to all", None)
    for rule in rules:
        if rule.get("type") == "ip_addr":
            reason = world_open(str(rule.get("value", "")))
            if reason:
                report(f"{args.name}: trusted source {rule.get('value')} {reason}", None)


database_firewalls_closed = ResourceValidationPolicy(
    name="database-firewalls-closed",
    description="Database firewalls admit the cluster and named admin addresses, never the"
    " world: no 0.0.0.0/0 or ::/0, no public range wider than a /16, no empty rule list.",
    validate=validate_database_firewall,
)


def validate_every_database_has_firewall(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    guarded = {
        dependency.urn
        for resource in args.resources
        if resource.resource_type == DATABASE_FIREWALL
        for dependency in resource.property_dependencies.get("clusterId", [])
    }
    for resource in args.resources:
        if resource.resource_type == DATABASE_CLUSTER and resource.urn not in guarded:
            report(f"{resource.name}: no database firewall; it accepts any address", resource.urn)


every_database_has_firewall = StackValidationPolicy(
    name="every-database-has-firewall",
    description="Every managed database cluster has a database firewall (DigitalOcean leaves a"
    " cluster without trusted sources open to any address).",
    validate=validate_every_database_has_firewall,
)


def validate_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (DATABASE_CLUSTER, DATABASE_DB) and not args.opts.protect:
        report(
            f"{args.name}: not protected; a mistaken `pulumi up` or destroy would drop data", None
        )


databases_protected = ResourceValidationPolicy(
    name="databases-protected",
    description="Managed database clusters and databases are `protect`ed: deleting them needs an"
    " explicit unprotect first.",
    validate=validate_protected,
)


# -- autoscaling ---------------------------------------------------------------------------------


def validate_autoscaling(args: ResourceValidationArgs, report: ReportViolation) -> None:
    ceiling = int(args.get_config().get("maxNodesCeiling", 20))
    replica_ceiling = int(args.get_config().get("maxReplicasCeiling", 50))
    if args.resource_type in (KUBERNETES_CLUSTER, NODE_POOL):
        pool = (
            args.props.get("nodePool") if args.resource_type == KUBERNETES_CLUSTER else args.props
        )
        pool = pool or {}
        if not pool.get("autoScale"):
            report(f"{args.name}: the node pool does not autoscale", None)
            return
        low, high = whole_number(pool.get("minNodes")), whole_number(pool.get("maxNodes"))
        if low is None or high is None:
            report(f"{args.name}: autoscaling needs minNodes and maxNodes", None)
        elif not 1 <= low <= high <= ceiling:
            report(
                f"{args.name}: nodes {low}..{high} is not within 1 <= min <= max <= {ceiling}", None
            )
    elif args.resource_type == HPA:
        spec = args.props.get("spec") or {}
        low, high = whole_number(spec.get("minReplicas", 1)), whole_number(spec.get("maxReplicas"))
        if low is None or high is None or not 1 <= low <= high <= replica_ceiling:
            report(
                f"{args.name}: replicas {low}..{high} is not within"
                f" 1 <= min <= max <= {replica_ceiling}",
                None,
            )
        if not spec.get("metrics"):
            report(f"{args.name}: no metrics; the HPA would scale on nothing", None)


autoscaling_bounds = ResourceValidationPolicy(
    name="autoscaling-bounds",
    description="Node pools autoscale within 1 <= minNodes <= maxNodes <= maxNodesCeiling;"
    " HPAs within 1 <= minReplicas <= maxReplicas <= maxReplicasCeiling, on some metric.",
    validate=validate_autoscaling,
    config_schema=PolicyConfigSchema(
        properties={
            "maxNodesCeiling": {"type": "integer", "default": 20},
            "maxReplicasCeiling": {"type": "integer", "default": 50},
        }
    ),
)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    no_moving_image_tags,
    requests_and_limits,
    no_secret_in_config_map,
    database_firewalls_closed,
    every_database_has_firewall,
    databases_protected,
    autoscaling_bounds,
]
ENFORCEMENT = EnforcementLevel.MANDATORY
