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

# The application's MySQL database and user (the seed's names): created with the cluster, or
# brought along by a restored backup.
APP_DATABASE = "posts"
APP_USER = "posts-root"


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
class DigitalOceanAccess:
    """DigitalOcean's API as the provider reaches it: the program reads the stack's cluster
    there (read-only) before it registers anything. The token never leaves this object."""

    api_url: str
    token: str | None = dataclasses.field(repr=False)


@dataclass(frozen=True)
class NetworkSettings:
    vpc_ip_range: Cidr = setting("vpcIpRange")


# The cluster's own node pool (its "default" pool to DigitalOcean's provider): DOKS's own pods
# run there, the app never does. One node (autoscaled 1..1: a stack deployed before the app had
# its own pool keeps its old upper bound, and lowering its minimum to 1 lets the autoscaler
# shrink it once the app has left). DOKS's pods that find no room there run on the app's pool.
# Its size is `systemNodeSize`.
SYSTEM_POOL_MIN_NODES = 1
SYSTEM_POOL_MAX_NODES = 1


@dataclass(frozen=True)
class ClusterSettings:
    # The stack's DigitalOcean API token (a Pulumi secret), for `auth == "token"`.
    digitalocean_token: pulumi.Output[str] | None
    version_prefix: str = setting("kubernetesVersionPrefix")
    cluster_subnet: Cidr = setting("clusterSubnet")
    service_subnet: Cidr = setting("serviceSubnet")
    node_size: str = setting("nodeSize")  # the app's pool
    min_nodes: int = setting("minNodes")
    max_nodes: int = setting("maxNodes")
    system_node_size: str = setting("systemNodeSize")  # the cluster's own pool
    upgrade_timeout_seconds: int = setting("upgradeTimeoutSeconds")
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
class StorageAutoscaleSettings:
    """MySQL's storage autoscaling (DigitalOcean offers it for MySQL and PostgreSQL, not Valkey)."""

    enabled: bool = setting("mysqlStorageAutoscale")
    threshold_percent: int = setting("mysqlStorageAutoscalePercent")
    increment_gib: int = setting("mysqlStorageAutoscaleIncrementGib")


@dataclass(frozen=True)
class RestoreRequest:
    """What the stack config asks for: MySQL from a backup of `source` ("": start empty)."""

    source: str = setting("restoreFrom")
    backup: str = setting("restoreBackup")  # "" for the latest


@dataclass(frozen=True)
class Restore:
    """The backup the stack's MySQL is created from, as DigitalOcean lists it
    (`config/cloud.py`)."""

    source: str  # the source MySQL cluster's name
    backup_created_at: str  # one of its backups; "" when the stack's MySQL already exists
    # The stack's MySQL exists, created from `source` (its tag says so): nothing to restore.
    restored: bool = False

    @property
    def tag(self) -> str:
        return restored_from_tag(self.source)


def restored_from_tag(source: str) -> str:
    """The tag a MySQL cluster created from a backup of `source` carries, for as long as the
    stack says so: how the program tells its own restored cluster from one restoreFrom would be
    ignored on."""
    return f"restored-from:{source}"


@dataclass(frozen=True)
class BackupSettings:
    """MySQL's backups: when DigitalOcean takes them, how long binlogs stay, the disk they need,
    and the backup the cluster is created from (None: empty)."""

    storage_autoscale: StorageAutoscaleSettings
    restore: Restore | None
    time: str = setting("mysqlBackupTime")  # HH:MM, UTC
    binlog_retention_seconds: int = setting("mysqlBinlogRetentionSeconds")

    @property
    def hour(self) -> int:
        return int(self.time.split(":")[0])

    @property
    def minute(self) -> int:
        return int(self.time.split(":")[1])


@dataclass(frozen=True)
class DataSettings:
    mysql: DatabaseSettings
    cache: DatabaseSettings
    backups: BackupSettings
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


@dataclass(frozen=True)
class NotificationSettings:
    """Who every alert notifies: e-mail addresses, and a Slack channel through its webhook."""

    slack_webhook: pulumi.Output[str] | None  # a Pulumi secret; None without Slack
    emails: tuple[str, ...] = setting("alertEmails")
    slack_channel: str = setting("alertSlackChannel")  # "" for none

    @property
    def anyone(self) -> bool:
        """Whether an alert would reach anyone."""
        return bool(self.emails) or self.slack_webhook is not None


@dataclass(frozen=True)
class MonitoringSettings:
    """The uptime check and the alerts, their thresholds and windows."""

    notifications: NotificationSettings
    enabled: bool = setting("alerting")
    uptime_regions: tuple[str, ...] = setting("uptimeRegions")
    down_period: str = setting("uptimeDownPeriod")
    latency_ms: int = setting("uptimeLatencyMs")
    latency_period: str = setting("uptimeLatencyPeriod")
    tls_expiry_days: int = setting("tlsExpiryDays")
    node_cpu_percent: int = setting("nodeCpuPercent")
    node_memory_percent: int = setting("nodeMemoryPercent")
    node_disk_percent: int = setting("nodeDiskPercent")
    node_window: str = setting("nodeAlertWindow")
    database_cpu_percent: int = setting("databaseCpuPercent")
    database_memory_percent: int = setting("databaseMemoryPercent")
    database_disk_percent: int = setting("databaseDiskPercent")
    database_window: str = setting("databaseAlertWindow")
