"""Day-2 changes by config on a running stack: a new node size, a Kubernetes minor upgrade, and
the move of a stack deployed before the app had a pool of its own. What the program registers,
what it refuses before anything is registered, and what the preview says will happen.

DigitalOcean's view of the running cluster is `OfflineDoks` (offline/simulate.py), what the
program reads through `components/platform/live.py` in place of DigitalOcean's API.
"""

from __future__ import annotations

import asyncio

import pytest

from components.platform import cluster as cluster_module
from components.platform.live import LiveCluster, LivePool
from config.settings import ConfigError
from model.versions import VersionRefused, plan_version
from offline.simulate import OfflineDoks, Simulation, run_stack
from tests.kinds import CRON_JOB, DEPLOYMENT, DOKS, JOB, NODE_POOL

CLUSTER_ID = "7f1c2d3e-0000-4000-8000-000000000001"


def running(
    version: str = "1.36.2-do.0",
    own_size: str = "s-2vcpu-4gb",
    app_pools: tuple[str, ...] = ("s-2vcpu-4gb",),
    state: str = "running",
) -> LiveCluster:
    """The dev stack's cluster as DigitalOcean shows it."""
    pools = [LivePool("own", "posts-dev-default", own_size, default=True)]
    pools += [
        LivePool(f"p{i}", f"posts-dev-{size}", size, False) for i, size in enumerate(app_pools)
    ]
    return LiveCluster(CLUSTER_ID, "posts-dev", version, state, tuple(pools))


def refusal(cloud: OfflineDoks, **overrides: str | None) -> str:
    with pytest.raises(ConfigError) as raised:
        run_stack("dev", overrides, doks=cloud)
    return str(raised.value)


# -- the app on a pool of its own --------------------------------------------------------------


def test_every_pod_of_the_app_runs_on_the_apps_pool_never_on_the_clusters_own(
    dev: Simulation,
) -> None:
    pool = dev.one(NODE_POOL)
    for kind in (DEPLOYMENT, CRON_JOB):
        for workload in dev.of_type(kind):
            spec = workload.value("spec")
            template = (
                spec["jobTemplate"]["spec"]["template"] if kind == CRON_JOB else spec["template"]
            )
            assert template["spec"]["nodeSelector"] == {
                "posts.dev/pool": "app",
                "doks.digitalocean.com/node-pool": "posts-dev-s-2vcpu-4gb",
            }, workload.name
            # the pool's name comes from the pool: the workload waits for it to exist
            assert pool.urn in workload.dependencies, workload.name
    (job,) = dev.of_type(JOB)
    assert job.value("spec")["template"]["spec"]["nodeSelector"] == {"posts.dev/pool": "app"}
    assert pool.urn in job.dependencies


def test_a_new_node_size_is_a_new_pool_and_moves_every_workload_but_the_migration() -> None:
    """The pool's name changes with its size (a replacement, never a name in use twice); the
    Deployments and the CronJob follow it by name, the release's Job does not (it would be
    replaced and the migration run again); the cluster does not change."""
    before = run_stack("dev", doks=OfflineDoks(running()))
    after = run_stack("dev", {"nodeSize": "s-4vcpu-8gb"}, doks=OfflineDoks(running()))
    assert before.one(NODE_POOL).urn == after.one(NODE_POOL).urn
    assert after.one(NODE_POOL).value("name") == "posts-dev-s-4vcpu-8gb"
    assert before.one(DOKS).inputs == after.one(DOKS).inputs
    assert before.one(JOB).inputs == after.one(JOB).inputs
    moved = [
        w.name
        for kind in (DEPLOYMENT, CRON_JOB)
        for w in after.of_type(kind)
        if "posts-dev-s-4vcpu-8gb" in str(w.value("spec"))
    ]
    assert sorted(moved) == sorted(
        w.name for kind in (DEPLOYMENT, CRON_JOB) for w in after.of_type(kind)
    )
    assert any(
        "posts-dev-s-2vcpu-4gb (s-2vcpu-4gb) is replaced by posts-dev-s-4vcpu-8gb" in n
        and "the new pool is created first" in n
        for n in after.notices
    ), after.notices
    assert not any("nodeSize" in n for n in before.notices), before.notices


def test_a_stack_from_before_the_apps_pool_moves_onto_it_and_keeps_its_own_pool() -> None:
    """Deployed with the app on the cluster's own pool: the same cluster (its inputs but the
    pool's minimum are as before: size, name, labels), the app's pool added, the move said."""
    simulation = run_stack("dev", doks=OfflineDoks(running(app_pools=())))
    own = simulation.one(DOKS).value("nodePool")
    assert (own["name"], own["size"], own["labels"]) == (
        "posts-dev-default",
        "s-2vcpu-4gb",
        {"posts.dev/pool": "default"},
    )
    assert own["minNodes"] == 1
    assert "nodePool.maxNodes" in simulation.one(DOKS).ignore_changes  # its old maxNodes stays
    (notice,) = [n for n in simulation.notices if "nodeSize" in n]
    assert "the app moves off the cluster's own pool onto a pool of its own" in notice
    assert "posts-dev-s-2vcpu-4gb" in notice


def test_a_system_node_size_other_than_the_clusters_is_refused_before_anything() -> None:
    """The cluster's own pool can never change size (the provider would replace the cluster):
    a stack file without `systemNodeSize` for a cluster created with s-2vcpu-4gb is refused,
    naming the size to set."""
    message = refusal(OfflineDoks(running()), systemNodeSize=None)
    assert "systemNodeSize: the cluster's own pool (posts-dev-default) is s-2vcpu-4gb" in message
    assert "terraform-provider-digitalocean#424" in message
    assert "Set systemNodeSize to s-2vcpu-4gb" in message
    assert "nothing was changed" in message


# -- the version --------------------------------------------------------------------------------


def test_a_running_cluster_keeps_the_version_it_runs_patches_included() -> None:
    """DOKS's own patch upgrades are no change: the version is the live one, and ignored."""
    simulation = run_stack("dev", doks=OfflineDoks(running(version="1.36.5-do.1")))
    doks = simulation.one(DOKS)
    assert doks.value("version") == "1.36.5-do.1"
    assert "version" in doks.ignore_changes
    assert simulation.outputs["kubernetesVersion"].value == "1.36.5-do.1"
    assert not simulation.notices


def test_the_next_minor_upgrades_in_place_says_so_and_waits() -> None:
    cloud = OfflineDoks(
        running(version="1.35.9-do.0"),
        upgrades=("1.36.2-do.0",),
        upgraded=running(version="1.36.2-do.0"),
    )
    simulation = run_stack("dev", doks=cloud)
    doks = simulation.one(DOKS)
    assert doks.value("version") == "1.36.2-do.0"
    assert "version" not in doks.ignore_changes  # the provider calls the upgrade API
    assert not doks.replace_on_changes and doks.protect
    (notice,) = [n for n in simulation.notices if "kubernetesVersionPrefix" in n]
    assert "runs 1.35.9-do.0; this update upgrades it in place to 1.36.2-do.0" in notice
    assert "waits until it runs it" in notice
    # DigitalOcean was asked which upgrades it offers, and polled until the cluster ran it
    # (by the cluster resource's ID: the mocks' own here, the same cluster on the real engine).
    assert cloud.reads == [
        "cluster_named posts-dev",
        f"upgrades {CLUSTER_ID}",
        f"cluster {simulation.one(DOKS).name}-id",
    ]
    assert simulation.outputs["kubernetesVersion"].value == "1.36.2-do.0"


@pytest.mark.parametrize(
    ("live", "prefix", "said"),
    [
        ("1.36.2-do.0", "1.35.", "'1.35.' is below the 1.36. the cluster runs (1.36.2-do.0)"),
        ("1.35.9-do.0", "1.37.", "'1.37.' skips a minor: the cluster runs 1.35.9-do.0"),
    ],
)
def test_a_downgrade_or_a_skipped_minor_is_refused_before_anything(
    live: str, prefix: str, said: str
) -> None:
    cloud = OfflineDoks(running(version=live), upgrades=("1.36.2-do.0",))
    message = refusal(cloud, kubernetesVersionPrefix=prefix)
    assert f"kubernetesVersionPrefix: {said}" in message
    assert f"upgrades {CLUSTER_ID}" not in cloud.reads  # refused on the versions alone


def test_an_upgrade_digitalocean_does_not_offer_the_cluster_is_refused() -> None:
    """DOKS moves to a new minor only from the newest patch of the current one: its upgrades
    then list only that patch (terraform-provider-digitalocean#708)."""
    cloud = OfflineDoks(running(version="1.35.1-do.0"), upgrades=("1.35.9-do.0",))
    message = refusal(cloud)
    assert (
        "kubernetesVersionPrefix: DigitalOcean does not offer 1.36.2-do.0 to this cluster, which"
        " runs 1.35.1-do.0: its upgrades are 1.35.9-do.0"
    ) in message


def test_an_upgrade_asked_for_while_digitalocean_upgrades_the_cluster_is_refused_plainly() -> None:
    """An earlier `up` gave up waiting, or the console started one: DigitalOcean offers nothing
    while it runs. A deploy of the same minor goes on (DOKS's patch upgrades in the maintenance
    window look the same)."""
    upgrading = running(version="1.35.9-do.0", state="upgrading")
    message = refusal(OfflineDoks(upgrading))
    assert "kubernetesVersionPrefix: the cluster is being upgraded" in message
    same_minor = run_stack("dev", {"kubernetesVersionPrefix": "1.35."}, doks=OfflineDoks(upgrading))
    assert same_minor.one(DOKS).value("version") == "1.35.9-do.0"


def test_an_upgrade_that_does_not_finish_fails_up_in_bounded_time_naming_the_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cluster_module, "UPGRADE_POLL_SECONDS", 0)
    cloud = OfflineDoks(running(version="1.36.2-do.0", state="upgrading"))
    wait = cluster_module._await_upgrade(cloud, CLUSTER_ID, "1.36.3-do.0", timeout=0)
    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the mocks' loop
    try:
        with pytest.raises(Exception, match="did not finish within upgradeTimeout") as raised:
            loop.run_until_complete(wait)
    finally:
        loop.close()
    assert "DigitalOcean reports it upgrading, running 1.36.2-do.0" in str(raised.value)


def test_the_version_rules() -> None:
    def offered() -> tuple[str, ...]:
        return ("1.36.3-do.0",)

    assert plan_version("1.36.", None, "1.36.3-do.0", offered).version == "1.36.3-do.0"
    kept = plan_version("1.36.", "1.36.1-do.0", "1.36.3-do.0", offered)
    assert (kept.version, kept.upgrade) == ("1.36.1-do.0", False)
    up = plan_version("1.36.", "1.35.7-do.1", "1.36.3-do.0", offered)
    assert (up.version, up.upgrade_from) == ("1.36.3-do.0", "1.35.7-do.1")
    for prefix, live, newest in (
        ("1.36.", None, None),  # not offered
        ("1.34.", "1.35.7-do.1", "1.34.9-do.0"),  # downgrade
        ("1.38.", "1.36.3-do.0", "1.38.0-do.0"),  # skip
        ("1.37.", "1.36.3-do.0", None),  # next minor not offered at all
        ("1.37.", "1.36.3-do.0", "1.37.0-do.0"),  # not in the cluster's upgrades
    ):
        with pytest.raises(VersionRefused):
            plan_version(prefix, live, newest, offered)
