"""The typed sections of the settings, one per component; what the components take.

Each field that holds a config key names it (`setting("minNodes")`) and is filled from that
key's read value (`config/reading.py`): a whole number, a flag, or a typed value such as
`Resources` (CPU in millicores, memory in bytes) or `Cidr`. The other fields are computed from
several keys (`config/settings.py`). A new setting is its key in `config/schema.py`, its field
here, and the line of the component that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi

from config.values import Cidr, Resources


def setting(key: str) -> Any:
    """A section field filled from the config key `key`."""
    return dataclasses.field(metadata={"key": key})


def keys_of(section: type[Any]) -> dict[str, str]:
    """Field name -> the config key it is filled from."""
    return {
        field.name: field.metadata["key"]
        for field in dataclasses.fields(section)
        if "key" in field.metadata
    }


Section = TypeVar("Section")


def fill(section: type[Section], values: Mapping[str, Any], **computed: Any) -> Section:
    """The section with each `setting(key)` field from `values` and the others from `computed`."""
    from_config = {name: values[key] for name, key in keys_of(section).items()}
    return section(**from_config, **computed)


@dataclass(frozen=True)
class StackSettings:
    """What every resource of the stack shares: where it lives, its names, its protection."""

    name: str  # the stack's name
    name_prefix: str  # "posts-<stack>": the DigitalOcean names of this stack's resources
    tags: tuple[str, ...]
    region: str = setting("region")
    protect: bool = setting("protectResources")


@dataclass(frozen=True)
class NetworkSettings:
    vpc_ip_range: Cidr = setting("vpcIpRange")


@dataclass(frozen=True)
class ClusterSettings:
    # The stack's DigitalOcean API token (a Pulumi secret), for `auth == "token"`.
    digitalocean_token: pulumi.Output[str] | None
    version_prefix: str = setting("kubernetesVersionPrefix")
    cluster_subnet: Cidr = setting("clusterSubnet")
    service_subnet: Cidr = setting("serviceSubnet")
    node_size: str = setting("nodeSize")
    min_nodes: int = setting("minNodes")
    max_nodes: int = setting("maxNodes")
    ha_control_plane: bool = setting("haControlPlane")
    surge_upgrade: bool = setting("surgeUpgrade")
    auto_upgrade: bool = setting("autoUpgrade")
    maintenance_day: str = setting("maintenanceDay")
    maintenance_start_time: str = setting("maintenanceStartTime")
    auth: str = setting("kubernetesAuth")
    registry_integration: bool = setting("containerRegistryIntegration")


@dataclass(frozen=True)
class DatabaseSettings:
    engine: str
    version: str
    size: str
    node_count: int


@dataclass(frozen=True)
class DataSettings:
    mysql: DatabaseSettings
    cache: DatabaseSettings
    admin_sources: tuple[str, ...] = setting("databaseAdminSources")
    mysql_require_primary_key: bool = setting("mysqlRequirePrimaryKey")
    maintenance_day: str = setting("databaseMaintenanceDay")
    maintenance_hour: str = setting("databaseMaintenanceHour")


@dataclass(frozen=True)
class WorkerSettings:
    replicas: int = setting("workerReplicas")
    queues: str = setting("workerQueues")
    tries: int = setting("workerTries")
    timeout_seconds: int = setting("workerTimeoutSeconds")
    sleep_seconds: int = setting("workerSleepSeconds")
    max_jobs: int = setting("workerMaxJobs")
    max_time_seconds: int = setting("workerMaxTimeSeconds")


@dataclass(frozen=True)
class AppSecrets:
    """Values of the `posts` Secret that come from stack config; each a Pulumi secret."""

    app_key: pulumi.Output[str]
    aws_access_key_id: pulumi.Output[str]
    aws_secret_access_key: pulumi.Output[str]
    rollbar_token: pulumi.Output[str]
    health_check_email: pulumi.Output[str]
    image_pull_docker_config: pulumi.Output[str] | None


@dataclass(frozen=True)
class AppSettings:
    secrets: AppSecrets
    worker: WorkerSettings
    resources: dict[str, Resources]  # workload (and "migrate") -> resources
    image_registry: str = setting("imageRegistry")  # without a trailing "/"
    image_names: dict[str, str] = setting("imageNames")  # workload -> image name
    settings_overrides: dict[str, str] = setting("appSettings")  # ConfigMap additions
    namespace: str = setting("namespace")
    image_tag: str = setting("imageTag")
    api_min_replicas: int = setting("apiMinReplicas")
    api_max_replicas: int = setting("apiMaxReplicas")
    api_cpu_target_percent: int = setting("apiCpuTargetPercent")
    nginx_replicas: int = setting("nginxReplicas")
    frontend_replicas: int = setting("frontendReplicas")
    migrate_timeout_seconds: int = setting("migrateTimeoutSeconds")
    rollout_timeout_seconds: int = setting("rolloutTimeoutSeconds")

    def image(self, workload: str) -> str:
        return f"{self.image_registry}/{self.image_names[workload]}:{self.image_tag}"


@dataclass(frozen=True)
class EdgeSettings:
    hostname: str = setting("hostname")  # "" for none
    dns_domain: str = setting("dnsDomain")  # "" for none
    tls: bool = setting("tls")
    tls_email: str = setting("tlsEmail")
    timeout_seconds: int = setting("gatewayTimeoutSeconds")
