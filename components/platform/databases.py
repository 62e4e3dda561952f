"""Managed MySQL (app database and user) and managed Valkey, each behind its own firewall.

The database clusters depend on the VPC only, so DigitalOcean builds them while the Kubernetes
cluster is still being created; only the firewalls, which admit that cluster, wait for it.
Connection URLs are assembled from the live clusters and are Pulumi secrets from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_digitalocean as digitalocean

from config.sections import (
    APP_DATABASE,
    APP_USER,
    DatabaseSettings,
    DataSettings,
    Restore,
    StackSettings,
)


@dataclass(frozen=True)
class DatabaseArgs:
    """What both databases need: the stack, the data settings, the VPC and the one cluster their
    firewalls admit."""

    stack: StackSettings
    data: DataSettings
    vpc_id: pulumi.Input[str]
    trusted_cluster_id: pulumi.Input[str]  # the DOKS cluster admitted by the firewall
    # Laravel keeps queued jobs (no TTL) and cache entries (with TTL) in the same server:
    # volatile-lru evicts only keys with a TTL, so memory pressure never drops a queued job.
    cache_eviction_policy: str = "volatile_lru"


def _database_cluster(
    name: str,
    args: DatabaseArgs,
    database: DatabaseSettings,
    parent: pulumi.Resource,
    eviction_policy: str | None = None,
    storage_autoscale: digitalocean.DatabaseClusterStorageAutoscaleArgs | None = None,
    restore: Restore | None = None,
) -> digitalocean.DatabaseCluster:
    """The managed cluster itself, in the VPC, sized and maintained as configured; with
    `restore`, created from that backup instead of empty."""
    stack, data = args.stack, args.data
    tags = [*stack.tags, *([restore.tag] if restore else [])]
    return digitalocean.DatabaseCluster(
        f"{name}-cluster",
        name=f"{stack.name_prefix}-{database.engine}",
        engine=database.engine,
        version=database.version,
        size=database.size,
        node_count=database.node_count,
        region=stack.region,
        private_network_uuid=args.vpc_id,
        eviction_policy=eviction_policy,
        maintenance_windows=[
            digitalocean.DatabaseClusterMaintenanceWindowArgs(
                day=data.maintenance_day, hour=f"{data.maintenance_hour}:00"
            )
        ],
        storage_autoscale=storage_autoscale,
        backup_restore=(
            digitalocean.DatabaseClusterBackupRestoreArgs(
                database_name=restore.source, backup_created_at=restore.backup_created_at or None
            )
            if restore
            else None
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(
            parent=parent,
            protect=stack.protect,
            # DigitalOcean restores only when it creates the cluster; afterwards the setting
            # says where the data began and changes nothing (config/cloud.py refuses it on a
            # cluster that exists and was not restored from it).
            ignore_changes=["backupRestore"] if restore else None,
        ),
    )


def _firewall(
    name: str, cluster_id: pulumi.Input[str], args: DatabaseArgs, parent: pulumi.Resource
) -> digitalocean.DatabaseFirewall:
    """Trusted sources: the Kubernetes cluster (all its nodes, present and future) and the
    configured admin addresses. A database with a firewall refuses everything else."""
    rules = [digitalocean.DatabaseFirewallRuleArgs(type="k8s", value=args.trusted_cluster_id)]
    rules += [
        digitalocean.DatabaseFirewallRuleArgs(type="ip_addr", value=source)
        for source in args.data.admin_sources
    ]
    return digitalocean.DatabaseFirewall(
        f"{name}-firewall",
        cluster_id=cluster_id,
        rules=rules,
        opts=pulumi.ResourceOptions(parent=parent),
    )


class MysqlDatabase(pulumi.ComponentResource):
    cluster: digitalocean.DatabaseCluster
    port: pulumi.Output[int]
    database: digitalocean.DatabaseDb | None  # None when restored: the backup brought it
    user: digitalocean.DatabaseUser | None  # likewise
    firewall: digitalocean.DatabaseFirewall
    private_host: pulumi.Output[str]
    connection_url: pulumi.Output[str]  # secret

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:MysqlDatabase", name, None, opts)
        backups = args.data.backups
        autoscale = backups.storage_autoscale
        self.cluster = _database_cluster(
            name,
            args,
            args.data.mysql,
            self,
            # Sent whether on or off: left out, turning it off would leave it on.
            storage_autoscale=digitalocean.DatabaseClusterStorageAutoscaleArgs(
                enabled=autoscale.enabled,
                threshold_percent=autoscale.threshold_percent,
                increment_gib=autoscale.increment_gib,
            ),
            restore=backups.restore,
        )
        # sql_require_primary_key is managed explicitly so the stack states the choice;
        # DigitalOcean needs primary keys for replication to standby nodes and backups. The
        # daily backup's time and how long binlogs stay are the stack's too.
        self.config = digitalocean.DatabaseMysqlConfig(
            f"{name}-config",
            cluster_id=self.cluster.id,
            sql_require_primary_key=args.data.mysql_require_primary_key,
            backup_hour=backups.hour,
            backup_minute=backups.minute,
            binlog_retention_period=backups.binlog_retention_seconds,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.database = None
        self.user = None
        if backups.restore is None:
            self.database = digitalocean.DatabaseDb(
                f"{name}-db",
                cluster_id=self.cluster.id,
                name=APP_DATABASE,
                opts=pulumi.ResourceOptions(parent=self, protect=args.stack.protect),
            )
            self.user = digitalocean.DatabaseUser(
                f"{name}-user",
                cluster_id=self.cluster.id,
                name=APP_USER,
                opts=pulumi.ResourceOptions(parent=self),
            )
            user_name, password = self.user.name, self.user.password
            database_name: pulumi.Input[str] = self.database.name
        else:
            # Restored from a backup, the cluster already holds the app's database and user
            # (config/cloud.py checked that the source does): the program takes them as they
            # are, with the user's password as DigitalOcean lists it, and creates neither.
            restored_user = digitalocean.get_database_user_output(
                cluster_id=self.cluster.id, name=APP_USER, opts=pulumi.InvokeOptions(parent=self)
            )
            user_name, password = restored_user.name, restored_user.password
            database_name = APP_DATABASE
        self.firewall = _firewall(name, self.cluster.id, args, self)

        self.private_host = self.cluster.private_host.apply(lambda host: host or "")
        self.port = self.cluster.port
        self.connection_url = pulumi.Output.secret(
            pulumi.Output.all(
                user_name, password, self.cluster.private_host, self.cluster.port, database_name
            ).apply(
                lambda v: mysql_url(user=v[0], password=v[1], host=v[2], port=v[3], database=v[4])
            )
        )
        self.register_outputs(
            {"private_host": self.private_host, "connection_url": self.connection_url}
        )


class Cache(pulumi.ComponentResource):
    cluster: digitalocean.DatabaseCluster
    port: pulumi.Output[int]
    firewall: digitalocean.DatabaseFirewall
    private_host: pulumi.Output[str]
    connection_url: pulumi.Output[str]  # secret

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:Cache", name, None, opts)
        self.cluster = _database_cluster(
            name, args, args.data.cache, self, eviction_policy=args.cache_eviction_policy
        )
        self.firewall = _firewall(name, self.cluster.id, args, self)

        self.private_host = self.cluster.private_host.apply(lambda host: host or "")
        self.port = self.cluster.port
        self.connection_url = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.password, self.cluster.private_host, self.cluster.port
            ).apply(lambda v: rediss_url(password=v[0], host=v[1], port=v[2]))
        )
        self.register_outputs(
            {"private_host": self.private_host, "connection_url": self.connection_url}
        )


def mysql_url(*, user: str, password: str, host: str, port: int, database: str) -> str:
    """Laravel's DATABASE_URL, TLS required, over the VPC."""
    return (
        f"mysql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
        f"{quote(database, safe='')}?ssl-mode=REQUIRED"
    )


def rediss_url(*, password: str, host: str, port: int) -> str:
    """Laravel's REDIS_URL: TLS (`rediss`), the `default` user, over the VPC."""
    return f"rediss://default:{quote(password, safe='')}@{host}:{port}"
