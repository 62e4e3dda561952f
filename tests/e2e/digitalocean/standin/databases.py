"""Database clusters: create, read, resize, maintenance window, CA, delete.

What lives under a cluster is in `database_settings` (eviction policy, SQL mode, firewall,
config) and `database_contents` (databases and users).
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.digitalocean.standin import reference
from tests.e2e.digitalocean.standin.common import (
    DUMMY_CA_PEM,
    JSON,
    WEEKDAYS,
    Ids,
    check_region,
    find,
    not_found,
    now,
    required_str,
    stable_id,
    strings,
    timestamp,
    timestamp_now,
    unprocessable,
)
from tests.e2e.digitalocean.standin.lifecycle import Behaviour, Countdown, Departures
from tests.e2e.digitalocean.standin.vpcs import Vpcs

# DigitalOcean puts every database cluster (and cluster) of an account into its default project.
DEFAULT_PROJECT_ID = stable_id("project/default")
# Disk of a MySQL cluster by size (MiB); Valkey keeps no disk of its own.
_MYSQL_STORAGE_MIB: dict[str, int] = {
    "db-s-1vcpu-1gb": 10240,
    "db-s-1vcpu-2gb": 25600,
    "db-s-2vcpu-4gb": 38912,
    "db-s-4vcpu-8gb": 117760,
    "db-s-6vcpu-16gb": 276480,
    "db-s-8vcpu-32gb": 593920,
}
_MYSQL_STORAGE_ENGINES = ("mysql", "pg")
_ENGINES: dict[str, JSON] = {
    # engine: default version, port, protocol, admin user, default database
    "mysql": {"version": "8", "port": 25060, "protocol": "mysql", "user": "doadmin",
              "database": "defaultdb"},
    "pg": {"version": "17", "port": 25060, "protocol": "postgresql", "user": "doadmin",
           "database": "defaultdb"},
    "valkey": {"version": "8", "port": 25061, "protocol": "rediss", "user": "default",
               "database": ""},
}  # fmt: skip
# What GET /v2/databases/{id}/config answers for a new MySQL cluster (DigitalOcean's example).
_MYSQL_DEFAULT_CONFIG: JSON = {
    "backup_hour": 21,
    "backup_minute": 59,
    "sql_mode": (
        "ANSI,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
        "STRICT_ALL_TABLES"
    ),
    "sql_require_primary_key": True,
    "binlog_retention_period": 600,
}


@dataclass
class Backup:
    """One of a cluster's daily backups: when, how big, and what it holds (its databases and
    users, which a cluster created from it gets)."""

    created_at: str
    size_gigabytes: float
    dbs: list[str]
    users: dict[str, JSON]

    def view(self) -> JSON:
        return {
            "created_at": self.created_at,
            "size_gigabytes": self.size_gigabytes,
            "incremental": False,
        }


@dataclass
class Database:
    """A database cluster: its API representation plus what lives under it."""

    api: JSON
    dbs: list[str] = field(default_factory=list)
    users: dict[str, JSON] = field(default_factory=dict)
    rules: list[JSON] = field(default_factory=list)
    config: JSON = field(default_factory=dict)
    eviction_policy: str | None = None
    sql_mode: str | None = None
    backups: list[Backup] = field(default_factory=list)
    storage_autoscale: JSON | None = None  # MySQL and PostgreSQL only


class DatabaseClusters:
    """The account's database clusters by ID."""

    def __init__(self, ids: Ids, vpcs: Vpcs, behaviour: Behaviour, departures: Departures) -> None:
        self.ids = ids
        self.vpcs = vpcs
        self.behaviour = behaviour
        self.departures = departures
        self.by_id: dict[str, Database] = {}
        self.creating = Countdown()  # reads a new cluster still answers "creating"

    def get(self, database_id: str) -> Database:
        return find(self.by_id, database_id)

    def read(self, database_id: str) -> JSON:
        """`GET /v2/databases/{id}`: one poll; a new cluster answers "creating" at first."""
        database = self.get(database_id)
        view = self.view(database)
        if self.creating.read(database_id):
            view["status"] = "creating"
        return view

    def state_of(self, database_id: str) -> str:
        """The status the next read would answer, without counting as one."""
        if database_id not in self.by_id:
            return "gone"
        return "creating" if self.creating.pending(database_id) else "online"

    def view(self, database: Database) -> JSON:
        view = copy.deepcopy(database.api)
        view["users"] = copy.deepcopy(list(database.users.values()))
        if database.dbs:
            view["db_names"] = list(database.dbs)
        if database.storage_autoscale is not None:
            # The description names it `autoscale: {storage: ...}`; the provider (and godo,
            # DigitalOcean's own client) reads `storage_autoscale`. Both are answered.
            view["autoscale"] = {"storage": copy.deepcopy(database.storage_autoscale)}
            view["storage_autoscale"] = copy.deepcopy(database.storage_autoscale)
        if self.creating.pending(database.api["id"]):
            view["status"] = "creating"
        return view

    def views(self) -> list[JSON]:
        return [self.view(d) for d in self.by_id.values()]

    def names_in_vpc(self, vpc_id: str) -> list[str]:
        """Clusters in the VPC, those on their way out included (one read of each)."""
        live = [
            d.api["name"]
            for d in self.by_id.values()
            if d.api.get("private_network_uuid") == vpc_id
        ]
        return live + self.departures.members_of(vpc_id, "database")

    def state(self) -> list[JSON]:
        """Every cluster as the API shows it, with its contents."""
        databases = []
        for database in self.by_id.values():
            item = copy.deepcopy(database.api)
            item["dbs"] = list(database.dbs)
            item["database_users"] = copy.deepcopy(list(database.users.values()))
            item["firewall_rules"] = copy.deepcopy(database.rules)
            item["config"] = copy.deepcopy(database.config)
            item["eviction_policy"] = database.eviction_policy
            item["backups"] = [backup.view() for backup in database.backups]
            item["storage_autoscale"] = copy.deepcopy(database.storage_autoscale)
            databases.append(item)
        return databases

    def create(self, body: JSON) -> JSON:
        name = required_str(body, "name")
        engine = required_str(body, "engine")
        size = required_str(body, "size")
        region = required_str(body, "region")
        check_region(region)
        if engine == "redis":
            unprocessable("Managed Caching (Redis) is no longer available; use valkey")
        if engine not in _ENGINES:
            unprocessable(f"engine '{engine}' is not supported here")
        spec = _ENGINES[engine]
        num_nodes = _num_nodes(body)
        sizes = reference.DATABASE_SIZES[engine]
        if size not in sizes:
            unprocessable(f"invalid size slug '{size}' for engine {engine}")
        if num_nodes > 1 and not sizes[size][2]:
            unprocessable(f"{size} does not support standby nodes")
        version = str(body.get("version") or spec["version"])
        versions = reference.DATABASE_VERSIONS[engine]
        if version not in versions:
            unprocessable(f"version '{version}' of {engine} is not offered")
        taken = {d.api["name"] for d in self.by_id.values()} | self.departures.names("database")
        if self.behaviour.unique_names and name in taken:
            unprocessable("cluster name is not available")
        autoscale = _storage_autoscale(engine, body.get("storage_autoscale"))
        backup = self._backup_to_restore(engine, body.get("backup_restore"))
        vpc_id = self.vpcs.placement(
            str(body.get("private_network_uuid") or ""), region, "private_network_uuid"
        )
        project_id = str(body.get("project_id") or DEFAULT_PROJECT_ID)
        if not re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", project_id):
            unprocessable(f"project_id '{project_id}' is not a project of this account")

        database_id = self.ids.new("database", name)
        secret = new_password()
        host = f"{name}-do-user-1-0.k.db.ondigitalocean.com"
        private_host = f"private-{host}"
        admin: JSON = {"name": spec["user"], "role": "primary", "password": secret}
        if engine == "mysql":
            admin["mysql_settings"] = {"auth_plugin": "caching_sha2_password"}
        api: JSON = {
            "id": database_id,
            "name": name,
            "engine": engine,
            "version": version,
            "semantic_version": versions[version],
            "num_nodes": num_nodes,
            "size": size,
            "region": region,
            "status": "online",
            "created_at": timestamp_now(),
            "private_network_uuid": vpc_id,
            "project_id": project_id,
            "tags": strings(body.get("tags")) or None,
            "db_names": [spec["database"]] if spec["database"] else None,
            "connection": _connection(spec, host, secret),
            "private_connection": _connection(spec, private_host, secret),
            "users": [admin],
            "maintenance_window": {
                "day": "tuesday",
                "hour": "10:08:46",
                "pending": False,
                "description": [],
            },
            "metrics_endpoints": [{"host": host, "port": 9273}],
        }
        if engine in _MYSQL_STORAGE_ENGINES:
            api["storage_size_mib"] = _MYSQL_STORAGE_MIB.get(size, 10240)
        database = Database(api=api, dbs=[spec["database"]] if spec["database"] else [])
        database.users[admin["name"]] = admin
        if engine in reference.BACKED_UP_ENGINES:
            database.storage_autoscale = autoscale or {"enabled": False}
        if backup is not None:
            # Created from the backup: its databases and users (passwords included) come along,
            # the admin user's password too.
            database.dbs = list(backup.dbs)
            database.users = copy.deepcopy(backup.users)
            password = database.users[spec["user"]]["password"]
            for key in ("connection", "private_connection"):
                host = api[key]["host"]
                api[key] = _connection(spec, host, password)
        if engine == "mysql":
            database.config = copy.deepcopy(_MYSQL_DEFAULT_CONFIG)
            database.sql_mode = str(_MYSQL_DEFAULT_CONFIG["sql_mode"])
        if engine == "valkey":
            database.eviction_policy = "noeviction"
        self.by_id[database_id] = database
        self.creating.start(database_id, self.behaviour.database_creating_polls)
        created = self.view(database)
        created["status"] = "creating"
        return created

    def resize(self, database_id: str, body: JSON) -> None:
        database = self.get(database_id)
        size = required_str(body, "size")
        if size not in reference.DATABASE_SIZES[database.api["engine"]]:
            unprocessable(f"invalid size slug '{size}' for engine {database.api['engine']}")
        num_nodes = _num_nodes(body)
        database.api["size"] = size
        database.api["num_nodes"] = num_nodes
        if "storage_size_mib" in database.api:
            database.api["storage_size_mib"] = int(
                body.get("storage_size_mib") or _MYSQL_STORAGE_MIB.get(size, 10240)
            )

    def set_maintenance(self, database_id: str, body: JSON) -> None:
        database = self.get(database_id)
        day = required_str(body, "day").lower()
        if day not in WEEKDAYS:
            unprocessable(f"day '{day}' is not a day of the week")
        hour = required_str(body, "hour")
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?", hour):
            unprocessable(f"hour '{hour}' is not HH:MM or HH:MM:SS")
        if len(hour) == 5:
            hour += ":00"
        window = database.api["maintenance_window"]
        window["day"] = day
        window["hour"] = hour

    # -- backups ---------------------------------------------------------------------------------

    def take_backup(self, database_id: str) -> JSON:
        """The daily backup, taken now (out of band: DigitalOcean takes it at its backup time)."""
        database = self.get(database_id)
        _backed_up(database.api["engine"])
        moment = now()
        if database.backups:
            latest = datetime.strptime(database.backups[-1].created_at, "%Y-%m-%dT%H:%M:%SZ")
            moment = max(moment, latest.replace(tzinfo=UTC) + timedelta(seconds=1))
        size = round(0.02 + 0.01 * len(database.dbs), 4)
        backup = Backup(timestamp(moment), size, list(database.dbs), copy.deepcopy(database.users))
        database.backups.append(backup)
        return backup.view()

    def backups(self, database_id: str) -> JSON:
        database = self.get(database_id)
        _backed_up(database.api["engine"])
        config = database.config
        return {
            "backups": [backup.view() for backup in reversed(database.backups)],
            "scheduled_backup_time": {
                "backup_hour": int(config.get("backup_hour", 0)),
                "backup_minute": int(config.get("backup_minute", 0)),
                "backup_interval_hours": 24,
            },
        }

    def _backup_to_restore(self, engine: str, restore: Any) -> Backup | None:
        """`backup_restore`: one of an existing cluster's backups, the latest if none is named."""
        if restore is None:
            return None
        if not isinstance(restore, dict):
            unprocessable("backup_restore must be an object with database_name")
        _backed_up(engine)
        source_name = required_str(restore, "database_name")
        source = next((d for d in self.by_id.values() if d.api["name"] == source_name), None)
        if source is None:
            not_found("source database cluster")
        if source.api["engine"] != engine:
            unprocessable(
                f"a {engine} cluster cannot be created from a backup of {source_name}, a"
                f" {source.api['engine']} cluster"
            )
        if not source.backups:
            unprocessable(f"database cluster {source_name} has no backups to restore from")
        wanted = restore.get("backup_created_at")
        if wanted in (None, ""):
            return source.backups[-1]
        for backup in source.backups:
            if backup.created_at == wanted:
                return backup
        unprocessable(f"no backup of database cluster {source_name} was created at {wanted}")

    def set_storage_autoscale(self, database_id: str, body: JSON) -> None:
        database = self.get(database_id)
        storage = body.get("storage")
        autoscale = _storage_autoscale(database.api["engine"], storage)
        if autoscale is None:
            unprocessable("storage is required")
        database.storage_autoscale = autoscale

    def storage_autoscale(self, database_id: str) -> JSON:
        database = self.get(database_id)
        return {"storage": copy.deepcopy(database.storage_autoscale or {"enabled": False})}

    def ca(self, database_id: str) -> JSON:
        self.get(database_id)
        return {"certificate": base64.b64encode(DUMMY_CA_PEM).decode()}

    def delete(self, database_id: str) -> None:
        database = self.get(database_id)
        del self.by_id[database_id]
        self.creating.forget(database_id)
        self.departures.depart(
            "database",
            database_id,
            database.api["name"],
            str(database.api.get("private_network_uuid") or ""),
            copy.deepcopy(database.api),
        )


def _backed_up(engine: str) -> None:
    if engine not in reference.BACKED_UP_ENGINES:
        unprocessable("Backups are not supported for Caching or Valkey clusters.")


def _storage_autoscale(engine: str, value: Any) -> JSON | None:
    """Storage autoscaling as DigitalOcean takes it (MySQL and PostgreSQL), or None."""
    if value is None:
        return None
    if engine not in reference.BACKED_UP_ENGINES:
        unprocessable(f"storage autoscaling is not available for {engine} clusters")
    if not isinstance(value, dict) or not isinstance(value.get("enabled"), bool):
        unprocessable("storage autoscaling needs enabled: true or false")
    found: JSON = {"enabled": value["enabled"]}
    for key, (low, high) in (
        ("threshold_percent", reference.STORAGE_AUTOSCALE_THRESHOLD),
        ("increment_gib", reference.STORAGE_AUTOSCALE_INCREMENT_GIB),
    ):
        if value.get(key) is None:
            continue
        number = value[key]
        if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
            unprocessable(f"{key} must be a whole number from {low} to {high}")
        found[key] = number
    return found


def new_password() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "AVNS_" + "".join(secrets.choice(alphabet) for _ in range(20))


def _num_nodes(body: JSON) -> int:
    num_nodes = body.get("num_nodes")
    if not isinstance(num_nodes, int) or not 1 <= num_nodes <= 3:
        unprocessable("num_nodes must be 1, 2 or 3")
    return num_nodes


def _connection(spec: Mapping[str, Any], host: str, password: str) -> JSON:
    user = spec["user"]
    port = spec["port"]
    connection: JSON = {"protocol": spec["protocol"], "host": host, "port": port, "user": user}
    if spec["protocol"] == "mysql":
        connection["uri"] = (
            f"mysql://{user}:{password}@{host}:{port}/{spec['database']}?ssl-mode=REQUIRED"
        )
    elif spec["protocol"] == "postgresql":
        connection["uri"] = (
            f"postgresql://{user}:{password}@{host}:{port}/{spec['database']}?sslmode=require"
        )
    else:
        connection["uri"] = f"rediss://{user}:{password}@{host}:{port}"
    if spec["database"]:
        connection["database"] = spec["database"]
    connection["password"] = password
    connection["ssl"] = True
    return connection
