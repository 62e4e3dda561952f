"""The DOKS cluster, its autoscaling node pool, and a Kubernetes provider that never expires."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes

from components.platform.kubeconfig import KubeconfigAuth, build_kubeconfig
from config.sections import ClusterSettings, StackSettings

# The DigitalOcean provider tags the cluster's own pool `terraform:default-node-pool` itself and
# recognises it by that tag (docs/operations.md, "Changing the node size"); it is not repeated
# here.


@dataclass(frozen=True)
class ClusterArgs:
    stack: StackSettings
    cluster: ClusterSettings
    vpc_id: pulumi.Input[str]


class Cluster(pulumi.ComponentResource):
    cluster: digitalocean.KubernetesCluster
    provider: kubernetes.Provider
    kubeconfig: pulumi.Output[str]  # for people: doctl exec credential, no secret inside

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:Cluster", name, None, opts)
        stack, settings = args.stack, args.cluster
        cluster_name = stack.name_prefix

        # The newest patch of the configured minor, resolved when the cluster is created.
        # `version` is then ignored: DOKS auto-upgrades patches in the maintenance window, and
        # a newer patch appearing must not show up as a diff (or a replacement) on every run.
        versions = digitalocean.get_kubernetes_versions_output(
            version_prefix=settings.version_prefix, opts=pulumi.InvokeOptions(parent=self)
        )
        version = versions.latest_version.apply(
            lambda latest: _require_version(latest, settings.version_prefix)
        )

        self.cluster = digitalocean.KubernetesCluster(
            f"{name}-doks",
            name=cluster_name,
            region=stack.region,
            version=version,
            vpc_uuid=args.vpc_id,
            # VPC-native networking: pod and service ranges are routable in the VPC, which
            # DOKS's managed Gateway API needs. Both are fixed at creation.
            cluster_subnet=settings.cluster_subnet.text,
            service_subnet=settings.service_subnet.text,
            # Explicit: since 1.36 the API defaults to an HA control plane, which can never be
            # turned off again.
            ha=settings.ha_control_plane,
            surge_upgrade=settings.surge_upgrade,
            auto_upgrade=settings.auto_upgrade,
            maintenance_policy=digitalocean.KubernetesClusterMaintenancePolicyArgs(
                day=settings.maintenance_day,
                start_time=settings.maintenance_start_time,
            ),
            registry_integration=settings.registry_integration,
            # Deleting the cluster must never take volumes or load balancers with it.
            destroy_all_associated_resources=False,
            node_pool=digitalocean.KubernetesClusterNodePoolArgs(
                name=f"{cluster_name}-default",
                size=settings.node_size,
                auto_scale=True,
                # No `node_count`: with auto_scale the provider's docs say to set it "only if
                # the desired result is to explicitly reset the number of nodes to this value",
                # and it is sent on every later pool update (a maxNodes change would shrink an
                # autoscaled pool to it). Without it the create request lacks `count`, which
                # DigitalOcean's OpenAPI description requires but its API does not: the pool
                # starts at min_nodes (a known deviation in the end-to-end contract check).
                min_nodes=settings.min_nodes,
                max_nodes=settings.max_nodes,
                labels={"posts.dev/pool": "default"},
                tags=list(stack.tags),
            ),
            tags=list(stack.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=stack.protect,
                # The autoscaler owns the node count; DOKS owns the patch version.
                ignore_changes=["version", "nodePool.nodeCount"],
            ),
        )

        self.cluster.version.apply(
            lambda live: _warn_if_minor_differs(live, settings.version_prefix)
        )

        ca_certificate = self.cluster.kube_configs.apply(
            lambda configs: configs[0].cluster_ca_certificate or ""
        )
        provider_kubeconfig = build_kubeconfig(
            cluster_name=cluster_name,
            cluster_id=self.cluster.id,
            endpoint=self.cluster.endpoint,
            ca_certificate=ca_certificate,
            auth=KubeconfigAuth(
                method="token" if settings.auth == "token" else "doctl",
                token=settings.digitalocean_token,
            ),
        )
        self.kubeconfig = build_kubeconfig(
            cluster_name=cluster_name,
            cluster_id=self.cluster.id,
            endpoint=self.cluster.endpoint,
            ca_certificate=ca_certificate,
            auth=KubeconfigAuth(method="doctl"),
        )

        self.provider = kubernetes.Provider(
            f"{name}-k8s",
            kubeconfig=provider_kubeconfig,
            # Never silently drop objects from state if the API server is unreachable.
            delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.register_outputs(
            {
                "cluster_id": self.cluster.id,
                "cluster_name": self.cluster.name,
                "kubeconfig": self.kubeconfig,
            }
        )


def _require_version(latest: str | None, prefix: str) -> str:
    if not latest:
        raise pulumi.RunError(
            f"kubernetesVersionPrefix '{prefix}': DigitalOcean offers no Kubernetes version with"
            " this prefix; `doctl kubernetes options versions` lists the offered ones"
        )
    return latest


def _warn_if_minor_differs(live: str | None, prefix: str) -> None:
    if live and not live.startswith(prefix):
        pulumi.log.warn(
            f"the cluster runs Kubernetes {live}, not {prefix}x: kubernetesVersionPrefix picks"
            " the version at creation only. Upgrade a minor with `doctl kubernetes cluster"
            " upgrade`, then set the prefix to match (docs/operations.md: 'Upgrading Kubernetes')."
        )
