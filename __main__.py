"""posts-infra: composes the components for the selected stack and exports its outputs."""

import pulumi

from components.app import AppArgs, Application
from components.cluster import Cluster, ClusterArgs
from components.database import (
    Cache,
    CacheArgs,
    DatabaseClusterSpec,
    MysqlArgs,
    MysqlDatabase,
)
from components.edge import Edge, EdgeArgs
from components.kubeconfig import KubeconfigAuth
from components.network import Network, NetworkArgs
from components.protection import DestroyGuard, DestroyGuardArgs
from components.settings import load_settings

settings = load_settings()
prefix = settings.name_prefix
tags = ("posts", prefix)

network = Network(
    "network",
    NetworkArgs(
        name=f"{prefix}-vpc",
        region=settings.network.region,
        ip_range=settings.network.vpc_ip_range,
        protect=settings.protect,
    ),
)

cluster_settings = settings.cluster
cluster = Cluster(
    "cluster",
    ClusterArgs(
        name=prefix,
        region=settings.network.region,
        vpc_id=network.vpc.id,
        version_prefix=cluster_settings.version_prefix,
        cluster_subnet=cluster_settings.cluster_subnet,
        service_subnet=cluster_settings.service_subnet,
        node_size=cluster_settings.node_size,
        min_nodes=cluster_settings.min_nodes,
        max_nodes=cluster_settings.max_nodes,
        ha_control_plane=cluster_settings.ha_control_plane,
        surge_upgrade=cluster_settings.surge_upgrade,
        auto_upgrade=cluster_settings.auto_upgrade,
        maintenance_day=cluster_settings.maintenance_day,
        maintenance_start_time=cluster_settings.maintenance_start_time,
        registry_integration=cluster_settings.registry_integration,
        auth=KubeconfigAuth(
            method="token" if cluster_settings.auth == "token" else "doctl",
            token=cluster_settings.digitalocean_token,
        ),
        protect=settings.protect,
        tags=tags,
    ),
)

data = settings.data


def database_spec(name: str, version: str, size: str, node_count: int) -> DatabaseClusterSpec:
    return DatabaseClusterSpec(
        name=name,
        region=settings.network.region,
        vpc_id=network.vpc.id,
        version=version,
        size=size,
        node_count=node_count,
        maintenance_day=data.maintenance_day,
        maintenance_hour=data.maintenance_hour,
        trusted_cluster_id=cluster.cluster.id,
        admin_sources=data.admin_sources,
        protect=settings.protect,
        tags=tags,
    )


mysql = MysqlDatabase(
    "mysql",
    MysqlArgs(
        cluster=database_spec(
            f"{prefix}-mysql", data.mysql.version, data.mysql.size, data.mysql.node_count
        ),
        database_name="posts",
        user_name="posts-root",
        require_primary_key=data.mysql_require_primary_key,
    ),
)

cache = Cache(
    "cache",
    CacheArgs(
        cluster=database_spec(
            f"{prefix}-{data.cache.engine}",
            data.cache.version,
            data.cache.size,
            data.cache.node_count,
        ),
        engine=data.cache.engine,
    ),
)

app = Application(
    "app",
    AppArgs(
        settings=settings.app,
        database_url=mysql.connection_url,
        redis_url=cache.connection_url,
        database_port=mysql.port,
        cache_port=cache.port,
        vpc_ip_range=settings.network.vpc_ip_range,
        provider=cluster.provider,
    ),
)

edge = Edge(
    "edge",
    EdgeArgs(
        namespace=settings.app.namespace,
        load_balancer_name=f"{prefix}-gateway",
        hostname=settings.app.hostname,
        dns_domain=settings.app.dns_domain,
        tls=settings.app.tls,
        tls_email=settings.app.tls_email,
        provider=cluster.provider,
        depends_on=[app],
    ),
)

# Last: depends on everything above, so a destroy of a protected stack stops before deleting any.
DestroyGuard(
    "destroy-guard",
    DestroyGuardArgs(protect=settings.protect, guarded=[network, cluster, mysql, cache, app, edge]),
)

pulumi.export("publicAddress", edge.public_address)
pulumi.export("url", edge.url)
pulumi.export("namespace", settings.app.namespace)
pulumi.export("release", settings.app.image_tag)
pulumi.export("clusterName", cluster.cluster.name)
pulumi.export("clusterId", cluster.cluster.id)
pulumi.export("kubernetesVersion", cluster.cluster.version)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("mysqlPrivateHost", mysql.private_host)
pulumi.export("cachePrivateHost", cache.private_host)
pulumi.export("vpcId", network.vpc.id)
