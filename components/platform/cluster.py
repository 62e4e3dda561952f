"""The DOKS cluster, the app's node pool, and a Kubernetes provider that never expires.

Two pools. The cluster's own pool (its "default" pool to DigitalOcean's provider, which tags it
`terraform:default-node-pool` itself and finds it by that tag) keeps the size it was created
with: the provider replaces the whole cluster to change it (terraform-provider-digitalocean#424,
pulumi-digitalocean#317). So it stays small and runs DOKS's own pods only. The app runs on a
`KubernetesNodePool` of its own, named after its size: a new `nodeSize` is a new pool, which
Pulumi creates before it deletes the old one (no name in use twice), and the app's pods select
that pool by name, so every Deployment rolls onto the new pool (never below its replicas) before
the old pool is deleted and DigitalOcean drains it (`AppContext.pod_template`).

The version: `cluster_plan.py` works it out before anything is registered. While the cluster's
minor matches `kubernetesVersionPrefix`, `version` is in ignore_changes (DOKS applies patches in
the maintenance window; neither that nor a newer patch appearing is a change). One minor up, it
is not: the provider's update calls DigitalOcean's upgrade API, which does not wait, so the
component waits until the cluster runs the new version (`running_version`), and the Kubernetes
provider, hence every object on the cluster, waits for that.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes

from components.labels import POOL_ROLE_LABEL
from components.platform.cluster_plan import ClusterPlan
from components.platform.kubeconfig import KubeconfigAuth, build_kubeconfig
from components.platform.live import Reader
from config.sections import (
    SYSTEM_POOL_MAX_NODES,
    SYSTEM_POOL_MIN_NODES,
    ClusterSettings,
    StackSettings,
)

UPGRADE_POLL_SECONDS = 10  # as the provider polls a cluster it creates


@dataclass(frozen=True)
class ClusterArgs:
    stack: StackSettings
    cluster: ClusterSettings
    plan: ClusterPlan
    reader: Reader  # DigitalOcean's API, read-only: the upgrade is waited for through it
    vpc_id: pulumi.Input[str]


class Cluster(pulumi.ComponentResource):
    cluster: digitalocean.KubernetesCluster
    app_pool: digitalocean.KubernetesNodePool
    app_pool_name: pulumi.Output[str]  # what the app's pods select (from the pool: they wait)
    running_version: pulumi.Output[str]  # the version the cluster runs once `up` is done
    provider: kubernetes.Provider
    kubeconfig: pulumi.Output[str]  # for people: doctl exec credential, no secret inside

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:Cluster", name, None, opts)
        stack, settings, plan = args.stack, args.cluster, args.plan
        cluster_name = stack.name_prefix

        # The autoscaler owns the node counts, and the cluster's own pool keeps the upper bound
        # it was created with (a stack from before the app had its own pool: its old maxNodes;
        # lowering it could take nodes away before the app has moved).
        ignored = ["nodePool.nodeCount", "nodePool.maxNodes"]
        if not plan.version.upgrade:
            ignored.append("version")
        self.cluster = digitalocean.KubernetesCluster(
            f"{name}-doks",
            name=cluster_name,
            region=stack.region,
            version=plan.version.version,
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
            # The cluster's own pool: DOKS's own pods. No `node_count` here or below: with
            # auto_scale the provider's docs say to set it "only if the desired result is to
            # explicitly reset the number of nodes to this value", and it is sent on every later
            # pool update (a bounds change would reset an autoscaled pool to it). Without it the
            # create request lacks `count`, which DigitalOcean's OpenAPI description requires but
            # its API does not: the pool starts at min_nodes (a known deviation in the
            # end-to-end contract check).
            node_pool=digitalocean.KubernetesClusterNodePoolArgs(
                name=f"{cluster_name}-default",
                size=settings.system_node_size,
                auto_scale=True,
                min_nodes=SYSTEM_POOL_MIN_NODES,
                max_nodes=SYSTEM_POOL_MAX_NODES,
                labels={POOL_ROLE_LABEL: "default"},
                tags=list(stack.tags),
            ),
            tags=list(stack.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=stack.protect, ignore_changes=ignored),
        )

        # The app's pool. Not protected: a new size replaces it (created first, deleted last);
        # a destroy of a protected stack is stopped by the destroy guard before it comes here.
        # No node_count, but the provider reads the pool's count into its state and sends it
        # with every update of the pool (ignore_changes does not stop that: the end-to-end suite
        # saw both), so a change of minNodes or maxNodes resets the pool to the count Pulumi
        # last read: deploy it with `--refresh`, as CI does (docs/operations.md).
        self.app_pool = digitalocean.KubernetesNodePool(
            f"{name}-app-pool",
            cluster_id=self.cluster.id,
            name=plan.app_pool_name,
            size=settings.node_size,
            auto_scale=True,
            min_nodes=settings.min_nodes,
            max_nodes=settings.max_nodes,
            labels={POOL_ROLE_LABEL: "app"},
            tags=list(stack.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Create the new pool before deleting the old one. The Terraform bridge asks
                # for the opposite whenever a resource's `name` is set rather than autonamed
                # (pulumi-terraform-bridge's nameRequiresDeleteBeforeReplace), and the engine
                # then deletes the old pool first and replaces every Deployment that names it:
                # the app down (the end-to-end suite's preview showed it). The name changes with
                # the size, so the two never collide; an explicit `False` overrides the bridge.
                delete_before_replace=False,
            ),
        )
        self.app_pool_name = self.app_pool.name

        for notice in plan.notices:
            pulumi.log.info(notice, resource=self)

        self.running_version = self._running_version(args)

        ca_certificate = self.cluster.kube_configs.apply(
            lambda configs: configs[0].cluster_ca_certificate or ""
        )
        # The provider, and so every object on the cluster, waits for an upgrade to finish: the
        # control plane is replaced during it.
        endpoint = pulumi.Output.all(self.cluster.endpoint, self.running_version).apply(
            lambda values: values[0]
        )
        provider_kubeconfig = build_kubeconfig(
            cluster_name=cluster_name,
            cluster_id=self.cluster.id,
            endpoint=endpoint,
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
                "app_pool": self.app_pool_name,
                "kubernetes_version": self.running_version,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _running_version(self, args: ClusterArgs) -> pulumi.Output[str]:
        """The version the cluster runs when `up` is done: the version it is created with, the
        one it runs (patches may have come since the state last read it), or, for an upgrade,
        the new one once DigitalOcean reports the cluster running it."""
        plan = args.plan.version
        if plan.running is None:
            return self.cluster.version
        if not plan.upgrade:
            return self.cluster.id.apply(lambda _: plan.running or "")
        timeout = args.cluster.upgrade_timeout_seconds
        return pulumi.Output.all(self.cluster.id, self.cluster.version).apply(
            lambda values: _await_upgrade(args.reader, values[0], plan.version, timeout)
        )


async def _await_upgrade(reader: Reader, cluster_id: str, version: str, timeout: int) -> str:
    """Polls DigitalOcean until the cluster runs `version` (state `running`); a preview only
    says it will. Fails `up` after `timeout` seconds, naming what DigitalOcean last said."""
    if pulumi.runtime.is_dry_run():
        return version
    deadline = time.monotonic() + timeout
    while True:
        live = await asyncio.to_thread(reader.cluster, cluster_id)
        if live.state == "running" and live.version == version:
            return version
        if time.monotonic() >= deadline:
            raise pulumi.RunError(
                f"the cluster's upgrade to {version} did not finish within"
                f" upgradeTimeoutSeconds ({timeout} s): DigitalOcean reports it {live.state},"
                f" running {live.version}. The upgrade goes on without Pulumi: run `pulumi up`"
                " again once `doctl kubernetes cluster get <name>` shows it running"
            )
        await asyncio.sleep(UPGRADE_POLL_SECONDS)
