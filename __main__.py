"""posts-infra: one stack's architecture. Each component owns one concern (components/)."""

import pulumi

from components.app.application import AppArgs, Application
from components.app.edge import Edge, EdgeArgs, challenge_listener
from components.platform.cert_manager import CertManager, CertManagerArgs
from components.platform.cluster import Cluster, ClusterArgs
from components.platform.cluster_plan import plan_cluster
from components.platform.databases import Cache, DatabaseArgs, MysqlDatabase
from components.platform.live import reader
from components.platform.monitoring import Monitoring, MonitoringArgs
from components.platform.network import Network, NetworkArgs
from components.platform.protection import DestroyGuard, DestroyGuardArgs
from config.settings import load_settings

settings = load_settings()  # every config key, checked; one error listing every problem
stack = settings.stack
for warning in settings.warnings:  # pods that wait for the autoscaler, or never fit
    pulumi.log.warn(warning)
# What DigitalOcean says of the stack's cluster now (read-only): the version it is given, its
# pools. An upgrade or a size that cannot be carried out is refused here, before any resource.
digitalocean = reader(settings.digitalocean)
cluster_plan = plan_cluster(stack, settings.cluster, digitalocean)

# DigitalOcean: a VPC; in it the cluster and both databases, created in parallel.
network = Network("network", NetworkArgs(stack, settings.network))
cluster = Cluster(
    "cluster",
    ClusterArgs(stack, settings.cluster, cluster_plan, digitalocean, vpc_id=network.vpc.id),
)
databases = DatabaseArgs(
    stack, settings.data, vpc_id=network.vpc.id, trusted_cluster_id=cluster.cluster.id
)
mysql = MysqlDatabase("mysql", databases)
cache = Cache("cache", databases)
# Cluster-wide, with tls only: cert-manager, which gets the Gateway's certificate.
cert_manager = (
    CertManager(
        "cert-manager",
        CertManagerArgs(
            settings.edge.tls_email,
            challenges=challenge_listener(settings.app.namespace),
            provider=cluster.provider,
        ),
    )
    if settings.edge.tls
    else None
)

# On the cluster: the application, wired to both databases, and its public entry.
app = Application(
    "app",
    AppArgs(
        settings.app,
        settings.network,
        mysql,
        cache,
        provider=cluster.provider,
        node_pool=cluster.app_pool,
    ),
)
edge = Edge(
    "edge",
    EdgeArgs(
        stack,
        settings.edge,
        namespace=settings.app.namespace,
        provider=cluster.provider,
        # Only the namespace: the load balancer (minutes) comes up while the app rolls out.
        depends_on=[app.namespace],
        cert_manager=cert_manager,
    ),
)

# Knowing when it breaks: the uptime check through the public entry, and the alerts on the nodes
# (through the pool's tag: the pool carries the stack's tags) and on both databases.
monitoring = (
    Monitoring(
        "monitoring",
        MonitoringArgs(
            stack,
            settings.monitoring,
            base_url=edge.url,
            tls=settings.edge.tls,
            node_tag=stack.name_prefix,
            database_ids=[mysql.cluster.id, cache.cluster.id],
            check_after=[app, edge],
            nodes_after=[cluster],
        ),
    )
    if settings.monitoring.enabled
    else None
)

# Last: depends on everything above, so a destroy of a protected stack stops before deleting any.
DestroyGuard(
    "destroy-guard",
    DestroyGuardArgs(
        protect=stack.protect,
        guarded=[
            network,
            cluster,
            mysql,
            cache,
            *([cert_manager] if cert_manager else []),
            app,
            edge,
            *([monitoring] if monitoring else []),
        ],
    ),
)

pulumi.export("publicAddress", edge.public_address)
pulumi.export("url", edge.url)
pulumi.export("namespace", settings.app.namespace)
pulumi.export("release", settings.app.image_tag)
pulumi.export("clusterName", cluster.cluster.name)
pulumi.export("clusterId", cluster.cluster.id)
pulumi.export("kubernetesVersion", cluster.running_version)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("mysqlPrivateHost", mysql.private_host)
pulumi.export("cachePrivateHost", cache.private_host)
pulumi.export("vpcId", network.vpc.id)
