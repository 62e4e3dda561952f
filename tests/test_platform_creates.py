"""What `pulumi up` creates on DigitalOcean: VPC, DOKS cluster, MySQL, Valkey, as configured."""

from __future__ import annotations

import pytest

from offline.simulate import Simulation, run_stack
from tests.kinds import DATABASE, DATABASE_DB, DATABASE_USER, DOKS, MYSQL_CONFIG, NODE_POOL, VPC


def test_one_vpc_in_the_stack_region(dev: Simulation) -> None:
    vpc = dev.one(VPC)
    assert vpc.value("region") == "nyc3"
    assert vpc.value("ipRange") == "10.110.0.0/20"
    assert vpc.value("name") == "posts-dev-vpc"


def test_cluster_joins_the_vpc_with_vpc_native_subnets(dev: Simulation) -> None:
    doks = dev.one(DOKS)
    vpc = dev.one(VPC)
    assert doks.value("vpcUuid") == "network-vpc-id"  # the mock id of the VPC
    assert vpc.urn in doks.dependencies
    assert doks.value("clusterSubnet") == "172.16.0.0/16"
    assert doks.value("serviceSubnet") == "172.20.0.0/19"
    assert doks.value("region") == "nyc3"


@pytest.mark.parametrize(
    ("stack", "size", "low", "high"),
    [("dev", "s-2vcpu-4gb", 2, 3), ("prod", "s-4vcpu-8gb", 2, 5)],
)
def test_the_apps_pool_autoscales_within_the_stack_bounds(
    stack: str, size: str, low: int, high: int, dev: Simulation, prod: Simulation
) -> None:
    simulation = {"dev": dev, "prod": prod}[stack]
    pool = simulation.one(NODE_POOL)
    assert pool.value("autoScale") is True
    assert (pool.value("minNodes"), pool.value("maxNodes")) == (low, high)
    assert pool.value("size") == size
    assert pool.value("name") == f"posts-{stack}-{size}"  # a new size is a new pool
    assert pool.value("clusterId") == "cluster-doks-id"
    # A node_count would be sent on every pool update and reset the autoscaled pool to it
    # (terraform-provider-digitalocean docs, kubernetes_node_pool node_count).
    assert pool.value("nodeCount") is None, "a fixed node count would fight the autoscaler"
    assert pool.value("labels") == {"posts.dev/pool": "app"}
    # Not protected: a new size replaces it, the new pool created before the old is deleted,
    # whatever the provider asks (it asks to delete first for a resource named explicitly).
    assert not pool.protect
    assert (pool.delete_before_replace, pool.delete_before_replace_set) == (False, True)


@pytest.mark.parametrize(("stack", "size"), [("dev", "s-2vcpu-4gb"), ("prod", "s-4vcpu-8gb")])
def test_the_clusters_own_pool_is_small_and_keeps_its_size(
    stack: str, size: str, dev: Simulation, prod: Simulation
) -> None:
    """The stack files keep the size their clusters were created with (`systemNodeSize`); a
    new cluster's own pool is the smallest size DOKS takes."""
    doks = {"dev": dev, "prod": prod}[stack].one(DOKS)
    pool = doks.value("nodePool")
    assert (pool["name"], pool["size"]) == (f"posts-{stack}-default", size)
    assert (pool["autoScale"], pool["minNodes"], pool["maxNodes"]) == (True, 1, 1)
    assert "nodeCount" not in pool
    assert pool["labels"] == {"posts.dev/pool": "default"}
    # the provider adds its own default-pool tag and drops it when reading back
    assert "terraform:default-node-pool" not in pool["tags"]
    fresh = run_stack(stack, {"systemNodeSize": None}).one(DOKS).value("nodePool")
    assert fresh["size"] == "s-1vcpu-2gb"


def test_autoscaling_bounds_follow_config() -> None:
    simulation = run_stack("dev", {"minNodes": "3", "maxNodes": "7"})
    pool = simulation.one(NODE_POOL)
    assert (pool.value("minNodes"), pool.value("maxNodes")) == (3, 7)
    assert simulation.one(DOKS).value("nodePool")["maxNodes"] == 1  # not the app's


def test_version_is_the_newest_patch_of_the_configured_minor(dev: Simulation) -> None:
    assert dev.one(DOKS).value("version") == "1.36.2-do.0"  # the mock's newest 1.36 patch
    other = run_stack("dev", {"kubernetesVersionPrefix": "1.35."})
    assert other.one(DOKS).value("version") == "1.35.2-do.0"


def test_auto_upgrades_and_autoscaling_cause_no_diff(dev: Simulation) -> None:
    """The autoscaler owns the counts, DOKS the patch version; the cluster's own pool keeps the
    upper bound it was created with (a stack from before the app's pool: its old maxNodes)."""
    assert set(dev.one(DOKS).ignore_changes) == {
        "version",
        "nodePool.nodeCount",
        "nodePool.maxNodes",
    }


def test_upgrades_maintenance_and_ha_are_explicit(dev: Simulation, prod: Simulation) -> None:
    doks = dev.one(DOKS)
    assert doks.value("surgeUpgrade") is True
    assert doks.value("autoUpgrade") is True
    assert doks.value("maintenancePolicy") == {"day": "sunday", "startTime": "04:00"}
    # DOKS >= 1.36 turns HA on when `ha` is absent; it must always be sent.
    assert doks.value("ha") is False
    assert prod.one(DOKS).value("ha") is True


def test_cluster_deletion_never_takes_volumes_or_load_balancers(dev: Simulation) -> None:
    assert dev.one(DOKS).value("destroyAllAssociatedResources") is False


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_vpc_cluster_databases_are_protected(stack: str, dev: Simulation, prod: Simulation) -> None:
    simulation = {"dev": dev, "prod": prod}[stack]
    protected = {r.name for r in simulation.registrations if r.protect}
    assert {"network-vpc", "cluster-doks", "mysql-cluster", "cache-cluster", "mysql-db"} <= (
        protected
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_destroy_of_a_protected_stack_can_start_only_with_a_protected_guard(
    stack: str, dev: Simulation, prod: Simulation
) -> None:
    """The engine checks `protect` only when a delete reaches a resource, dependents first. So
    the one resource a destroy can start with, the one nothing depends on, must be protected:
    the guard, which depends on every other resource (through plain dependsOn only, so that
    replacing another resource never involves it)."""
    simulation = {"dev": dev, "prod": prod}[stack]
    custom = [r for r in simulation.registrations if r.custom]
    depended_on = {urn for r in custom for urn in r.dependencies}
    (first_to_delete,) = [r for r in custom if r.urn not in depended_on]
    assert first_to_delete.type == "pulumi:index:Stash" and first_to_delete.protect
    assert {r.urn for r in custom} - {first_to_delete.urn} <= set(first_to_delete.dependencies)
    assert not any(first_to_delete.property_dependencies.values())


def test_protection_can_be_turned_off_for_throwaway_stacks() -> None:
    simulation = run_stack("dev", {"protectResources": "false"})
    assert not [r.name for r in simulation.registrations if r.protect]


def test_mysql_8_with_the_app_database_and_user(dev: Simulation) -> None:
    mysql = dev.one(DATABASE, "mysql-cluster")
    assert (mysql.value("engine"), mysql.value("version")) == ("mysql", "8")
    assert mysql.value("size") == "db-s-1vcpu-1gb"
    assert mysql.value("nodeCount") == 1
    assert mysql.value("privateNetworkUuid") == "network-vpc-id"
    assert mysql.value("maintenanceWindows") == [{"day": "sunday", "hour": "02:00:00"}]
    assert dev.one(DATABASE_DB).value("name") == "posts"
    assert dev.one(DATABASE_USER).value("name") == "posts-root"
    for child in (dev.one(DATABASE_DB), dev.one(DATABASE_USER)):
        assert child.value("clusterId") == "mysql-cluster-id"


def test_mysql_primary_key_requirement_is_stated(dev: Simulation) -> None:
    assert dev.one(MYSQL_CONFIG).value("sqlRequirePrimaryKey") is True
    relaxed = run_stack("dev", {"mysqlRequirePrimaryKey": "false"})
    assert relaxed.one(MYSQL_CONFIG).value("sqlRequirePrimaryKey") is False


def test_cache_is_valkey_8_in_the_vpc_and_keeps_queued_jobs(dev: Simulation) -> None:
    cache = dev.one(DATABASE, "cache-cluster")
    assert (cache.value("engine"), cache.value("version")) == ("valkey", "8")
    assert cache.value("name") == "posts-dev-valkey"
    assert cache.value("privateNetworkUuid") == "network-vpc-id"
    # Laravel's queue lives in the same server: only keys with a TTL may be evicted.
    assert cache.value("evictionPolicy") == "volatile_lru"


def test_prod_has_standby_database_nodes(prod: Simulation) -> None:
    assert prod.one(DATABASE, "mysql-cluster").value("nodeCount") == 2
    assert prod.one(DATABASE, "cache-cluster").value("nodeCount") == 2
    assert prod.one(DATABASE, "mysql-cluster").value("size") == "db-s-2vcpu-4gb"


def test_two_runs_register_identical_resources() -> None:
    """Same config, same objects: no time, randomness or ordering leaks into names or inputs
    (registration order itself is asynchronous and may differ)."""
    first, second = run_stack("dev"), run_stack("dev")
    assert len(first.registrations) == len(second.registrations)
    assert {r.urn: r.inputs for r in first.registrations} == {
        r.urn: r.inputs for r in second.registrations
    }
