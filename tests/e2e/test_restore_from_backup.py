"""A stack whose MySQL starts from a backup of another's, on the real engine (the
DigitalOcean-only program, tests/e2e/digitalocean/program.py, which checks `restoreFrom` as the
program's config does): the create carries `backup_restore` with the backup asked for, the
restored cluster holds the source's database and user, which the stack takes instead of creating,
and nothing is left to change; `restoreFrom` on a stack whose MySQL exists, and a backup that is
not one of the source's, are each the program's one clear error, before anything changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.e2e.digitalocean.faults import CloudStack, requests_of
from tests.e2e.digitalocean.server import StandIn


def test_a_stack_starts_from_a_backup_and_restore_from_is_refused_where_it_would_be_ignored(
    cloud: Any, standin: StandIn
) -> None:
    source: CloudStack = cloud("origin")
    source.up()
    source_id = source.database_ids()["mysql"]
    older = standin.take_backup(source_id)["created_at"]  # two of DigitalOcean's daily backups
    standin.take_backup(source_id)

    copy: CloudStack = cloud("copy")
    copy.workspace.set_configs({"restoreFrom": "posts-origin-mysql", "restoreBackup": older})
    since = len(standin.requests())
    copy.up()
    (create,) = [
        r for r in requests_of(standin, since, "POST", "/v2/databases")
        if r["body"]["engine"] == "mysql"
    ]  # fmt: skip
    assert create["body"]["backup_restore"] == {
        "database_name": "posts-origin-mysql",
        "backup_created_at": older,
    }
    assert "restored-from:posts-origin-mysql" in create["body"]["tags"]
    restored_id = copy.database_ids()["mysql"]
    # The backup brought the app's database and user: the stack created neither.
    assert requests_of(standin, since, "POST", f"/v2/databases/{restored_id}/(dbs|users)") == []
    (restored,) = [d for d in standin.state()["databases"] if d["id"] == restored_id]
    assert "posts" in restored["dbs"] and "posts-root" in {
        u["name"] for u in restored["database_users"]
    }
    # The app connects as the source's posts-root, with the password the backup brought.
    copied = urlsplit(copy.workspace.outputs(show_secrets=True)["mysqlUrl"])
    original = urlsplit(source.workspace.outputs(show_secrets=True)["mysqlUrl"])
    assert (copied.username, copied.password) == (original.username, original.password)
    assert copied.hostname == "private-posts-copy-mysql-do-user-1-0.k.db.ondigitalocean.com"
    # The source was only read.
    assert not [
        r for r in standin.requests()[since:]
        if r["method"] != "GET" and r["path"].startswith(f"/v2/databases/{source_id}")
    ]  # fmt: skip
    # Nothing left to change, the setting kept: it says where the data began.
    copy.workspace.pulumi("preview", "--expect-no-changes", "--diff")

    # restoreFrom on a stack whose MySQL exists would be ignored by DigitalOcean: refused.
    source.workspace.set_config("restoreFrom", "posts-copy-mysql")
    before = len(standin.mutations())
    refused = source.workspace.pulumi("preview", check=False)
    assert refused.returncode != 0
    assert (
        "restoreFrom: the stack's MySQL cluster 'posts-origin-mysql' already exists (was created"
        " empty); DigitalOcean restores a backup only into a cluster it creates"
    ) in refused.output
    assert "Traceback" not in refused.output
    source.workspace.remove_config("restoreFrom")

    # A backup that is not one of the source's: the one error, naming those there are.
    third: CloudStack = cloud("third")
    third.workspace.set_config("restoreFrom", "posts-origin-mysql")
    third.workspace.set_config("restoreBackup", "2001-01-01T00:00:00Z")
    wrong = third.workspace.pulumi("preview", check=False)
    assert wrong.returncode != 0
    assert "restoreBackup: '2001-01-01T00:00:00Z' is not one of the backups of" in wrong.output
    assert older in wrong.output and "Traceback" not in wrong.output
    assert len(standin.mutations()) == before, "a refused preview changed DigitalOcean"
