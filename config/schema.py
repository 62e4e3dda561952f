"""The stack configuration keys: name, type, default, description, and the limits of each.

This table is the single source for the keys. `Pulumi.yaml`'s `config:` section declares the same
keys with the same types, defaults and descriptions (a test holds the two equal), so the CLI and a
program run without the CLI (tests, render) see the same defaults. Pulumi's project config schema
knows four types: string, integer, boolean and array (of strings here).

What a key alone accepts is on its entry: a `minimum` and `maximum` (whole numbers), the
`allowed` values, the `refused` ones with the reason, and `parse`, its format (`config/formats.py`)
and the typed value the program takes (e.g. CPU in millicores). `config/reading.py` reads and
checks every key against its entry, once; what needs two keys or more is `config/checks.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from config import formats
from config.formats import WORKLOADS
from model import catalog

__all__ = ["KEYS", "KEYS_BY_NAME", "WORKLOADS", "ConfigKey", "ConfigType", "ConfigValue"]

ConfigType = Literal["string", "integer", "boolean", "array"]
ConfigValue = str | int | bool | list[str] | None
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ConfigKey:
    name: str
    type: ConfigType
    description: str
    default: ConfigValue = None  # None: no default (required, see `required`)
    secret: bool = False  # the program refuses a value that is not stored encrypted
    required: bool = False
    # -- what the value alone must be (the error names the key and what it accepts)
    minimum: int | None = None
    maximum: int | None = None
    limit_reason: str = ""  # why the minimum or maximum, said after it
    allowed: tuple[str, ...] = ()
    refused: Mapping[str, str] = field(default_factory=dict)  # value -> why, before `allowed`
    parse: Callable[[Any], Any] | None = None  # the format, into the typed value; BadValue if not

    @property
    def declared_secret(self) -> bool:
        """Whether `Pulumi.yaml` declares the key `secret: true`.

        The Pulumi CLI demands a value for every declared key without a default, and refuses a
        default on a secret key (it would be a plain-text value). So only required secrets are
        declared secret; an optional secret is declared as a string with default "", and the
        program itself refuses any non-empty value that is not stored encrypted.
        """
        return self.secret and self.default is None


KEYS: tuple[ConfigKey, ...] = (
    # -- where and how big -------------------------------------------------------------------
    ConfigKey(
        "region",
        "string",
        "DigitalOcean region slug for every resource.",
        "nyc3",
        allowed=tuple(catalog.REGIONS),
    ),
    ConfigKey(
        "vpcIpRange",
        "string",
        "IPv4 range (CIDR, /16 to /28) of the stack's VPC; must not overlap the cluster and"
        " service subnets.",
        "10.110.0.0/20",
        parse=formats.vpc_range,
    ),
    ConfigKey(
        "kubernetesVersionPrefix",
        "string",
        "DOKS minor the cluster runs, as `1.NN.`: a new cluster gets its newest patch, patches"
        " arrive through auto-upgrade; the next minor upgrades a running cluster in place"
        " (`pulumi up` waits for it). A downgrade or a skip of a minor is refused.",
        "1.36.",
        parse=formats.version_prefix,
    ),
    ConfigKey(
        "upgradeTimeoutSeconds",
        "integer",
        "Longest `pulumi up` waits for a minor upgrade (kubernetesVersionPrefix one minor up)"
        " to finish: DigitalOcean replaces the control plane, then every node.",
        3600,
        minimum=60,
        maximum=6 * 3600,
    ),
    ConfigKey(
        "clusterSubnet",
        "string",
        "Pod network of the VPC-native cluster (CIDR, /16 recommended: a /25 per node). Fixed"
        " at creation; must not overlap any VPC or cluster subnet in the DigitalOcean team.",
        "172.16.0.0/16",
        parse=formats.private_range,
    ),
    ConfigKey(
        "serviceSubnet",
        "string",
        "Service (ClusterIP) network of the VPC-native cluster (CIDR, /19 recommended). Fixed at"
        " creation; must not overlap any VPC or cluster subnet in the DigitalOcean team.",
        "172.20.0.0/19",
        parse=formats.private_range,
    ),
    ConfigKey(
        "nodeSize",
        "string",
        "Droplet size slug of the app's autoscaling node pool. A change on a running stack"
        " creates a pool of the new size, moves the app onto it, then deletes the old pool.",
        "s-2vcpu-4gb",
        allowed=tuple(catalog.NODE_SIZES),
    ),
    ConfigKey(
        "minNodes",
        "integer",
        "Fewest nodes the cluster autoscaler keeps in the app's pool (>= 1).",
        1,
        minimum=1,
        limit_reason="the pool needs at least one node",
    ),
    ConfigKey(
        "maxNodes",
        "integer",
        "Most nodes the cluster autoscaler may add to the app's pool (>= minNodes).",
        2,
        maximum=catalog.DOKS_MAX_NODES_PER_POOL,
        limit_reason="DOKS's limit per node pool",
    ),
    ConfigKey(
        "systemNodeSize",
        "string",
        "Droplet size slug of the cluster's own node pool (DOKS's own pods; the app never runs"
        " there). Fixed when the cluster is created: DigitalOcean's provider replaces the whole"
        " cluster to change it, so a running stack must keep the size its cluster has.",
        "s-1vcpu-2gb",
        allowed=tuple(catalog.NODE_SIZES),
    ),
    ConfigKey(
        "haControlPlane",
        "boolean",
        "Highly available DOKS control plane (billed). Cannot be turned off once on.",
        False,
    ),
    ConfigKey(
        "surgeUpgrade",
        "boolean",
        "Upgrade nodes by adding new ones before draining old ones.",
        True,
    ),
    ConfigKey(
        "autoUpgrade", "boolean", "Let DOKS apply patch releases in the maintenance window.", True
    ),
    ConfigKey(
        "maintenanceDay",
        "string",
        "Day of the cluster's maintenance window: a weekday name or `any`.",
        "sunday",
        allowed=(*WEEKDAYS, "any"),
    ),
    ConfigKey(
        "maintenanceStartTime",
        "string",
        "UTC start (HH:MM) of the cluster's maintenance window.",
        "04:00",
        parse=formats.hh_mm,
    ),
    ConfigKey(
        "kubernetesAuth",
        "string",
        "How Pulumi authenticates to the cluster: `token` (the stack's DigitalOcean API"
        " token as bearer token) or `doctl` (an exec credential; needs doctl on PATH).",
        "token",
        allowed=("token", "doctl"),
    ),
    ConfigKey(
        "containerRegistryIntegration",
        "boolean",
        "Give the cluster pull access to the account's DigitalOcean Container Registry.",
        False,
    ),
    # -- databases ---------------------------------------------------------------------------
    ConfigKey(
        "mysqlVersion",
        "string",
        "Managed MySQL major version.",
        "8",
        allowed=catalog.MYSQL_VERSIONS,
    ),
    ConfigKey(
        "mysqlSize",
        "string",
        "Managed MySQL size slug.",
        "db-s-1vcpu-1gb",
        allowed=tuple(catalog.MYSQL_SIZES),
    ),
    ConfigKey(
        "mysqlNodeCount",
        "integer",
        "MySQL nodes: 1 primary plus standby nodes (1 to 3).",
        1,
        minimum=1,
        maximum=3,
    ),
    ConfigKey(
        "mysqlRequirePrimaryKey",
        "boolean",
        "Keep MySQL's sql_require_primary_key on (DigitalOcean's default). Laravel >= 9"
        " creates primary keys inline; turn off only for legacy migrations.",
        True,
    ),
    ConfigKey(
        "cacheEngine",
        "string",
        "Managed Redis-compatible cache engine: `valkey` (Managed Redis ended in 2025).",
        "valkey",
        refused={
            "redis": f"DigitalOcean ended Managed Redis on {catalog.REDIS_END_OF_LIFE} and"
            " creates no new Redis clusters; use 'valkey' (Redis-compatible, same clients)"
        },
        allowed=catalog.CACHE_ENGINES,
    ),
    ConfigKey(
        "cacheVersion",
        "string",
        "Cache engine major version.",
        "8",
        allowed=catalog.VALKEY_VERSIONS,
    ),
    ConfigKey(
        "cacheSize",
        "string",
        "Managed Valkey size slug.",
        "db-s-1vcpu-1gb",
        allowed=tuple(catalog.VALKEY_SIZES),
    ),
    ConfigKey(
        "cacheNodeCount",
        "integer",
        "Valkey nodes: 1 primary plus standby nodes (1 to 3).",
        1,
        minimum=1,
        maximum=3,
    ),
    ConfigKey(
        "databaseMaintenanceDay",
        "string",
        "Day of the databases' maintenance window (weekday name).",
        "sunday",
        allowed=WEEKDAYS,
    ),
    ConfigKey(
        "databaseMaintenanceHour",
        "string",
        "UTC start (HH:MM) of the databases' maintenance window.",
        "02:00",
        parse=formats.hh_mm,
    ),
    ConfigKey(
        "databaseAdminSources",
        "array",
        "Extra IPv4 addresses or CIDRs admitted by both database firewalls (operators,"
        " bastion). The cluster is always admitted.",
        [],
        parse=formats.admin_sources,
    ),
    # -- MySQL's backups, and a stack that starts from one -------------------------------------
    ConfigKey(
        "mysqlBackupTime",
        "string",
        "UTC time (HH:MM) MySQL's daily backup starts (DatabaseMysqlConfig backup_hour and"
        " backup_minute). Keep it clear of databaseMaintenanceHour.",
        "03:30",
        parse=formats.hh_mm,
    ),
    ConfigKey(
        "mysqlBinlogRetentionSeconds",
        "integer",
        "Least time MySQL keeps binlog entries (seconds): what a lagging standby node or a change"
        " data capture reader can still catch up from.",
        600,
        minimum=600,
        maximum=604800,
        limit_reason="DigitalOcean's range: 10 minutes to 7 days",
    ),
    ConfigKey(
        "mysqlStorageAutoscale",
        "boolean",
        "Let DigitalOcean add MySQL storage when disk use passes mysqlStorageAutoscalePercent"
        " (each step is billed; storage never shrinks).",
        False,
    ),
    ConfigKey(
        "mysqlStorageAutoscalePercent",
        "integer",
        "Disk use (%) at which storage autoscaling adds mysqlStorageAutoscaleIncrementGib.",
        80,
        minimum=15,
        maximum=95,
        limit_reason="DigitalOcean's range",
    ),
    ConfigKey(
        "mysqlStorageAutoscaleIncrementGib",
        "integer",
        "GiB each storage autoscaling step adds.",
        10,
        minimum=10,
        maximum=500,
        limit_reason="DigitalOcean's range",
    ),
    ConfigKey(
        "restoreFrom",
        "string",
        "Create the stack's MySQL from a backup of this MySQL cluster (its name, e.g."
        " posts-prod-mysql) instead of empty; it then already holds the app's database and user."
        " Acts only when the stack's MySQL is created: refused on a stack whose MySQL exists."
        " Keep it set for the life of the stack.",
        "",
        parse=formats.database_cluster_name,
    ),
    ConfigKey(
        "restoreBackup",
        "string",
        "With restoreFrom: which of its backups, as DigitalOcean lists its time (e.g."
        " 2026-12-05T03:30:12Z); empty: the latest. DigitalOcean restores its daily backups,"
        " not an arbitrary moment.",
        "",
        parse=formats.backup_time,
    ),
    # -- the application on the cluster --------------------------------------------------------
    ConfigKey(
        "namespace",
        "string",
        "Kubernetes namespace of the application.",
        "posts",
        parse=formats.namespace,
    ),
    ConfigKey(
        "imageRegistry",
        "string",
        "Registry and repository prefix of the app images, e.g. `docker.io/martinjoo` or"
        " `registry.digitalocean.com/<registry>`.",
        "docker.io/martinjoo",
        parse=formats.registry,
    ),
    ConfigKey(
        "imageTag",
        "string",
        "The release: one immutable image tag (a commit SHA) for every image. Not `latest`.",
        required=True,
        parse=formats.image_tag,
    ),
    ConfigKey(
        "imageNames",
        "array",
        "Overrides of the image names, as `workload=name` (workloads: api, nginx, worker,"
        " scheduler, frontend). Defaults are the seed's `posts-<workload>`.",
        [],
        parse=formats.image_names,
    ),
    ConfigKey(
        "imagePullDockerConfig",
        "string",
        "Optional `.dockerconfigjson` for a private registry (not needed with"
        " containerRegistryIntegration); set with `--secret`.",
        "",
        secret=True,
    ),
    ConfigKey(
        "appSettings",
        "array",
        "Overrides and additions to the `posts` ConfigMap, as `KEY=value` (non-secret only).",
        [],
        parse=formats.app_settings,
    ),
    ConfigKey("appKey", "string", "Laravel APP_KEY (`base64:...`).", secret=True, required=True),
    ConfigKey(
        "awsAccessKeyId", "string", "AWS_ACCESS_KEY_ID for the S3 disk.", secret=True, required=True
    ),
    ConfigKey(
        "awsSecretAccessKey",
        "string",
        "AWS_SECRET_ACCESS_KEY for the S3 disk.",
        secret=True,
        required=True,
    ),
    ConfigKey(
        "rollbarToken",
        "string",
        "ROLLBAR_TOKEN (optional; set with `--secret`).",
        "",
        secret=True,
    ),
    ConfigKey(
        "healthCheckEmail",
        "string",
        "HEALTH_CHECK_EMAIL (optional; set with `--secret`).",
        "",
        secret=True,
    ),
    ConfigKey(
        "apiMinReplicas", "integer", "Fewest api (php-fpm) pods the HPA keeps.", 4, minimum=1
    ),
    ConfigKey("apiMaxReplicas", "integer", "Most api pods the HPA may run.", 8),
    ConfigKey(
        "apiCpuTargetPercent",
        "integer",
        "Average CPU use (% of request) the api HPA aims for.",
        70,
        minimum=10,
        maximum=100,
    ),
    ConfigKey("nginxReplicas", "integer", "nginx pods.", 2, minimum=1),
    ConfigKey("frontendReplicas", "integer", "frontend pods.", 2, minimum=1),
    ConfigKey("workerReplicas", "integer", "Queue worker pods.", 2, minimum=1),
    ConfigKey(
        "workerQueues",
        "string",
        "Queues the workers consume, in priority order.",
        "default,notification",
        parse=formats.queues,
    ),
    ConfigKey("workerTries", "integer", "queue:work --tries.", 3, minimum=1),
    ConfigKey(
        "workerTimeoutSeconds",
        "integer",
        "queue:work --timeout; pods get this plus 30 s to finish a job on shutdown.",
        30,
        minimum=1,
    ),
    ConfigKey("workerSleepSeconds", "integer", "queue:work --sleep.", 3, minimum=0),
    ConfigKey(
        "workerMaxJobs",
        "integer",
        "queue:work --max-jobs (then the worker restarts).",
        1000,
        minimum=1,
    ),
    ConfigKey(
        "workerMaxTimeSeconds",
        "integer",
        "queue:work --max-time (then the worker restarts).",
        3600,
        minimum=1,
    ),
    ConfigKey(
        "migrateTimeoutSeconds",
        "integer",
        "Longest a release's migration may run before it is failed.",
        600,
        minimum=1,
    ),
    ConfigKey(
        "rolloutTimeoutSeconds",
        "integer",
        "Longest a Deployment's rollout may go without progress (its progressDeadlineSeconds);"
        " `pulumi up` fails naming it 15 s later, while the previous pods keep serving.",
        180,
        minimum=10,
        maximum=3600,
    ),
    *(
        ConfigKey(
            f"{workload}Resources",
            "string",
            f"{workload} container: CPU request / memory request / memory limit.",
            default,
            parse=formats.resources,
        )
        for workload, default in (
            ("api", "250m/256Mi/512Mi"),
            ("nginx", "50m/64Mi/128Mi"),
            ("worker", "100m/256Mi/512Mi"),
            ("scheduler", "50m/128Mi/256Mi"),
            ("frontend", "25m/32Mi/64Mi"),
            ("migrate", "100m/256Mi/512Mi"),
        )
    ),
    ConfigKey(
        "hostname",
        "string",
        "Public hostname of the app (optional). Without it the Gateway answers on its IP.",
        "",
        parse=formats.hostname,
    ),
    ConfigKey(
        "dnsDomain",
        "string",
        "A domain managed in DigitalOcean DNS that contains hostname; an A record for"
        " hostname is created there (optional).",
        "",
    ),
    ConfigKey(
        "tls",
        "boolean",
        "Serve HTTPS for hostname with a Let's Encrypt certificate (cert-manager, HTTP-01"
        " through the Gateway); HTTP then redirects to HTTPS.",
        False,
    ),
    ConfigKey(
        "tlsEmail", "string", "ACME account e-mail for Let's Encrypt (required with tls).", ""
    ),
    ConfigKey(
        "gatewayTimeoutSeconds",
        "integer",
        "Longest `pulumi up` waits for the Gateway to be programmed (its load balancer and"
        " address) before it fails with the Gateway's reason.",
        600,
        minimum=10,
        maximum=3600,
    ),
    # -- knowing when production breaks ------------------------------------------------------
    ConfigKey(
        "alerting",
        "boolean",
        "An uptime check of /api/health-check through the public entry (down, latency, and with"
        " tls certificate-expiry alerts) and CPU, memory and disk alerts on the nodes and both"
        " databases. Off: none of them exists.",
        True,
    ),
    ConfigKey(
        "alertEmails",
        "array",
        "E-mail addresses every alert notifies. DigitalOcean mails only addresses verified on"
        " the account (its team members' addresses).",
        [],
        parse=formats.emails,
    ),
    ConfigKey(
        "alertSlackChannel",
        "string",
        "Slack channel every alert notifies, e.g. `#posts-alerts` (optional; with"
        " alertSlackWebhook).",
        "",
        parse=formats.slack_channel,
    ),
    ConfigKey(
        "alertSlackWebhook",
        "string",
        "Slack incoming-webhook URL (https) for alertSlackChannel; set with `--secret`.",
        "",
        secret=True,
        parse=formats.https_url,
    ),
    ConfigKey(
        "uptimeRegions",
        "array",
        "Where the uptime check runs from, at least two of: us_east, us_west, eu_west, se_asia.",
        ["us_east", "eu_west"],
        parse=formats.uptime_regions,
    ),
    ConfigKey(
        "uptimeDownPeriod",
        "string",
        "How long the check must fail before the down alert fires (also the certificate"
        " alert's period).",
        "2m",
        allowed=catalog.UPTIME_ALERT_PERIODS,
    ),
    ConfigKey(
        "uptimeLatencyMs",
        "integer",
        "The latency alert fires when /api/health-check answers slower than this (ms) for"
        " uptimeLatencyPeriod.",
        2000,
        minimum=100,
        maximum=30000,
    ),
    ConfigKey(
        "uptimeLatencyPeriod",
        "string",
        "How long the latency must stay above uptimeLatencyMs before its alert fires.",
        "5m",
        allowed=catalog.UPTIME_ALERT_PERIODS,
    ),
    ConfigKey(
        "tlsExpiryDays",
        "integer",
        "With tls: the certificate alert fires when it expires within this many days"
        " (cert-manager renews 30 days before expiry, so the alert means renewal failed).",
        21,
        minimum=1,
        maximum=29,
        limit_reason="below the 30 days at which cert-manager renews",
    ),
    *(
        ConfigKey(
            f"{subject}{metric.capitalize()}Percent",
            "integer",
            f"Alert when {what} {label} use stays above this (%) over {subject}AlertWindow.",
            default,
            minimum=1,
            maximum=99,
            limit_reason="a percentage that can be passed",
        )
        for subject, what in (("node", "a node's"), ("database", "MySQL's or Valkey's"))
        for metric, label, default in (
            ("cpu", "CPU", 80),
            ("memory", "memory", 90),
            ("disk", "disk", 80),
        )
    ),
    *(
        ConfigKey(
            f"{subject}AlertWindow",
            "string",
            f"The window over which the {subject} alerts average their metric.",
            "10m",
            allowed=catalog.MONITOR_ALERT_WINDOWS,
        )
        for subject in ("node", "database")
    ),
    ConfigKey(
        "protectResources",
        "boolean",
        "Protect the VPC, cluster and databases from `pulumi destroy` and replacement.",
        True,
    ),
)

KEYS_BY_NAME: dict[str, ConfigKey] = {key.name: key for key in KEYS}
