"""posts-infra: one stack's architecture. Each component owns one concern (components/)."""

import pulumi

from components.app.application import AppArgs, Application
from components.app.edge import Edge, EdgeArgs, challenge_listener
from components.platform.cert_manager import CertManager, CertManagerArgs
from components.platform.cluster import Cluster, ClusterArgs
from components.platform.databases import Cache, DatabaseArgs, MysqlDatabase
from components.platform.network import Network, NetworkArgs
from components.platform.protection import DestroyGuard, DestroyGuardArgs
from config.settings import load_settings

settings = load_settings()  # every config key, checked; one error listing every problem
stack = settings.stack
for warning in settings.warnings:  # pods that wait for the autoscaler, or never fit
    pulumi.log.warn(warning)

# DigitalOcean: a VPC; in it the cluster and both databases, created in parallel.
network = Network("network", NetworkArgs(stack, settings.network))
cluster = Cluster("cluster", ClusterArgs(stack, settings.cluster, vpc_id=network.vpc.id))
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
    "app", AppArgs(settings.app, settings.network, mysql, cache, provider=cluster.provider)
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
        ],
    ),
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
