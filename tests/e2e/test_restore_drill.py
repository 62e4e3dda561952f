"""The restore drill against the dev stack on the real engine: `./scripts/restore-drill dev`
restores the stack's latest MySQL backup into a new cluster in the stack's VPC that admits the
stack's cluster only, runs the check Job on the stack's own cluster, reports how long the restore
took to come online, and tears it all down through the unprotect path. No second DOKS cluster is
created and the source is only read (docs/operations.md, "The restore drill").

On the stand-in, the backups are taken through its admin route (DigitalOcean takes one a day),
and kwok completes the check's pod without running it: what the Job's PHP checks inside MySQL is
not run here, only that the Job is made as specified, on the stack's cluster, and waited for.
"""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.engine.environment import NAMESPACE, StackEnvironment

DRILL = "posts-dev-drill"


def requests(env: StackEnvironment, since: int) -> list[dict[str, Any]]:
    return env.standin.requests()[since:]


def test_the_drill_restores_the_latest_backup_checks_it_from_the_cluster_and_leaves_nothing(
    drift_env: StackEnvironment,
) -> None:
    # On the drift group's dev stack: the dev stack's worker is the suite's longest.
    env = drift_env
    env.ensure_deployed()
    state = env.standin.state()
    (mysql,) = [d for d in state["databases"] if d["name"] == "posts-dev-mysql"]
    (cluster,) = state["kubernetes_clusters"]
    env.standin.take_backup(mysql["id"])  # DigitalOcean's daily backups, two days of them
    latest = env.standin.take_backup(mysql["id"])["created_at"]
    since = len(env.standin.requests())

    drill = env.workspace.operator("restore-drill")
    assert drill.returncode == 0, drill.describe()
    print(drill.stdout)  # the report, with the stand-in's time to online, in the test's log
    assert f"- backup restored: {latest} (the latest)" in drill.stdout
    online = re.search(r"came online (\d+) s after its create began", drill.stdout)
    assert online is not None, drill.stdout
    assert "- the check on the stack's cluster passed" in drill.stdout
    assert "torn down (unprotect, up, destroy)" in drill.stdout

    seen = requests(env, since)
    (create,) = [r for r in seen if (r["method"], r["path"]) == ("POST", "/v2/databases")]
    body = create["body"]
    assert body["backup_restore"] == {
        "database_name": "posts-dev-mysql",
        "backup_created_at": latest,
    }
    assert (body["name"], body["num_nodes"], body["size"]) == (DRILL, 1, mysql["size"])
    assert body["private_network_uuid"] == mysql["private_network_uuid"]
    drill_id = next(
        r["path"].split("/")[3]
        for r in seen
        if r["method"] == "PUT" and re.fullmatch(r"/v2/databases/[^/]+/firewall", r["path"])
    )
    firewalls = [
        r["body"]["rules"] or []
        for r in seen
        if (r["method"], r["path"]) == ("PUT", f"/v2/databases/{drill_id}/firewall")
    ]
    # The stack's cluster, nothing else; emptied when the drill's firewall is destroyed.
    assert [(rule["type"], rule["value"]) for rule in firewalls[0]] == [("k8s", cluster["id"])]
    assert firewalls[-1] == []
    # No second DOKS cluster; the source only read.
    assert not [r for r in seen if r["method"] == "POST" and "/kubernetes/clusters" in r["path"]]
    assert not [
        r
        for r in seen
        if r["method"] != "GET" and r["path"].startswith(f"/v2/databases/{mysql['id']}")
    ]
    # Torn down through the unprotect path: the drill cluster deleted, nothing of it left.
    assert ("DELETE", f"/v2/databases/{drill_id}") in {(r["method"], r["path"]) for r in seen}
    assert DRILL not in {d["name"] for d in env.standin.state()["databases"]}
    assert env.kubectl(
        "get", "job,secret", "restore-check", "-n", NAMESPACE, check=False
    ).returncode
    # The check Job ran on the stack's own cluster, in the app's namespace, and completed.
    events = env.kubectl_json(
        "get", "events", "-n", NAMESPACE, "--field-selector", "involvedObject.name=restore-check"
    )["items"]
    assert {"SuccessfulCreate", "Completed"} <= {e["reason"] for e in events}, events

    # The stack itself saw nothing of it.
    env.workspace.pulumi("preview", "--expect-no-changes")
