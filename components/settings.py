"""Stack config, read and validated once into a typed `Settings`, one section per component.

Every problem is collected and reported together in one `ConfigError` before any resource is
registered, naming each bad key and what it accepts (`components/config_checks.py`).
`ConfigError` is a `pulumi.RunError`, so the CLI prints the message without a Python traceback.

Each section field that holds a config key names it (`setting("minNodes")`); `parse_settings`
fills those fields from the checked values. A new setting is its key in
`components/config_schema.py`, its field here, and the line of the component that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi.runtime.config as runtime_config

from components import capacity, config_checks
from components.config_schema import WORKLOADS, ConfigValue


class ConfigError(pulumi.RunError):
    """Bad stack config: the message lists every problem, one line each."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"stack '{stack}' has {len(problems)} bad config value(s); nothing was changed:\n"
            f"{lines}\n"
            f"Fix them with `pulumi config set -s {stack} <key> <value>` "
            "(see docs/config-reference.md)."
        )


@dataclass(frozen=True)
class RawConfig:
    """The stack's config as the engine hands it over: `project:key` -> string value."""

    values: Mapping[str, str]
    secret_keys: frozenset[str]

    @staticmethod
    def from_runtime() -> RawConfig:
        """Everything the engine passed to this program (CLI, or `set_all_config` in tests)."""
        values: dict[str, str] = {}
        values.update(runtime_config.get_config_env())
        values.update(runtime_config.CONFIG.get())
        secret_keys = set(runtime_config.get_config_secret_keys_env())
        secret_keys.update(runtime_config._SECRET_KEYS.get())
        return RawConfig(values=values, secret_keys=frozenset(secret_keys))


def setting(key: str) -> Any:
    """A section field filled from the config key `key`."""
    return dataclasses.field(metadata={"key": key})


# -- the sections --------------------------------------------------------------------------------


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
    vpc_ip_range: str = setting("vpcIpRange")


@dataclass(frozen=True)
class ClusterSettings:
    # The stack's DigitalOcean API token (a Pulumi secret), for `auth == "token"`.
    digitalocean_token: pulumi.Output[str] | None
    version_prefix: str = setting("kubernetesVersionPrefix")
    cluster_subnet: str = setting("clusterSubnet")
    service_subnet: str = setting("serviceSubnet")
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
    admin_sources: tuple[str, ...]
    mysql_require_primary_key: bool = setting("mysqlRequirePrimaryKey")
    maintenance_day: str = setting("databaseMaintenanceDay")
    maintenance_hour: str = setting("databaseMaintenanceHour")


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    memory_limit: str


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
    image_registry: str
    image_names: dict[str, str]  # workload -> image name
    settings_overrides: dict[str, str]  # ConfigMap additions from appSettings
    secrets: AppSecrets
    worker: WorkerSettings
    resources: dict[str, Resources]  # workload (and "migrate") -> resources
    namespace: str = setting("namespace")
    image_tag: str = setting("imageTag")
    api_min_replicas: int = setting("apiMinReplicas")
    api_max_replicas: int = setting("apiMaxReplicas")
    api_cpu_target_percent: int = setting("apiCpuTargetPercent")
    nginx_replicas: int = setting("nginxReplicas")
    frontend_replicas: int = setting("frontendReplicas")
    migrate_timeout_seconds: int = setting("migrateTimeoutSeconds")

    def image(self, workload: str) -> str:
        return f"{self.image_registry}/{self.image_names[workload]}:{self.image_tag}"


@dataclass(frozen=True)
class EdgeSettings:
    hostname: str = setting("hostname")  # "" for none
    dns_domain: str = setting("dnsDomain")  # "" for none
    tls: bool = setting("tls")
    tls_email: str = setting("tlsEmail")


@dataclass(frozen=True)
class Settings:
    stack: StackSettings
    network: NetworkSettings
    cluster: ClusterSettings
    data: DataSettings
    app: AppSettings
    edge: EdgeSettings
    # Whether the pods fit the node pool; its warnings are the program's to log, and the render
    # writes it as capacity.md.
    capacity: capacity.Report


# -- reading -------------------------------------------------------------------------------------


def load_settings() -> Settings:
    """Read the running stack's config (the only place the program reads config)."""
    return parse_settings(pulumi.get_stack(), RawConfig.from_runtime())


def parse_settings(stack: str, raw: RawConfig) -> Settings:
    problems: list[str] = []
    values = config_checks.typed_values(raw.values, raw.secret_keys, problems)

    def get(name: str) -> Any:
        return values[name]

    config_checks.check_platform(get, problems)
    token = config_checks.digitalocean_token(
        raw.values, raw.secret_keys, get("kubernetesAuth"), problems
    )
    config_checks.check_app(get, problems)
    fit = config_checks.check_capacity(get, problems)
    if problems:
        raise ConfigError(stack, problems)
    assert fit is not None  # computed whenever the keys it reads have no problem

    prefix = f"posts-{stack}"
    return Settings(
        stack=_fill(StackSettings, values, name=stack, name_prefix=prefix, tags=("posts", prefix)),
        network=_fill(NetworkSettings, values),
        cluster=_fill(ClusterSettings, values, digitalocean_token=token),
        data=_fill(
            DataSettings,
            values,
            mysql=_database(values, "mysql", engine="mysql"),
            cache=_database(values, "cache", engine=get("cacheEngine")),
            admin_sources=tuple(get("databaseAdminSources")),
        ),
        app=_fill(
            AppSettings,
            values,
            image_registry=get("imageRegistry").rstrip("/"),
            image_names=_image_names(get("imageNames")),
            settings_overrides=dict(_split_pair(item) for item in get("appSettings")),
            secrets=AppSecrets(
                app_key=_secret(get("appKey")),
                aws_access_key_id=_secret(get("awsAccessKeyId")),
                aws_secret_access_key=_secret(get("awsSecretAccessKey")),
                rollbar_token=_secret(get("rollbarToken") or ""),
                health_check_email=_secret(get("healthCheckEmail") or ""),
                image_pull_docker_config=(
                    _secret(get("imagePullDockerConfig")) if get("imagePullDockerConfig") else None
                ),
            ),
            worker=_fill(WorkerSettings, values),
            resources={
                workload: _resources(get(f"{workload}Resources"))
                for workload in (*WORKLOADS, "migrate")
            },
        ),
        edge=_fill(EdgeSettings, values),
        capacity=fit,
    )


Section = TypeVar("Section")


def _fill(section: type[Section], values: Mapping[str, ConfigValue], **computed: Any) -> Section:
    """The section with each `setting(key)` field from `values` and the others from `computed`."""
    from_config = {
        field.name: values[field.metadata["key"]]
        for field in dataclasses.fields(section)  # type: ignore[arg-type]
        if "key" in field.metadata
    }
    return section(**from_config, **computed)


def _database(values: Mapping[str, ConfigValue], prefix: str, engine: str) -> DatabaseSettings:
    """MySQL's and the cache's keys differ only by their prefix (`mysqlSize`, `cacheSize`)."""
    version, size, node_count = (
        values[f"{prefix}{key}"] for key in ("Version", "Size", "NodeCount")
    )
    assert isinstance(version, str) and isinstance(size, str) and isinstance(node_count, int)
    return DatabaseSettings(engine=engine, version=version, size=size, node_count=node_count)


def _secret(value: str) -> pulumi.Output[str]:
    return pulumi.Output.secret(value)


def _split_pair(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key.strip(), value


def _image_names(overrides: list[str]) -> dict[str, str]:
    names = {workload: f"posts-{workload}" for workload in WORKLOADS}
    names.update(_split_pair(item) for item in overrides)
    return names


def _resources(text: str) -> Resources:
    cpu, memory, limit = (part.strip() for part in text.split("/"))
    return Resources(cpu_request=cpu, memory_request=memory, memory_limit=limit)
