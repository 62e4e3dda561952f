"""A DigitalOcean that is slow, rate-limits, fails, loses answers and meets dying runners: what
the real provider does about each, what the operator sees, and the documented way back to a
converged stack (docs/when-things-go-wrong.md).

Each scenario is a stack of its own of the DigitalOcean-only program
(tests/e2e/digitalocean/program.py: the program's VPC and databases, its cluster's arguments, a
DNS record) against one stand-in behind Prism, with faults set through the stand-in's admin
route. What the provider did is read from the stand-in's request log: how often it polled, what
each retried request was answered. The provider that runs is pulumi-digitalocean v4.76.0 on
terraform-provider-digitalocean v2.96.0 (godo v1.200.0, go-retryablehttp v0.7.8: 4 retries,
1 to 30 s apart, `retry-after` honoured; POSTs retried too), stamped 4.84.1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.e2e.digitalocean.faults import DOMAIN, CloudStack, kill_process_group, requests_of
from tests.e2e.digitalocean.server import StandIn
from tests.e2e.engine.processes import wait_until
from tests.e2e.engine.workspace import Workspace

LOCKED = "the stack is currently locked by 1 lock(s)"


def statuses(standin: StandIn, since: int, method: str, path: str) -> list[int]:
    return [r["status"] for r in requests_of(standin, since, method, path)]


# -- 1 and 2: a slow cloud, rate limits, 5xx on reads and writes; two deploys at once --------------


def test_a_slow_cloud_with_rate_limits_and_5xx_is_carried_by_the_provider_unaided(
    cloud: Any, standin: StandIn, tmp_path: Path
) -> None:
    stack: CloudStack = cloud("hiccups")
    since = len(standin.requests())
    standin.behaviour(cluster_provisioning_polls=2, database_creating_polls=1)
    standin.rate_limit("POST", "/v2/vpcs", times=2)
    standin.server_error("GET", r"/v2/vpcs/[^/]+", status=503)
    standin.server_error("POST", "/v2/databases", status=500, body_match={"engine": "valkey"})
    standin.server_error("PUT", r"/v2/databases/[^/]+/firewall", status=502, times=2)
    standin.rate_limit("GET", r"/v2/kubernetes/clusters/[^/]+")

    running = stack.start_up()
    # A second deploy of the same stack from another checkout (a laptop), with other config,
    # while the first runs: refused by the backend's lock before it does anything.
    wait_until("the first deploy reached DigitalOcean", lambda: requests_of(
        standin, since, "POST", "/v2/kubernetes/clusters"), 120)  # fmt: skip
    laptop = Workspace(
        tmp_path / "laptop",
        stack.name,
        stack.workspace.toolchain,
        {
            **stack.workspace.environment,
            "PULUMI_BACKEND_URL": stack.workspace.env["PULUMI_BACKEND_URL"],
        },
        program=stack.workspace.program,
    )
    shutil.copy2(stack.workspace.stack_file, laptop.stack_file)
    laptop.set_config("changed", "true")
    second = laptop.pulumi("up", "--yes", "--skip-preview", check=False)
    assert second.returncode != 0 and LOCKED in second.output, second.describe()

    output, _ = running.communicate(timeout=600)
    assert running.returncode == 0, output

    # Each fault was met, and the same request sent again succeeded.
    assert statuses(standin, since, "POST", "/v2/vpcs")[:3] == [429, 429, 201]
    vpc_reads = statuses(standin, since, "GET", "/v2/vpcs/.+")
    assert vpc_reads[:2] == [503, 200], vpc_reads
    valkey_creates = [
        r["status"]
        for r in requests_of(standin, since, "POST", "/v2/databases")
        if (r["body"] or {}).get("engine") == "valkey"
    ]
    assert valkey_creates == [500, 201]
    firewalls = statuses(standin, since, "PUT", "/v2/databases/.+/firewall")
    assert firewalls.count(502) == 2 and firewalls.count(204) == 2, firewalls
    # The provider polled as long as the cloud was busy: a count of reads, not seconds.
    cluster_id = stack.standin.state()["kubernetes_clusters"]
    (cluster,) = [c for c in cluster_id if c["name"] == stack.prefix]
    polls = stack.standin.polls(f"/v2/kubernetes/clusters/{cluster['id']}", since)
    assert polls[:3] == ["provisioning", "provisioning", "running"], polls
    mysql_id = stack.database_ids()["mysql"]
    assert stack.standin.polls(f"/v2/databases/{mysql_id}", since)[:2] == ["creating", "online"]
    # Nothing of the refused deploy's config reached DigitalOcean.
    assert "release-2" not in (cluster["tags"] or [])
    assert cluster["maintenance_policy"]["start_time"] == "04:00"

    stack.assert_converged()


# -- 3: an ambiguous create: DigitalOcean acted, the answer was a 5xx ------------------------------


def test_lost_answers_to_the_mysql_and_cluster_creates_are_reported_and_adopted(
    cloud: Any, standin: StandIn
) -> None:
    stack: CloudStack = cloud("lost-answers")
    since = len(standin.requests())
    standin.server_error("POST", "/v2/databases", acted=True, body_match={"engine": "mysql"})
    standin.server_error("POST", "/v2/kubernetes/clusters", acted=True)

    failed = stack.up(check=False)
    assert failed.returncode != 0
    # The provider retried each POST; DigitalOcean had made the first one: the name is taken.
    mysql_creates = [
        (r["status"], (r["body"] or {}).get("name"))
        for r in requests_of(standin, since, "POST", "/v2/databases")
        if (r["body"] or {}).get("engine") == "mysql"
    ]
    assert [status for status, _ in mysql_creates] == [500, 422]
    assert statuses(standin, since, "POST", "/v2/kubernetes/clusters") == [500, 422]
    assert "cluster name is not available" in failed.output
    assert f"a cluster with the name '{stack.prefix}' already exists" in failed.output
    orphan_mysql = stack.database_ids()["mysql"]

    report = stack.operator("orphans")
    assert report.returncode == 1, report.describe()
    assert f"database cluster {stack.prefix}-mysql [{orphan_mysql}]" in report.stdout
    assert f"DOKS cluster {stack.prefix} [" in report.stdout
    assert report.stdout.count("not in the stack's state") == 2, report.stdout
    assert f"./scripts/recover {stack.name}" in report.stdout

    recovered = stack.operator("recover")
    assert recovered.returncode == 0, recovered.describe()
    assert recovered.stdout.count("  imported ") == 2, recovered.stdout
    stack.up()
    stack.ids["mysql"] = orphan_mysql  # the adopted cluster, not a new one
    stack.assert_converged()
    assert stack.operator("orphans").returncode == 0


def test_a_lost_answer_to_the_vpc_create_is_adopted(cloud: Any, standin: StandIn) -> None:
    stack: CloudStack = cloud("lost-vpc")
    since = len(standin.requests())
    standin.server_error("POST", "/v2/vpcs", acted=True)

    failed = stack.up(check=False)
    assert failed.returncode != 0
    assert statuses(standin, since, "POST", "/v2/vpcs") == [500, 422]
    assert f"A VPC with the name '{stack.prefix}-vpc' already exists" in failed.output
    # Nothing was built in it: the cluster and the databases wait for the VPC.
    assert statuses(standin, since, "POST", "/v2/kubernetes/clusters") == []

    report = stack.operator("orphans")
    assert report.returncode == 1 and f"VPC {stack.prefix}-vpc [" in report.stdout
    recovered = stack.operator("recover")
    assert recovered.returncode == 0, recovered.describe()
    stack.up()
    stack.assert_converged()


def test_a_cloud_without_the_name_check_makes_a_duplicate_and_the_report_names_it(
    cloud: Any, standin: StandIn
) -> None:
    """Against a cloud that does not refuse a second cluster of the same name, the retried
    create makes one and `up` succeeds: only the orphan report shows it. DNS records are never
    unique: a second record of the stack's hostname shows up the same way."""
    stack: CloudStack = cloud("duplicates")
    standin.behaviour(unique_names=False)
    standin.server_error("POST", "/v2/databases", acted=True, body_match={"engine": "valkey"})
    stack.up()
    standin.behaviour(unique_names=True)
    valkeys = [d for d in standin.state()["databases"] if d["name"] == f"{stack.prefix}-valkey"]
    assert len(valkeys) == 2
    state_ids = {r.get("id") for r in stack.workspace.resources()}
    (kept,) = [d["id"] for d in valkeys if d["id"] in state_ids]
    (duplicate,) = [d["id"] for d in valkeys if d["id"] not in state_ids]
    status, record = standin.api(
        "POST", f"/v2/domains/{DOMAIN}/records",
        {"type": "A", "name": stack.name, "data": "203.0.113.99", "ttl": 300},
    )  # fmt: skip
    assert status == 201
    record_id = record["domain_record"]["id"]

    report = stack.operator("orphans", "--json", str(stack.workspace.logs / "orphans.json"))
    assert report.returncode == 1, report.describe()
    found = json.loads((stack.workspace.logs / "orphans.json").read_text())["orphans"]
    assert {(o["kind"], o["id"], o["duplicateOf"] is not None) for o in found} == {
        ("database_cluster", duplicate, True),
        ("domain_record", str(record_id), True),
    }
    assert f"the state holds {kept}" in report.stdout
    assert "doctl databases delete" in report.stdout

    # The documented way out for a duplicate: delete it (doctl; here the API), then the report
    # is clean and the stack converged.
    assert standin.api("DELETE", f"/v2/databases/{duplicate}")[0] == 204
    assert standin.api("DELETE", f"/v2/domains/{DOMAIN}/records/{record_id}")[0] == 204
    assert stack.operator("orphans").returncode == 0
    stack.assert_converged()


# -- 4: a runner that dies mid-deploy --------------------------------------------------------------


def test_a_deploy_killed_while_digitalocean_builds_is_recovered(
    cloud: Any, standin: StandIn
) -> None:
    stack: CloudStack = cloud("killed")
    since = len(standin.requests())
    standin.behaviour(cluster_provisioning_polls=6, database_creating_polls=3)
    running = stack.start_up()

    def building() -> bool:
        posts = requests_of(standin, since, "POST", "/v2/.+")
        created = {r["path"] for r in posts if r["status"] in (201, 202)}
        return "/v2/kubernetes/clusters" in created and "/v2/databases" in created

    wait_until("the cluster and the databases being built", building, 120)
    printed = kill_process_group(running)
    assert running.returncode != 0, printed

    locked = stack.up(check=False)
    assert locked.returncode != 0 and LOCKED in locked.output, locked.describe()
    # docs/when-things-go-wrong.md: once sure no deploy of the stack runs anywhere.
    stack.workspace.pulumi("cancel", "--yes")
    exported = stack.workspace.state()
    pending = (exported.get("deployment") or {}).get("pending_operations") or []
    assert {op["type"] for op in pending} == {"creating"}, pending
    assert len(pending) >= 2

    # The next `up` warns about the pending creates, tries them again, and DigitalOcean refuses
    # the names it already gave: without the recovery, every `up` fails the same way.
    retried = stack.up(check=False)
    assert retried.returncode != 0
    assert f"with {len(pending)} pending operations from previous deployment" in retried.output
    assert "interrupted while creating" in retried.output
    assert "cluster name is not available" in retried.output
    pending = stack.workspace.state()["deployment"]["pending_operations"]

    # Pulumi's own way, `refresh --import-pending-creates URN ID`, loses the resource on CLI
    # 3.274.1: the pending create becomes a pending import that the refresh drops. Hence
    # scripts/recover clears pending creates and imports what DigitalOcean built.
    (cluster_op,) = [op for op in pending if op["resource"]["type"].endswith("KubernetesCluster")]
    (cluster,) = [c for c in standin.state()["kubernetes_clusters"] if c["name"] == stack.prefix]
    urn = cluster_op["resource"]["urn"]
    stack.workspace.pulumi(
        "refresh", "--yes", "--skip-preview",
        "--import-pending-creates", urn, "--import-pending-creates", cluster["id"],
    )  # fmt: skip
    after = stack.workspace.state().get("deployment") or {}
    assert urn not in {op["resource"]["urn"] for op in after.get("pending_operations") or []}
    assert urn not in {r["urn"] for r in after.get("resources") or []}, "it was imported after all"

    recovered = stack.operator("recover")
    assert recovered.returncode == 0, recovered.describe()
    assert recovered.stdout.count("DigitalOcean built it") == len(pending) - 1, recovered.stdout
    assert recovered.stdout.count("  imported ") == len(pending), recovered.stdout
    stack.up()
    stack.assert_converged()
    assert stack.operator("orphans").returncode == 0


def test_connections_dropped_mid_response_on_a_read_and_on_a_write(
    cloud: Any, standin: StandIn
) -> None:
    """A response cut half-way is not retried (the retry covers failed requests and 5xx/429
    answers, not a body that ends early): the provider fails with "unexpected EOF". After a
    read, that is harmless: DigitalOcean had answered the create, the state holds the ID, and
    the next `up` carries on. After a create that DigitalOcean carried out, it is the lost
    answer again: the orphan report and the recovery."""
    stack: CloudStack = cloud("dropped")
    since = len(standin.requests())
    standin.drop_connection("GET", r"/v2/vpcs/[^/]+")
    first = stack.up(check=False)
    assert first.returncode != 0
    assert "Error reading VPC: unexpected EOF" in first.output
    assert [r["fault"] for r in requests_of(standin, since, "GET", "/v2/vpcs/.+")][:1] == ["drop"]
    (vpc,) = [r for r in stack.workspace.resources() if r["type"].endswith("vpc:Vpc")]

    standin.drop_connection("POST", "/v2/databases", body_match={"engine": "mysql"})
    second = stack.up(check=False)
    assert second.returncode != 0
    assert "Error creating database cluster: unexpected EOF" in second.output
    mysql_creates = [
        r for r in requests_of(standin, since, "POST", "/v2/databases")
        if (r["body"] or {}).get("engine") == "mysql"
    ]  # fmt: skip
    assert [(r["status"], r["fault"]) for r in mysql_creates] == [(201, "drop")], "not retried"
    orphan = stack.database_ids()["mysql"]
    assert orphan not in {r.get("id") for r in stack.workspace.resources()}

    assert stack.operator("orphans").returncode == 1
    assert stack.operator("recover").returncode == 0
    stack.up()
    stack.ids["mysql"] = orphan
    stack.assert_converged()
    assert vpc["id"] in {r.get("id") for r in stack.workspace.resources()}
