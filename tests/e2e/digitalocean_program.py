"""The program of the real-provider contract check (test_digitalocean_contract.py).

This repository's DigitalOcean resources without the Kubernetes workloads: the VPC and both
databases from `components` themselves (Network, MysqlDatabase, Cache), the DOKS cluster with
the arguments components/platform/cluster.py gives it (that component also makes a Kubernetes
provider, which this check leaves out), and a DNS record as components/app/edge.py makes it. Config
`changed=true` changes what an operator would change later: tags, maintenance windows,
maxNodes, a database size, the eviction policy, sql_require_primary_key, an admin source in the
firewalls, the record's address.

Run by a project whose `__main__.py` calls `declare()`, with the repository on PYTHONPATH.
"""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as digitalocean

from components.platform.databases import Cache, DatabaseArgs, MysqlDatabase
from components.platform.network import Network, NetworkArgs
from config.formats import private_range
from config.sections import DatabaseSettings, DataSettings, NetworkSettings, StackSettings

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
    versions = digitalocean.get_kubernetes_versions_output(version_prefix="1.36.")

    def doks(name: str, subnets: tuple[str, str], max_nodes: int) -> digitalocean.KubernetesCluster:
        return digitalocean.KubernetesCluster(
            f"{name}-doks",
            name=name,
            region="nyc3",
            version=versions.latest_version,
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
                size="s-2vcpu-4gb",
                auto_scale=True,
                min_nodes=1,
                max_nodes=max_nodes,
                labels={"posts.dev/pool": "default"},
                tags=list(tags),
            ),
            tags=list(tags),
            opts=pulumi.ResourceOptions(ignore_changes=["version", "nodePool.nodeCount"]),
        )

    cluster = doks(prefix, ("172.16.0.0/16", "172.20.0.0/19"), 3 if changed else 2)

    mysql_size = "db-s-1vcpu-2gb" if changed else "db-s-1vcpu-1gb"
    databases = DatabaseArgs(
        stack,
        DataSettings(
            mysql=DatabaseSettings(engine="mysql", version="8", size=mysql_size, node_count=1),
            cache=DatabaseSettings(
                engine="valkey", version="8", size="db-s-1vcpu-1gb", node_count=1
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
