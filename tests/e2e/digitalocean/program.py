"""The program of the real-provider contract check (test_digitalocean_contract.py).

This repository's DigitalOcean resources without the Kubernetes workloads: the VPC and both
databases from `components` themselves (Network, MysqlDatabase, Cache), the DOKS cluster with
the arguments components/platform/cluster.py gives it (that component also makes a Kubernetes
provider, which this check leaves out), and a DNS record as components/app/edge.py makes it. Config
`changed=true` changes what an operator would change later: tags, maintenance windows, maxNodes, a
database size, the eviction policy, sql_require_primary_key, MySQL's backup time, binlog retention
and storage autoscaling, an admin source in the firewalls, the record's address, and (with
`withMonitoring=true`) the alerts' thresholds and windows. `appPool=true` adds the app's node pool
as that component makes it (the contract check; the fault scenarios leave it out: it adds the
provider's 10 s pool wait to each deploy). `version` is the cluster's version; `upgrade=true` takes
it out of ignore_changes, so that a new one is an in-place upgrade, as the component does for the
next minor. With `restoreFrom` (and `restoreBackup`), MySQL starts from that backup, checked
against DigitalOcean first as the program's config is (config/cloud.py).

Run by a project whose `__main__.py` calls `declare()`, with the repository on PYTHONPATH.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_digitalocean as digitalocean

from components.platform.databases import Cache, DatabaseArgs, MysqlDatabase
from components.platform.monitoring import Monitoring, MonitoringArgs
from components.platform.network import Network, NetworkArgs
from config import cloud
from config.digitalocean_api import api_url_from, token_from
from config.formats import private_range
from config.sections import (
    BackupSettings,
    DatabaseSettings,
    DataSettings,
    DigitalOceanAccess,
    MonitoringSettings,
    NetworkSettings,
    NotificationSettings,
    Restore,
    RestoreRequest,
    StackSettings,
    StorageAutoscaleSettings,
)
from config.settings import ConfigError

CLUSTER = "posts-dev"  # the cluster's name for the stack `dev`
DOMAIN = "example.com"


def declare() -> None:
    config = pulumi.Config()
    changed = config.get_bool("changed") or False
    name = pulumi.get_stack()
    prefix = f"posts-{name}"
    tags = ("posts", prefix, "release-2") if changed else ("posts", prefix)
    stack = StackSettings(
        name=name,
        name_prefix=prefix,
        tags=tags,
        region="nyc3",
        protect=config.get_bool("protectResources") or False,
    )
    vpc = NetworkSettings(vpc_ip_range=private_range("10.110.0.0/20"))
    network = Network("network", NetworkArgs(stack, vpc))
    version = config.get("version") or "1.36.3-do.0"
    ignored = ["nodePool.nodeCount", "nodePool.maxNodes"]
    if not config.get_bool("upgrade"):
        ignored.append("version")

    def doks(name: str, subnets: tuple[str, str]) -> digitalocean.KubernetesCluster:
        return digitalocean.KubernetesCluster(
            f"{name}-doks",
            name=name,
            region="nyc3",
            version=version,
            vpc_uuid=network.vpc.id,
            cluster_subnet=subnets[0],
            service_subnet=subnets[1],
            ha=False,
            surge_upgrade=True,
            auto_upgrade=True,
            maintenance_policy=digitalocean.KubernetesClusterMaintenancePolicyArgs(
                day="sunday", start_time="05:00" if changed else "04:00"
            ),
            registry_integration=False,
            destroy_all_associated_resources=False,
            node_pool=digitalocean.KubernetesClusterNodePoolArgs(
                name=f"{name}-default",
                size="s-1vcpu-2gb",
                auto_scale=True,
                min_nodes=1,
                max_nodes=1,
                labels={"posts.dev/pool": "default"},
                tags=list(tags),
            ),
            tags=list(tags),
            opts=pulumi.ResourceOptions(ignore_changes=ignored),
        )

    cluster = doks(prefix, ("172.16.0.0/16", "172.20.0.0/19"))
    if config.get_bool("appPool"):
        digitalocean.KubernetesNodePool(
            "cluster-app-pool",
            cluster_id=cluster.id,
            name=f"{prefix}-s-2vcpu-4gb",
            size="s-2vcpu-4gb",
            auto_scale=True,
            min_nodes=1,
            max_nodes=3 if changed else 2,
            labels={"posts.dev/pool": "app"},
            tags=list(tags),
        )

    restore = _restore(config, f"{prefix}-mysql")
    mysql_size = "db-s-1vcpu-2gb" if changed else "db-s-1vcpu-1gb"
    databases = DatabaseArgs(
        stack,
        DataSettings(
            mysql=DatabaseSettings(engine="mysql", version="8", size=mysql_size, node_count=1),
            cache=DatabaseSettings(
                engine="valkey", version="8", size="db-s-1vcpu-1gb", node_count=1
            ),
            backups=BackupSettings(
                storage_autoscale=StorageAutoscaleSettings(
                    enabled=changed, threshold_percent=80, increment_gib=20 if changed else 10
                ),
                restore=restore,
                time="04:15" if changed else "03:30",
                binlog_retention_seconds=3600 if changed else 600,
            ),
            admin_sources=("203.0.113.7",) if changed else (),
            mysql_require_primary_key=not changed,
            maintenance_day="sunday",
            maintenance_hour="03:00" if changed else "02:00",
        ),
        vpc_id=network.vpc.id,
        trusted_cluster_id=cluster.id,
        cache_eviction_policy="allkeys_lru" if changed else "volatile_lru",
    )
    mysql = MysqlDatabase("mysql", databases)
    cache = Cache("cache", databases)
    domain = config.get("dnsDomain") or DOMAIN
    hostname = config.get("hostname") or f"posts.{domain}"
    record = digitalocean.DnsRecord(
        "edge-dns",
        domain=domain,
        type="A",
        name=hostname[: -len(domain) - 1],
        value="203.0.113.11" if changed else "203.0.113.10",
        ttl=300,
    )

    if config.get_bool("withMonitoring"):
        Monitoring(
            "monitoring",
            MonitoringArgs(
                stack,
                _monitoring(changed),
                base_url=record.fqdn.apply(
                    lambda fqdn: f"{'https' if changed else 'http'}://{fqdn}"
                ),
                tls=changed,
                node_tag=prefix,
                database_ids=[mysql.cluster.id, cache.cluster.id],
                nodes_after=[cluster],
            ),
        )

    first_config = cluster.kube_configs.apply(lambda configs: configs[0])
    pulumi.export("clusterId", cluster.id)
    pulumi.export("endpoint", cluster.endpoint)
    pulumi.export("kubeHost", first_config.apply(lambda c: c.host))
    pulumi.export("kubeToken", first_config.apply(lambda c: c.token))
    pulumi.export("kubeCa", first_config.apply(lambda c: c.cluster_ca_certificate))
    pulumi.export("mysqlPrivateHost", mysql.private_host)
    pulumi.export("mysqlUrl", mysql.connection_url)
    pulumi.export("cacheUrl", cache.connection_url)
    pulumi.export("fqdn", record.fqdn)


def _restore(config: pulumi.Config, stack_mysql: str) -> Restore | None:
    """restoreFrom and restoreBackup, checked against DigitalOcean as the program checks them."""
    request = RestoreRequest(
        source=config.get("restoreFrom") or "", backup=config.get("restoreBackup") or ""
    )
    access = DigitalOceanAccess(api_url_from(os.environ), token_from(os.environ))
    checked = cloud.check_restore(request, stack_mysql, cloud.cloud_for(access))
    if checked.problems:
        raise ConfigError(pulumi.get_stack(), checked.problems)
    return checked.restore


def _monitoring(changed: bool) -> MonitoringSettings:
    return MonitoringSettings(
        notifications=NotificationSettings(
            slack_webhook=None, emails=("alerts@example.com",), slack_channel=""
        ),
        enabled=True,
        uptime_regions=("us_east", "eu_west", "se_asia") if changed else ("us_east", "eu_west"),
        down_period="5m" if changed else "2m",
        latency_ms=1500 if changed else 2000,
        latency_period="10m" if changed else "5m",
        tls_expiry_days=14,
        node_cpu_percent=70 if changed else 80,
        node_memory_percent=90,
        node_disk_percent=80,
        node_window="30m" if changed else "10m",
        database_cpu_percent=80,
        database_memory_percent=85 if changed else 90,
        database_disk_percent=80,
        database_window="10m",
    )
