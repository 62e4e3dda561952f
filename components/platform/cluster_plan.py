"""What `pulumi up` will do to the stack's cluster, worked out before anything is registered.

From the stack config and what DigitalOcean says about the cluster now (`live.py`):

- the version the cluster is given (`model/versions.py`: the one it runs while its minor matches
  `kubernetesVersionPrefix`; the newest patch of the next minor, as an in-place upgrade);
- the cluster's own pool keeps the size it was created with (DigitalOcean's provider replaces the
  whole cluster to change it: terraform-provider-digitalocean#424);
- the app's pool, named after its size (`posts-<stack>-<size>`), so that a new size is a new
  pool, created before the old one is deleted, with no name in use twice.

A plan that cannot be carried out is refused here, with one error naming the key, before any
resource is registered: a downgrade, a skip of a minor, an upgrade DigitalOcean does not offer
the cluster, or a `systemNodeSize` other than the cluster's own pool's. What will happen is said
in the preview (`notices`): an upgrade, a move to a new pool, the move off the cluster's own pool
of a stack deployed before the app had a pool of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

from components.platform.live import LiveCluster, Reader
from config.digitalocean_api import ApiUnreadable
from config.sections import SYSTEM_POOL_MIN_NODES, ClusterSettings, StackSettings
from config.settings import ConfigError
from model.versions import VersionPlan, VersionRefused, minor, plan_version


@dataclass(frozen=True)
class ClusterPlan:
    version: VersionPlan
    live: LiveCluster | None  # None: a new stack
    app_pool_name: str
    notices: tuple[str, ...]  # what this update does to the cluster, for the preview


def app_pool_name(stack: StackSettings, cluster: ClusterSettings) -> str:
    """`posts-dev-s-2vcpu-4gb`: a new size is a new name, so a replacement never collides."""
    return f"{stack.name_prefix}-{cluster.node_size}"


def plan_cluster(stack: StackSettings, cluster: ClusterSettings, reader: Reader) -> ClusterPlan:
    try:
        return _plan(stack, cluster, reader)
    except ApiUnreadable as unreadable:
        # Not the user's config: DigitalOcean's own answer, without a traceback.
        raise pulumi.RunError(
            f"stack '{stack.name}': nothing was changed: the cluster could not be read from"
            f" DigitalOcean before the update: {unreadable}"
        ) from None


def _plan(stack: StackSettings, cluster: ClusterSettings, reader: Reader) -> ClusterPlan:
    live = reader.cluster_named(stack.name_prefix)
    prefix = cluster.version_prefix
    newest = digitalocean.get_kubernetes_versions(version_prefix=prefix).latest_version or None
    problems: list[str] = []
    version = VersionPlan(version="")
    if live is not None and live.state == "upgrading" and minor(prefix) != minor(live.version):
        # DigitalOcean offers nothing while it upgrades (the console's upgrade, or an earlier
        # `up` that gave up waiting): say so rather than "not offered".
        raise ConfigError(
            stack.name,
            [
                f"kubernetesVersionPrefix: the cluster is being upgraded (DigitalOcean reports it"
                f" upgrading, from {live.version}); run `pulumi up` again once it runs the new"
                " version"
            ],
        )
    try:
        version = plan_version(
            prefix,
            live.version if live else None,
            newest,
            upgrades=lambda: reader.upgrades(live.id) if live else (),
        )
    except VersionRefused as refused:
        problems.append(str(refused))
    own = live.own_pool if live else None
    if own is not None and own.size != cluster.system_node_size:
        problems.append(
            f"systemNodeSize: the cluster's own pool ({own.name}) is {own.size}, and it keeps the"
            f" size it was created with: DigitalOcean's provider would replace the whole cluster"
            f" to change it (terraform-provider-digitalocean#424). Set systemNodeSize to"
            f" {own.size}; nodeSize sizes the app's pool"
        )
    if problems:
        raise ConfigError(stack.name, problems)

    name = app_pool_name(stack, cluster)
    return ClusterPlan(
        version=version,
        live=live,
        app_pool_name=name,
        notices=tuple(_notices(version, live, name, cluster)),
    )


def _notices(
    version: VersionPlan, live: LiveCluster | None, name: str, cluster: ClusterSettings
) -> list[str]:
    if live is None:
        return []
    found: list[str] = []
    if version.upgrade:
        found.append(
            f"kubernetesVersionPrefix: the cluster runs {version.upgrade_from}; this update"
            f" upgrades it in place to {version.version} through DigitalOcean's upgrade API"
            " (the control plane, then every node pool, surge nodes first) and waits until it"
            f" runs it, at most upgradeTimeoutSeconds ({cluster.upgrade_timeout_seconds} s)."
            " Kubernetes changes of the same update wait for it."
        )
    others = [p for p in live.other_pools if p.name != name]
    if not live.other_pools:
        found.append(
            f"nodeSize: the app moves off the cluster's own pool onto a pool of its own, {name}"
            f" ({cluster.min_nodes}..{cluster.max_nodes} x {cluster.node_size}): created first,"
            " then every Deployment rolls onto it, never below its replicas. The cluster's own"
            f" pool stays, its size unchanged; its minimum drops to {SYSTEM_POOL_MIN_NODES} and"
            " the autoscaler shrinks it once the app has left."
        )
    for pool in others:
        found.append(
            f"nodeSize: the app's pool {pool.name} ({pool.size}) is replaced by {name}"
            f" ({cluster.node_size}): the new pool is created first, every Deployment rolls"
            " onto it (never below its replicas), then the old pool is deleted; DigitalOcean"
            " drains and deletes its nodes, with nothing of the app left on them."
        )
    return found
