"""The stack config DigitalOcean itself decides about: `restoreFrom` and `restoreBackup`.

Whether a MySQL cluster of that name exists, which backups it has, and whether the stack's own
MySQL exists already are facts of the account, read from DigitalOcean's API (read-only, two or
three requests) while the config is checked, so that a wrong name or backup is one line of the
program's single error before anything is registered, instead of a create that fails after the
VPC and the cluster were built. Only a stack with `restoreFrom` set asks.

`backup_restore` acts only when DigitalOcean creates the cluster; on a cluster that exists the
provider sends nothing and the setting would be silently ignored. So the check refuses it on a
stack whose MySQL exists, unless that cluster was created from this very source by this program:
it carries the tag `restored-from:<source>` (`config/sections.py`), kept for as long as the stack
says where its data began.

The offline runs (render, the fast tests) have no account to ask: `offline/simulate.py` installs
an `OfflineCloud`, and the program logs that the source was not checked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from config.digitalocean_api import ApiUnreadable, ReadOnlyApi, quoted
from config.sections import (
    APP_DATABASE,
    APP_USER,
    DigitalOceanAccess,
    Restore,
    RestoreRequest,
    restored_from_tag,
)

SHOWN_BACKUPS = 7  # how many of the latest backups an error lists

JSON = dict[str, Any]


class Cloud(Protocol):
    """What the check reads from the account."""

    def database_clusters(self) -> list[JSON]:
        """`GET /v2/databases`: every database cluster (name, id, engine, tags, db_names,
        users)."""
        ...

    def backups(self, cluster_id: str) -> list[JSON]:
        """`GET /v2/databases/{id}/backups`: the cluster's backups (`created_at`, ...)."""
        ...

    @property
    def offline(self) -> bool: ...


class DigitalOceanApi:
    """The account as DigitalOcean's API lists it (config/digitalocean_api.py)."""

    offline = False

    def __init__(self, api: ReadOnlyApi) -> None:
        self.api = api

    def database_clusters(self) -> list[JSON]:
        return self.api.items("/v2/databases", "databases")

    def backups(self, cluster_id: str) -> list[JSON]:
        return list(
            self.api.get(f"/v2/databases/{quoted(cluster_id)}/backups").get("backups") or []
        )


@dataclass
class OfflineCloud:
    """An account for offline runs: only the clusters and backups it is given (by default, the
    source asked for, with the backup asked for or one placeholder)."""

    clusters: list[JSON] | None = None
    backups_by_id: dict[str, list[JSON]] = field(default_factory=dict)
    offline: bool = True

    def database_clusters(self) -> list[JSON]:
        return list(self.clusters or [])

    def backups(self, cluster_id: str) -> list[JSON]:
        return list(self.backups_by_id.get(cluster_id, []))

    @staticmethod
    def assuming(request: RestoreRequest) -> OfflineCloud:
        """What an offline render assumes: the source exists with the app's database and user
        and the backup asked for; the stack's MySQL does not exist yet."""
        source: JSON = {
            "id": "offline-source-cluster",
            "name": request.source,
            "engine": "mysql",
            "tags": [],
            "db_names": [APP_DATABASE],
            "users": [{"name": APP_USER}],
        }
        backup = request.backup or "2026-01-01T00:00:00Z"
        return OfflineCloud([source], {source["id"]: [{"created_at": backup}]})


_installed: list[Cloud] = []


@contextlib.contextmanager
def installed(cloud: Cloud) -> Iterator[None]:
    """`cloud` answers the checks inside the block (offline runs and the tests)."""
    _installed.append(cloud)
    try:
        yield
    finally:
        _installed.remove(cloud)


def cloud_for(access: DigitalOceanAccess) -> Cloud | None:
    """The installed cloud, else DigitalOcean's API as the provider reaches it (None without a
    token)."""
    if _installed:
        return _installed[-1]
    if not access.token:
        return None
    return DigitalOceanApi(ReadOnlyApi(access.api_url, access.token))


@dataclass(frozen=True)
class RestoreCheck:
    restore: Restore | None
    problems: list[str]
    warnings: list[str]


def check_restore(request: RestoreRequest, stack_mysql: str, cloud: Cloud | None) -> RestoreCheck:
    """The backup the stack's MySQL is created from, or the problems with `restoreFrom` and
    `restoreBackup`, each naming its key and what is accepted."""
    if not request.source:
        return RestoreCheck(None, [], [])
    if cloud is None:
        return RestoreCheck(
            None,
            [
                "restoreFrom: checking it needs DigitalOcean's API token: export DIGITALOCEAN_TOKEN"
                " or set digitalocean:token as a secret"
            ],
            [],
        )
    try:
        clusters = cloud.database_clusters()
        found = _check(request, stack_mysql, cloud, clusters)
    except ApiUnreadable as unreadable:
        found = RestoreCheck(
            None, [f"restoreFrom: could not be checked against DigitalOcean: {unreadable}"], []
        )
    if cloud.offline and found.restore is not None:
        warning = (
            f"restoreFrom: offline run: '{request.source}' and its backups were not checked"
            " against DigitalOcean; `pulumi preview` checks them"
        )
        return RestoreCheck(found.restore, found.problems, [*found.warnings, warning])
    return found


def _check(
    request: RestoreRequest, stack_mysql: str, cloud: Cloud, clusters: list[JSON]
) -> RestoreCheck:
    by_name = {str(c.get("name")): c for c in clusters}
    own = by_name.get(stack_mysql)
    if own is not None:
        tags = set(own.get("tags") or [])
        if restored_from_tag(request.source) in tags:
            return RestoreCheck(Restore(request.source, "", restored=True), [], [])
        origin = sorted(t.split(":", 1)[1] for t in tags if t.startswith("restored-from:"))
        began = f"was created from '{origin[0]}'" if origin else "was created empty"
        return RestoreCheck(
            None,
            [
                f"restoreFrom: the stack's MySQL cluster '{stack_mysql}' already exists"
                f" ({began}); DigitalOcean restores a backup only into a cluster it creates"
                " (backup_restore acts at creation), so it would be ignored. Restore into a new"
                " stack instead (docs/operations.md, 'Restoring MySQL from a backup'), or remove"
                " it: `pulumi config rm restoreFrom`"
            ],
            [],
        )

    source = by_name.get(request.source)
    mysql_names = sorted(str(c.get("name")) for c in clusters if c.get("engine") == "mysql")
    if source is None:
        known = ", ".join(mysql_names) or "none"
        return RestoreCheck(
            None,
            [
                f"restoreFrom: no database cluster named '{request.source}' in this DigitalOcean"
                f" account (its MySQL clusters: {known})"
            ],
            [],
        )
    if source.get("engine") != "mysql":
        return RestoreCheck(
            None,
            [
                f"restoreFrom: '{request.source}' is a {source.get('engine')} cluster; only a"
                f" MySQL cluster's backups restore into MySQL (MySQL clusters:"
                f" {', '.join(mysql_names) or 'none'})"
            ],
            [],
        )
    problems = _holds_the_app(request.source, source)
    backups = sorted(
        (str(b.get("created_at")) for b in cloud.backups(str(source["id"]))), reverse=True
    )
    if not backups:
        problems.append(
            f"restoreFrom: '{request.source}' has no backup yet (DigitalOcean takes one a day, at"
            " its backup time); restore once it has one"
        )
        return RestoreCheck(None, problems, [])
    chosen = request.backup or backups[0]
    if chosen not in backups:
        listed = ", ".join(backups[:SHOWN_BACKUPS])
        problems.append(
            f"restoreBackup: '{request.backup}' is not one of the backups of"
            f" '{request.source}' (DigitalOcean restores those, not an arbitrary moment); latest"
            f" first: {listed}"
        )
    if problems:
        return RestoreCheck(None, problems, [])
    return RestoreCheck(Restore(request.source, chosen), [], [])


def _holds_the_app(name: str, source: JSON) -> list[str]:
    """A restored cluster holds what its source held: the app's database and user, which the
    program then takes as they are instead of creating them."""
    problems = []
    if APP_DATABASE not in (source.get("db_names") or []):
        problems.append(
            f"restoreFrom: '{name}' holds no database '{APP_DATABASE}' (the app's); a cluster"
            " restored from it would lack the app's data"
        )
    if APP_USER not in [u.get("name") for u in source.get("users") or []]:
        problems.append(
            f"restoreFrom: '{name}' has no user '{APP_USER}' (the app's); a cluster restored"
            " from it would lack it"
        )
    return problems
