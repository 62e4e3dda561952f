"""The orphan report and the recovery: what DigitalOcean holds for a stack that its state does not,
what is adopted and what is left for a person (ops/orphans.py, ops/recover.py). The end-to-end
suite runs both against the stand-in (tests/e2e/test_imperfect_cloud.py); these check the
decisions on their own."""

from __future__ import annotations

from typing import Any

from ops.orphans import PULUMI_TYPES, CloudResource, OrphanReport, StackState, classify
from ops.recover import Recovery, kubernetes_object_id, pending_creates, planned_imports

CLUSTER_ID = "5f6e7a11-02e2-53a0-9ebd-c8b26b5b769a"
MYSQL_ID = "decb3bc1-7dae-5508-b9f7-494d4a7b5201"


def state(**ids: list[str]) -> StackState:
    return StackState(
        ids_by_type={PULUMI_TYPES[kind]: frozenset(values) for kind, values in ids.items()},
        hostname="posts.example.com",
        dns_domain="example.com",
    )


def test_what_the_state_holds_is_no_orphan_and_the_rest_is() -> None:
    held = state(vpc=["v1"], kubernetes_cluster=[CLUSTER_ID])
    resources = [
        CloudResource("vpc", "v1", "posts-dev-vpc"),
        CloudResource("kubernetes_cluster", CLUSTER_ID, "posts-dev", ("posts-dev",)),
        CloudResource("database_cluster", MYSQL_ID, "posts-dev-mysql", ("posts-dev",), "mysql"),
    ]
    orphans, owned = classify("dev", held, resources)
    assert [(o.resource.id, o.adoptable) for o in orphans] == [(MYSQL_ID, True)]
    assert orphans[0].reason == "not in the stack's state"
    assert owned == []


def test_a_restore_drills_cluster_is_named_as_such_and_never_adopted() -> None:
    held = state(database_cluster=[MYSQL_ID])
    drill = CloudResource(
        "database_cluster",
        "drill-id",
        "posts-dev-drill",
        ("posts", "posts-dev", "posts-restore-drill"),
    )
    (orphan,), _ = classify("dev", held, [drill])
    assert not orphan.adoptable
    report = OrphanReport("dev", (orphan,)).report()
    assert "a restore drill's MySQL cluster" in report
    assert "`./scripts/restore-drill dev --teardown` removes it" in report
    assert "./scripts/recover" not in report


def test_nodes_and_load_balancers_go_with_their_cluster_until_it_is_gone() -> None:
    node_tags = ("k8s", f"k8s:{CLUSTER_ID}", "k8s:worker", "posts-dev")
    node = CloudResource("droplet", "510000001", "posts-dev-default-ab12c", node_tags)
    balancer = CloudResource("load_balancer", "lb1", "posts-dev-gateway", (f"k8s:{CLUSTER_ID}",))
    cluster = CloudResource("kubernetes_cluster", CLUSTER_ID, "posts-dev")

    # Its cluster in the state: owned.
    orphans, owned = classify(
        "dev", state(kubernetes_cluster=[CLUSTER_ID]), [cluster, node, balancer]
    )
    assert orphans == [] and {r.id for r in owned} == {"510000001", "lb1"}
    # Its cluster itself an orphan (a lost create answer): they go with it, listed once.
    orphans, owned = classify("dev", state(), [cluster, node, balancer])
    assert [o.resource.id for o in orphans] == [CLUSTER_ID]
    # Its cluster gone: the load balancer bills on its own.
    orphans, _ = classify("dev", state(), [balancer])
    assert [(o.resource.id, o.reason, o.adoptable) for o in orphans] == [
        ("lb1", f"its cluster {CLUSTER_ID} no longer exists", False)
    ]


def test_another_clusters_load_balancer_is_not_the_stacks_business() -> None:
    foreign = CloudResource("load_balancer", "lb9", "a1b2c3", ("k8s:0000-other-cluster",))
    assert classify("dev", state(), [foreign]) == ([], [])


def test_a_second_resource_of_a_name_the_state_holds_is_a_duplicate_not_adoptable() -> None:
    held = state(database_cluster=[MYSQL_ID], domain_record=["101"])
    resources = [
        CloudResource("database_cluster", MYSQL_ID, "posts-dev-valkey"),
        CloudResource("database_cluster", "dup", "posts-dev-valkey"),
        CloudResource("domain_record", "101", "posts.example.com", (), "A 203.0.113.10"),
        CloudResource("domain_record", "102", "posts.example.com", (), "A 203.0.113.99"),
    ]
    orphans, _ = classify("dev", held, resources)
    assert {(o.resource.id, o.duplicate_of, o.adoptable) for o in orphans} == {
        ("dup", MYSQL_ID, False),
        ("102", "101", False),
    }
    report = OrphanReport("dev", tuple(orphans)).report()
    assert f"the state holds {MYSQL_ID}" in report
    assert "`doctl databases delete dup`" in report
    assert "./scripts/recover" not in report  # nothing to adopt: a person deletes duplicates


def test_the_reports_exit_status_says_clean_orphans_or_failure() -> None:
    orphan = classify("dev", state(), [CloudResource("vpc", "v", "posts-dev-vpc")])[0][0]
    assert OrphanReport("dev").exit_code == 0
    assert OrphanReport("dev", (orphan,)).exit_code == 1
    assert OrphanReport("dev", errors=("DIGITALOCEAN_TOKEN is not set",)).exit_code == 2
    assert "./scripts/recover dev" in OrphanReport("dev", (orphan,)).report()


def test_recovery_imports_an_orphan_where_the_preview_would_create_it() -> None:
    orphan = classify(
        "dev", state(), [CloudResource("database_cluster", MYSQL_ID, "posts-dev-mysql")]
    )[0][0]
    urn = "urn:pulumi:dev::posts-infra::posts:platform:MysqlDatabase$" + (
        "digitalocean:index/databaseCluster:DatabaseCluster::mysql-cluster"
    )
    preview: dict[str, Any] = {
        "steps": [
            {
                "op": "create",
                "urn": urn,
                "newState": {
                    "type": PULUMI_TYPES["database_cluster"],
                    "inputs": {"name": "posts-dev-mysql"},
                    "protect": True,
                },
            }
        ]
    }
    plan = {
        "nameTable": {"mysql": "urn:pulumi:dev::posts-infra::posts:platform:MysqlDatabase::mysql"},
        "resources": [
            {"type": PULUMI_TYPES["database_cluster"], "name": "mysql-cluster"}
            | {"id": "", "parent": "mysql"}
        ],
    }
    entries, adopted = planned_imports(preview, plan, [orphan])
    assert entries == [
        {
            "type": PULUMI_TYPES["database_cluster"],
            "name": "mysql-cluster",
            "id": MYSQL_ID,
            "parent": "mysql",
            "protect": True,
        }
    ]
    assert adopted == [orphan]
    # A create of another name is not filled by it.
    preview["steps"][0]["newState"]["inputs"] = {"name": "posts-dev-valkey"}
    assert planned_imports(preview, plan, [orphan]) == ([], [])


def test_pending_kubernetes_creates_ask_for_one_upsert_up_then_a_plain_one() -> None:
    exported = {
        "deployment": {
            "pending_operations": [
                {
                    "type": "creating",
                    "resource": {
                        "urn": "urn:...::app-job-migrate",
                        "type": "kubernetes:batch/v1:Job",
                        "inputs": {"metadata": {"name": "migrate-e7f8a9b", "namespace": "posts"}},
                    },
                },
                {"type": "updating", "resource": {"urn": "urn:...::app-deployment-api"}},
            ]
        }
    }
    (job,) = pending_creates(exported)
    assert kubernetes_object_id(job) == "posts/migrate-e7f8a9b"
    recovery = Recovery("dev", kubernetes_pending=["posts/migrate-e7f8a9b"])
    assert recovery.next_commands() == [
        "PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true pulumi up --stack dev",
        "pulumi up --stack dev",
    ]
    assert Recovery("dev").next_commands() == ["pulumi up --stack dev"]
