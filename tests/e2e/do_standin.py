"""A stateful stand-in for the part of DigitalOcean's API v2 this program uses.

It answers exactly the endpoints the DigitalOcean provider (terraform-provider-digitalocean
v2.96.0 through godo v1.200.0) calls for this program's resources, shaped as DigitalOcean's
OpenAPI description says, and keeps what was created so that everything the provider reads back
after a create is what it wrote: a `pulumi refresh` or `pulumi preview` right after `pulumi up`
shows no change.

- VPC: create, read, update, delete (refused with 403 while a cluster or database is in it, as
  DigitalOcean does; the provider retries on 403).
- Kubernetes: `GET /v2/kubernetes/options` (getKubernetesVersions), clusters (create, read,
  update, upgrade, delete), their node pools (read, update), credentials and kubeconfig, and
  registry integration. A cluster named in the `--clusters` file gets that endpoint and CA, and
  its credentials carry the API token as bearer token, as DOKS accepts it.
- Databases: clusters (create, read, resize, delete), maintenance window, eviction policy, SQL
  mode, tags, firewall, config, CA, databases and users.
- Domains and their records; tags (the provider re-tags a database cluster through them).

New clusters answer `status.state: "running"` and new databases `status: "online"` right away
(the create responses say "provisioning" and "creating", as DigitalOcean's do); the provider
still waits its own ticker (10 s for a cluster, 15 s for a database) before it looks.

Every `/v2` request needs `Authorization: Bearer <token>`. Under `/_standin/` (never sent
through Prism) are the state, the request log, deliberate contract faults and out-of-band
changes; `StandIn` below runs it as a subprocess and wraps those.

    python -m tests.e2e.do_standin --port P --token T --clusters FILE [--domain example.com]
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import ipaddress
import json
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from tests.e2e.processes import Process, free_port, start_process, wait_for_port

JSON = dict[str, Any]

# uuid5 namespace of every ID the stand-in hands out: the same run gives the same IDs.
_ID_NAMESPACE = uuid.UUID("6f1c1d0e-7b55-4a8e-9d0c-2f4a7d9e3b10")
# DigitalOcean puts every database cluster (and cluster) of an account into its default project.
DEFAULT_PROJECT_ID = str(uuid.uuid5(_ID_NAMESPACE, "project/default"))

# Newest first: getKubernetesVersions takes the first slug with the prefix as `latest_version`.
KUBERNETES_VERSIONS: tuple[tuple[str, str], ...] = (
    ("1.36.3-do.0", "1.36.3"),
    ("1.35.7-do.1", "1.35.7"),
    ("1.34.9-do.2", "1.34.9"),
)
_K8S_FEATURES = [
    "cluster-autoscaler",
    "docr-integration",
    "ha-control-plane",
    "token-authentication",
]
REGIONS: dict[str, str] = {
    "nyc1": "New York 1",
    "nyc3": "New York 3",
    "sfo2": "San Francisco 2",
    "sfo3": "San Francisco 3",
    "tor1": "Toronto 1",
    "atl1": "Atlanta 1",
    "ams3": "Amsterdam 3",
    "lon1": "London 1",
    "fra1": "Frankfurt 1",
    "blr1": "Bangalore 1",
    "sgp1": "Singapore 1",
    "syd1": "Sydney 1",
}
_NODE_SIZES: dict[str, str] = {
    "s-1vcpu-2gb": "s-1vcpu-2gb",
    "s-2vcpu-2gb": "s-2vcpu-2gb",
    "s-2vcpu-4gb": "s-2vcpu-4gb",
    "s-4vcpu-8gb": "s-4vcpu-8gb",
    "s-8vcpu-16gb": "s-8vcpu-16gb",
}
# Disk of a MySQL cluster by size (MiB); Valkey keeps no disk of its own.
_MYSQL_STORAGE_MIB: dict[str, int] = {
    "db-s-1vcpu-1gb": 10240,
    "db-s-1vcpu-2gb": 25600,
    "db-s-2vcpu-4gb": 38912,
    "db-s-4vcpu-8gb": 117760,
    "db-s-6vcpu-16gb": 276480,
    "db-s-8vcpu-32gb": 593920,
}
_ENGINES: dict[str, JSON] = {
    # engine: default version, port, protocol, admin user, default database, semantic versions
    "mysql": {"version": "8", "port": 25060, "protocol": "mysql", "user": "doadmin",
              "database": "defaultdb", "semantic": {"8": "8.0.39"}},
    "pg": {"version": "17", "port": 25060, "protocol": "postgresql", "user": "doadmin",
           "database": "defaultdb", "semantic": {"17": "17.4"}},
    "valkey": {"version": "8", "port": 25061, "protocol": "rediss", "user": "default",
               "database": "", "semantic": {"8": "8.0.2"}},
}  # fmt: skip
_EVICTION_POLICIES = (
    "noeviction",
    "allkeys_lru",
    "allkeys_random",
    "volatile_lru",
    "volatile_random",
    "volatile_ttl",
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FIREWALL_RULE_TYPES = ("droplet", "k8s", "ip_addr", "tag", "app")
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
_MYSQL_CONFIG_KEYS = frozenset(
    {
        "backup_hour", "backup_minute", "sql_mode", "connect_timeout", "default_time_zone",
        "group_concat_max_len", "information_schema_stats_expiry", "innodb_ft_min_token_size",
        "innodb_ft_server_stopword_table", "innodb_lock_wait_timeout", "innodb_log_buffer_size",
        "innodb_online_alter_log_max_size", "innodb_print_all_deadlocks",
        "innodb_rollback_on_timeout", "interactive_timeout", "internal_tmp_mem_storage_engine",
        "net_read_timeout", "net_write_timeout", "sql_require_primary_key", "wait_timeout",
        "max_allowed_packet", "max_heap_table_size", "sort_buffer_size", "tmp_table_size",
        "slow_query_log", "long_query_time", "binlog_retention_period",
    }
)  # fmt: skip
_MUTATING = ("POST", "PUT", "PATCH", "DELETE")


class ApiError(Exception):
    """An error answered as DigitalOcean does: `{"id": ..., "message": ..., "request_id": ...}`."""

    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message


def _not_found(what: str = "resource") -> NoReturn:
    raise ApiError(404, "not_found", f"The {what} you requested could not be found.")


def _unprocessable(message: str) -> NoReturn:
    raise ApiError(422, "unprocessable_entity", message)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _password() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "AVNS_" + "".join(secrets.choice(alphabet) for _ in range(20))


@dataclass(frozen=True)
class ClusterAccess:
    """Where the DOKS cluster of a given name really is: its API server and CA."""

    endpoint: str
    ca_pem_base64: str


@dataclass
class Fault:
    """The next `times` responses to `method` + a path matching `path` are replaced."""

    method: str
    path: re.Pattern[str]
    status: int | None
    body: Any
    times: int

    def describe(self) -> JSON:
        return {
            "method": self.method,
            "path": self.path.pattern,
            "status": self.status,
            "body": self.body,
            "times": self.times,
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


class DigitalOcean:
    """The account's resources. Every method runs under the lock; IDs are deterministic."""

    def __init__(
        self, token: str, clusters: Mapping[str, ClusterAccess], domains: Iterable[str] = ()
    ) -> None:
        self.token = token
        self.access = dict(clusters)
        self.lock = threading.RLock()
        self.vpcs: dict[str, JSON] = {}
        self.clusters: dict[str, JSON] = {}
        self.registry_clusters: set[str] = set()
        self.databases: dict[str, Database] = {}
        self.domains: dict[str, JSON] = {}
        self.records: dict[int, JSON] = {}
        self.tags: dict[str, JSON] = {}
        self._generations: dict[str, int] = {}
        self._next_record_id = 3352896
        self._next_droplet_id = 510000000
        self.requests: list[JSON] = []
        self.faults: list[Fault] = []
        for name in domains:
            self.domains[name] = self._domain(name)

    # -- helpers ---------------------------------------------------------------------------------

    def new_id(self, kind: str, name: str) -> str:
        """uuid5 of kind, name and how often that name was created before: stable per run."""
        key = f"{kind}/{name}"
        generation = self._generations.get(key, 0)
        self._generations[key] = generation + 1
        return str(uuid.uuid5(_ID_NAMESPACE, f"{key}/{generation}"))

    def state(self) -> JSON:
        """Every live resource, by kind, as the API shows it (databases with their contents)."""
        databases = []
        for database in self.databases.values():
            item = copy.deepcopy(database.api)
            item["dbs"] = list(database.dbs)
            item["database_users"] = copy.deepcopy(list(database.users.values()))
            item["firewall_rules"] = copy.deepcopy(database.rules)
            item["config"] = copy.deepcopy(database.config)
            item["eviction_policy"] = database.eviction_policy
            databases.append(item)
        return {
            "vpcs": copy.deepcopy(list(self.vpcs.values())),
            "kubernetes_clusters": [self.cluster_view(c) for c in self.clusters.values()],
            "databases": databases,
            "domains": copy.deepcopy(list(self.domains.values())),
            "domain_records": copy.deepcopy(list(self.records.values())),
            "tags": copy.deepcopy(list(self.tags.values())),
        }

    # -- VPCs ------------------------------------------------------------------------------------

    def vpc(self, vpc_id: str) -> JSON:
        if vpc_id not in self.vpcs:
            _not_found()
        return self.vpcs[vpc_id]

    def create_vpc(self, body: JSON) -> JSON:
        name = _required_str(body, "name")
        region = _required_str(body, "region")
        _check_region(region)
        if not re.fullmatch(r"[a-zA-Z0-9\-.]+", name):
            _unprocessable("name may contain only letters, digits, '-' and '.'")
        if any(v["name"] == name for v in self.vpcs.values()):
            _unprocessable(f"A VPC with the name '{name}' already exists")
        ip_range = body.get("ip_range") or "10.10.10.0/24"
        try:
            network = ipaddress.ip_network(ip_range, strict=True)
        except ValueError:
            _unprocessable(f"ip_range '{ip_range}' is not a valid CIDR")
        if not network.is_private or not 16 <= network.prefixlen <= 28:
            _unprocessable("ip_range must be a private network between /16 and /28")
        vpc_id = self.new_id("vpc", name)
        vpc = {
            "id": vpc_id,
            "urn": f"do:vpc:{vpc_id}",
            "name": name,
            "description": str(body.get("description") or ""),
            "region": region,
            "ip_range": str(network),
            "default": False,
            "created_at": _timestamp(_now()),
        }
        self.vpcs[vpc_id] = vpc
        return vpc

    def update_vpc(self, vpc_id: str, body: JSON, replace: bool) -> JSON:
        vpc = self.vpc(vpc_id)
        if replace:
            _required_str(body, "name")
        if "name" in body:
            vpc["name"] = _required_str(body, "name")
        if "description" in body:
            vpc["description"] = str(body["description"] or "")
        if body.get("default") is True:
            for other in self.vpcs.values():
                if other["region"] == vpc["region"]:
                    other["default"] = False
            vpc["default"] = True
        return vpc

    def delete_vpc(self, vpc_id: str) -> None:
        self.vpc(vpc_id)
        members = [c["name"] for c in self.clusters.values() if c["vpc_uuid"] == vpc_id]
        members += [
            d.api["name"]
            for d in self.databases.values()
            if d.api.get("private_network_uuid") == vpc_id
        ]
        if members:
            raise ApiError(
                403, "forbidden", f"Can not delete VPC with members: {', '.join(sorted(members))}"
            )
        del self.vpcs[vpc_id]

    # -- Kubernetes ------------------------------------------------------------------------------

    def kubernetes_options(self) -> JSON:
        return {
            "options": {
                "regions": [{"name": n, "slug": s} for s, n in REGIONS.items()],
                "versions": [
                    {"slug": slug, "kubernetes_version": kv, "supported_features": _K8S_FEATURES}
                    for slug, kv in KUBERNETES_VERSIONS
                ],
                "sizes": [{"name": n, "slug": s} for s, n in _NODE_SIZES.items()],
            }
        }

    def cluster(self, cluster_id: str) -> JSON:
        if cluster_id not in self.clusters:
            _not_found()
        return self.clusters[cluster_id]

    def cluster_view(self, cluster: JSON) -> JSON:
        view = copy.deepcopy(cluster)
        view["registry_enabled"] = cluster["id"] in self.registry_clusters
        return view

    def create_cluster(self, body: JSON) -> JSON:
        name = _required_str(body, "name")
        region = _required_str(body, "region")
        _check_region(region)
        version = _required_str(body, "version")
        slugs = [slug for slug, _ in KUBERNETES_VERSIONS]
        if version == "latest":
            version = slugs[0]
        if version not in slugs:
            _unprocessable(f"version '{version}' is not offered; offered: {', '.join(slugs)}")
        if any(c["name"] == name for c in self.clusters.values()):
            _unprocessable(f"a cluster with the name '{name}' already exists")
        pools = body.get("node_pools")
        if not isinstance(pools, list) or not pools:
            _unprocessable("node_pools: at least one node pool is required")
        vpc_id = str(body.get("vpc_uuid") or "")
        if vpc_id:
            if self.vpcs.get(vpc_id, {}).get("region") != region:
                _unprocessable(f"vpc_uuid '{vpc_id}' is not a VPC in {region}")
        else:
            vpc_id = self._default_vpc(region)["id"]

        cluster_id = self.new_id("kubernetes", name)
        access = self.access.get(name)
        endpoint = access.endpoint if access else f"https://{cluster_id}.k8s.ondigitalocean.com"
        host = urlsplit(endpoint).hostname or ""
        try:
            ipv4 = str(ipaddress.IPv4Address(host))
        except ValueError:
            ipv4 = "203.0.113.10"
        minor = int(version.split(".")[1])
        ha = body.get("ha")
        moment = _timestamp(_now())
        cluster: JSON = {
            "id": cluster_id,
            "name": name,
            "region": region,
            "version": version,
            "cluster_subnet": str(body.get("cluster_subnet") or "10.244.0.0/16"),
            "service_subnet": str(body.get("service_subnet") or "10.245.0.0/16"),
            "vpc_uuid": vpc_id,
            "ipv4": ipv4,
            "endpoint": endpoint,
            "tags": _unique([*_strings(body.get("tags")), "k8s", f"k8s:{cluster_id}"]),
            "node_pools": [],
            "maintenance_policy": _maintenance_policy(body.get("maintenance_policy"), None),
            "auto_upgrade": bool(body.get("auto_upgrade", False)),
            "surge_upgrade": bool(body.get("surge_upgrade", False)),
            "ha": bool(ha) if ha is not None else minor >= 36,
            "status": {"state": "running", "message": "Cluster is running"},
            "created_at": moment,
            "updated_at": moment,
        }
        for key in _CLUSTER_SWITCHES:
            switch = _switch(body.get(key))
            if switch is not None:
                cluster[key] = switch
        firewall = _control_plane_firewall(body.get("control_plane_firewall"))
        if firewall is not None:
            cluster["control_plane_firewall"] = firewall
        cluster["node_pools"] = [self._new_pool(cluster_id, pool) for pool in pools]
        self.clusters[cluster_id] = cluster
        created = self.cluster_view(cluster)
        created["status"] = {"state": "provisioning", "message": "Provisioning"}
        return created

    def _default_vpc(self, region: str) -> JSON:
        for vpc in self.vpcs.values():
            if vpc["region"] == region and vpc["default"]:
                return vpc
        vpc = self.create_vpc({"name": f"default-{region}", "region": region})
        vpc["default"] = True
        return vpc

    def _new_pool(self, cluster_id: str, spec: Any) -> JSON:
        if not isinstance(spec, dict):
            _unprocessable("node_pools: each node pool must be an object")
        name = _required_str(spec, "name")
        size = _required_str(spec, "size")
        auto_scale = bool(spec.get("auto_scale", False))
        min_nodes = int(spec.get("min_nodes") or 0)
        max_nodes = int(spec.get("max_nodes") or 0)
        count = int(spec.get("count") or 0)
        if auto_scale:
            if not 1 <= min_nodes <= max_nodes:
                _unprocessable(f"node pool '{name}': min_nodes must be >= 1 and <= max_nodes")
            count = count or min_nodes
            if not min_nodes <= count <= max_nodes:
                _unprocessable(f"node pool '{name}': count must be within min_nodes..max_nodes")
        elif count < 1:
            _unprocessable(f"node pool '{name}': count is required")
        pool_id = self.new_id("node_pool", f"{cluster_id}/{name}")
        pool: JSON = {
            "id": pool_id,
            "name": name,
            "size": size,
            "count": count,
            "tags": _unique(
                [*_strings(spec.get("tags")), "k8s", f"k8s:{cluster_id}", "k8s:worker"]
            ),
            "labels": spec.get("labels") or None,
            "taints": list(spec.get("taints") or []),
            "auto_scale": auto_scale,
            "min_nodes": min_nodes,
            "max_nodes": max_nodes,
            "nodes": [],
        }
        self._resize_pool(pool, count)
        return pool

    def _resize_pool(self, pool: JSON, count: int) -> None:
        nodes: list[JSON] = pool["nodes"][:count]
        while len(nodes) < count:
            index = len(nodes)
            moment = _timestamp(_now())
            suffix = hashlib.sha256(f"{pool['id']}/{index}".encode()).hexdigest()[:5]
            self._next_droplet_id += 1
            nodes.append(
                {
                    "id": str(uuid.uuid5(_ID_NAMESPACE, f"node/{pool['id']}/{index}")),
                    "name": f"{pool['name']}-{suffix}",
                    "status": {"state": "running"},
                    "droplet_id": str(self._next_droplet_id),
                    "created_at": moment,
                    "updated_at": moment,
                }
            )
        pool["nodes"] = nodes
        pool["count"] = count

    def pool(self, cluster_id: str, pool_id: str) -> JSON:
        for pool in self.cluster(cluster_id)["node_pools"]:
            if pool["id"] == pool_id:
                return pool
        _not_found()

    def update_cluster(self, cluster_id: str, body: JSON) -> JSON:
        cluster = self.cluster(cluster_id)
        name = _required_str(body, "name")
        if body.get("ha") is False and cluster["ha"]:
            _unprocessable("a highly available control plane cannot be turned off")
        cluster["name"] = name
        if "tags" in body:
            cluster["tags"] = _unique([*_strings(body.get("tags")), "k8s", f"k8s:{cluster_id}"])
        if body.get("maintenance_policy") is not None:
            cluster["maintenance_policy"] = _maintenance_policy(
                body["maintenance_policy"], cluster["maintenance_policy"]
            )
        for key in ("auto_upgrade", "surge_upgrade", "ha"):
            if isinstance(body.get(key), bool):
                cluster[key] = body[key]
        for key in _CLUSTER_SWITCHES:
            switch = _switch(body.get(key))
            if switch is not None:
                cluster[key] = switch
        firewall = _control_plane_firewall(body.get("control_plane_firewall"))
        if firewall is not None:
            cluster["control_plane_firewall"] = firewall
        cluster["updated_at"] = _timestamp(_now())
        return self.cluster_view(cluster)

    def upgrade_cluster(self, cluster_id: str, body: JSON) -> None:
        cluster = self.cluster(cluster_id)
        version = _required_str(body, "version")
        if version not in [slug for slug, _ in KUBERNETES_VERSIONS]:
            _unprocessable(f"version '{version}' is not offered")
        cluster["version"] = version
        cluster["updated_at"] = _timestamp(_now())

    def update_pool(self, cluster_id: str, pool_id: str, body: JSON) -> JSON:
        pool = self.pool(cluster_id, pool_id)
        name = _required_str(body, "name")
        auto_scale = body.get("auto_scale", pool["auto_scale"])
        min_nodes = int(body.get("min_nodes", pool["min_nodes"]) or 0)
        max_nodes = int(body.get("max_nodes", pool["max_nodes"]) or 0)
        count = int(body.get("count") or pool["count"])
        if auto_scale:
            if not 1 <= min_nodes <= max_nodes:
                _unprocessable(f"node pool '{name}': min_nodes must be >= 1 and <= max_nodes")
            count = min(max(count, min_nodes), max_nodes)
        pool.update(
            {
                "name": name,
                "auto_scale": bool(auto_scale),
                "min_nodes": min_nodes,
                "max_nodes": max_nodes,
            }
        )
        if "tags" in body:
            pool["tags"] = _unique(
                [*_strings(body.get("tags")), "k8s", f"k8s:{cluster_id}", "k8s:worker"]
            )
        if "labels" in body:
            pool["labels"] = body["labels"] or None
        if body.get("taints") is not None:
            pool["taints"] = list(body["taints"])
        self._resize_pool(pool, count)
        self.cluster(cluster_id)["updated_at"] = _timestamp(_now())
        return pool

    def credentials(self, cluster_id: str, expiry_seconds: int) -> JSON:
        cluster = self.cluster(cluster_id)
        access = self.access.get(cluster["name"])
        ca = access.ca_pem_base64 if access else base64.b64encode(_DUMMY_CA_PEM).decode()
        lifetime = expiry_seconds if expiry_seconds > 0 else 7 * 24 * 3600
        return {
            "server": cluster["endpoint"],
            "certificate_authority_data": ca,
            "client_certificate_data": None,
            "client_key_data": None,
            "token": self.token,
            "expires_at": _timestamp(_now() + timedelta(seconds=lifetime)),
        }

    def kubeconfig(self, cluster_id: str) -> str:
        cluster = self.cluster(cluster_id)
        credentials = self.credentials(cluster_id, 0)
        context = f"do-{cluster['region']}-{cluster['name']}"
        return (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- cluster:\n"
            f"    certificate-authority-data: {credentials['certificate_authority_data']}\n"
            f"    server: {credentials['server']}\n"
            f"  name: {context}\n"
            "contexts:\n"
            "- context:\n"
            f"    cluster: {context}\n"
            f"    user: {context}-admin\n"
            f"  name: {context}\n"
            f"current-context: {context}\n"
            "users:\n"
            f"- name: {context}-admin\n"
            "  user:\n"
            f"    token: {self.token}\n"
        )

    def delete_cluster(self, cluster_id: str) -> None:
        self.cluster(cluster_id)
        del self.clusters[cluster_id]
        self.registry_clusters.discard(cluster_id)

    def registry(self, body: JSON, enable: bool) -> None:
        for cluster_id in _strings(body.get("cluster_uuids")):
            self.cluster(cluster_id)
            if enable:
                self.registry_clusters.add(cluster_id)
            else:
                self.registry_clusters.discard(cluster_id)

    # -- databases -------------------------------------------------------------------------------

    def database(self, database_id: str) -> Database:
        if database_id not in self.databases:
            _not_found()
        return self.databases[database_id]

    def create_database(self, body: JSON) -> JSON:
        name = _required_str(body, "name")
        engine = _required_str(body, "engine")
        size = _required_str(body, "size")
        region = _required_str(body, "region")
        _check_region(region)
        if engine == "redis":
            _unprocessable("Managed Caching (Redis) is no longer available; use valkey")
        if engine not in _ENGINES:
            _unprocessable(f"engine '{engine}' is not supported here")
        spec = _ENGINES[engine]
        num_nodes = body.get("num_nodes")
        if not isinstance(num_nodes, int) or not 1 <= num_nodes <= 3:
            _unprocessable("num_nodes must be 1, 2 or 3")
        if size == "db-s-1vcpu-1gb" and num_nodes > 1:
            _unprocessable("db-s-1vcpu-1gb does not support standby nodes")
        version = str(body.get("version") or spec["version"])
        if version not in spec["semantic"]:
            _unprocessable(f"version '{version}' of {engine} is not offered")
        if any(d.api["name"] == name for d in self.databases.values()):
            _unprocessable("cluster name is not available")
        vpc_id = str(body.get("private_network_uuid") or "")
        if vpc_id:
            if self.vpcs.get(vpc_id, {}).get("region") != region:
                _unprocessable(f"private_network_uuid '{vpc_id}' is not a VPC in {region}")
        else:
            vpc_id = self._default_vpc(region)["id"]
        project_id = str(body.get("project_id") or DEFAULT_PROJECT_ID)

        database_id = self.new_id("database", name)
        password = _password()
        host = f"{name}-do-user-1-0.k.db.ondigitalocean.com"
        private_host = f"private-{host}"
        admin: JSON = {"name": spec["user"], "role": "primary", "password": password}
        if engine == "mysql":
            admin["mysql_settings"] = {"auth_plugin": "caching_sha2_password"}
        api: JSON = {
            "id": database_id,
            "name": name,
            "engine": engine,
            "version": version,
            "semantic_version": spec["semantic"][version],
            "num_nodes": num_nodes,
            "size": size,
            "region": region,
            "status": "online",
            "created_at": _timestamp(_now()),
            "private_network_uuid": vpc_id,
            "project_id": project_id,
            "tags": _strings(body.get("tags")) or None,
            "db_names": [spec["database"]] if spec["database"] else None,
            "connection": _connection(spec, host, password),
            "private_connection": _connection(spec, private_host, password),
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
        if engine == "mysql":
            database.config = copy.deepcopy(_MYSQL_DEFAULT_CONFIG)
            database.sql_mode = str(_MYSQL_DEFAULT_CONFIG["sql_mode"])
        if engine == "valkey":
            database.eviction_policy = "noeviction"
        self.databases[database_id] = database
        created = self.database_view(database)
        created["status"] = "creating"
        return created

    def database_view(self, database: Database) -> JSON:
        view = copy.deepcopy(database.api)
        view["users"] = copy.deepcopy(list(database.users.values()))
        if database.dbs:
            view["db_names"] = list(database.dbs)
        return view

    def resize_database(self, database_id: str, body: JSON) -> None:
        database = self.database(database_id)
        size = _required_str(body, "size")
        num_nodes = body.get("num_nodes")
        if not isinstance(num_nodes, int) or not 1 <= num_nodes <= 3:
            _unprocessable("num_nodes must be 1, 2 or 3")
        database.api["size"] = size
        database.api["num_nodes"] = num_nodes
        if "storage_size_mib" in database.api:
            database.api["storage_size_mib"] = int(
                body.get("storage_size_mib") or _MYSQL_STORAGE_MIB.get(size, 10240)
            )

    def set_maintenance(self, database_id: str, body: JSON) -> None:
        database = self.database(database_id)
        day = _required_str(body, "day").lower()
        if day not in _WEEKDAYS:
            _unprocessable(f"day '{day}' is not a day of the week")
        hour = _required_str(body, "hour")
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?", hour):
            _unprocessable(f"hour '{hour}' is not HH:MM or HH:MM:SS")
        if len(hour) == 5:
            hour += ":00"
        window = database.api["maintenance_window"]
        window["day"] = day
        window["hour"] = hour

    def set_eviction_policy(self, database_id: str, body: JSON) -> None:
        database = self._caching(database_id)
        policy = _required_str(body, "eviction_policy")
        if policy not in _EVICTION_POLICIES:
            _unprocessable(f"eviction_policy '{policy}' is not one of {_EVICTION_POLICIES}")
        database.eviction_policy = policy

    def eviction_policy(self, database_id: str) -> str:
        return str(self._caching(database_id).eviction_policy)

    def _caching(self, database_id: str) -> Database:
        database = self.database(database_id)
        if database.api["engine"] not in ("valkey", "redis"):
            _unprocessable("eviction policies exist for Valkey clusters only")
        return database

    def _mysql(self, database_id: str) -> Database:
        database = self.database(database_id)
        if database.api["engine"] != "mysql":
            _unprocessable("this setting exists for MySQL clusters only")
        return database

    def set_sql_mode(self, database_id: str, body: JSON) -> None:
        database = self._mysql(database_id)
        database.sql_mode = _required_str(body, "sql_mode")
        database.config["sql_mode"] = database.sql_mode

    def sql_mode(self, database_id: str) -> str:
        return str(self._mysql(database_id).sql_mode)

    def firewall(self, database_id: str) -> list[JSON]:
        return copy.deepcopy(self.database(database_id).rules)

    def set_firewall(self, database_id: str, body: JSON) -> None:
        database = self.database(database_id)
        rules = body.get("rules")
        if rules is None:
            rules = []
        if not isinstance(rules, list):
            _unprocessable("rules must be a list")
        kept: list[JSON] = []
        for rule in rules:
            kept.append(self._firewall_rule(database, rule))
        database.rules = kept

    def _firewall_rule(self, database: Database, rule: Any) -> JSON:
        if not isinstance(rule, dict):
            _unprocessable("each rule must be an object")
        kind = _required_str(rule, "type")
        value = _required_str(rule, "value")
        if kind not in _FIREWALL_RULE_TYPES:
            _unprocessable(f"rule type '{kind}' is not one of {', '.join(_FIREWALL_RULE_TYPES)}")
        if kind == "k8s" and value not in self.clusters:
            _unprocessable(f"k8s rule: '{value}' is not the ID of a Kubernetes cluster")
        if kind == "ip_addr":
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                _unprocessable(f"ip_addr rule: '{value}' is not an IP address or CIDR")
        database_id = database.api["id"]
        for existing in database.rules:
            if existing["uuid"] == rule.get("uuid") or (
                existing["type"] == kind and existing["value"] == value
            ):
                return existing
        return {
            "uuid": str(uuid.uuid5(_ID_NAMESPACE, f"firewall/{database_id}/{kind}/{value}")),
            "cluster_uuid": database_id,
            "type": kind,
            "value": value,
            "created_at": _timestamp(_now()),
        }

    def config(self, database_id: str) -> JSON:
        return copy.deepcopy(self.database(database_id).config)

    def update_config(self, database_id: str, body: JSON) -> None:
        database = self.database(database_id)
        changes = body.get("config")
        if not isinstance(changes, dict):
            _unprocessable("config must be an object")
        if database.api["engine"] == "mysql":
            unknown = sorted(set(changes) - _MYSQL_CONFIG_KEYS)
            if unknown:
                _unprocessable(f"unknown MySQL configuration: {', '.join(unknown)}")
        database.config.update(changes)
        if "sql_mode" in changes:
            database.sql_mode = str(changes["sql_mode"])

    def ca(self, database_id: str) -> JSON:
        self.database(database_id)
        return {"certificate": base64.b64encode(_DUMMY_CA_PEM).decode()}

    def create_db(self, database_id: str, body: JSON) -> JSON:
        database = self.database(database_id)
        if database.api["engine"] not in ("mysql", "pg"):
            _unprocessable(f"{database.api['engine']} clusters have no databases")
        name = _required_str(body, "name")
        if name in database.dbs:
            _unprocessable(f"database '{name}' already exists")
        database.dbs.append(name)
        return {"name": name}

    def db(self, database_id: str, name: str) -> JSON:
        if name not in self.database(database_id).dbs:
            _not_found("database")
        return {"name": name}

    def delete_db(self, database_id: str, name: str) -> None:
        self.db(database_id, name)
        self.database(database_id).dbs.remove(name)

    def create_user(self, database_id: str, body: JSON) -> JSON:
        database = self.database(database_id)
        name = _required_str(body, "name")
        if name in database.users:
            _unprocessable(f"user '{name}' already exists")
        user: JSON = {"name": name, "role": "normal", "password": _password()}
        if database.api["engine"] == "mysql":
            settings = body.get("mysql_settings") or {}
            plugin = settings.get("auth_plugin") or "caching_sha2_password"
            if plugin not in ("mysql_native_password", "caching_sha2_password"):
                _unprocessable(f"auth_plugin '{plugin}' is not supported")
            user["mysql_settings"] = {"auth_plugin": plugin}
        database.users[name] = user
        return copy.deepcopy(user)

    def user(self, database_id: str, name: str) -> JSON:
        database = self.database(database_id)
        if name not in database.users:
            _not_found("user")
        return database.users[name]

    def reset_user_auth(self, database_id: str, name: str, body: JSON) -> JSON:
        user = self.user(database_id, name)
        settings = body.get("mysql_settings") or {}
        if "mysql_settings" in user and settings.get("auth_plugin"):
            user["mysql_settings"] = {"auth_plugin": settings["auth_plugin"]}
        user["password"] = _password()
        return copy.deepcopy(user)

    def delete_user(self, database_id: str, name: str) -> None:
        user = self.user(database_id, name)
        if user["role"] == "primary":
            _unprocessable("the primary user cannot be deleted")
        del self.database(database_id).users[name]

    def delete_database(self, database_id: str) -> None:
        self.database(database_id)
        del self.databases[database_id]

    # -- domains ---------------------------------------------------------------------------------

    def _domain(self, name: str) -> JSON:
        return {"name": name, "ttl": 1800, "zone_file": None}

    def domain(self, name: str) -> JSON:
        if name not in self.domains:
            _not_found("domain")
        return self.domains[name]

    def create_domain(self, body: JSON) -> JSON:
        name = _required_str(body, "name")
        if name in self.domains:
            _unprocessable(f"domain '{name}' already exists")
        self.domains[name] = self._domain(name)
        if body.get("ip_address"):
            self.create_record(name, {"type": "A", "name": "@", "data": body["ip_address"]})
        return self.domains[name]

    def delete_domain(self, name: str) -> None:
        self.domain(name)
        del self.domains[name]
        for record_id in [i for i, r in self.records.items() if r["domain"] == name]:
            del self.records[record_id]

    def record(self, domain: str, record_id: int) -> JSON:
        self.domain(domain)
        record = self.records.get(record_id)
        if record is None or record["domain"] != domain:
            _not_found("domain record")
        return record

    def create_record(self, domain: str, body: JSON) -> JSON:
        self.domain(domain)
        kind = _required_str(body, "type")
        if kind not in ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "TXT", "SRV", "SOA"):
            _unprocessable(f"record type '{kind}' is not supported")
        name = _required_str(body, "name")
        data = _required_str(body, "data")
        if kind == "A":
            try:
                ipaddress.IPv4Address(data)
            except ValueError:
                _unprocessable(f"an A record needs an IPv4 address, got '{data}'")
        self._next_record_id += 1
        record: JSON = {"id": self._next_record_id, "domain": domain}
        record.update(_record_fields(kind, name, data, body))
        self.records[record["id"]] = record
        return record

    def update_record(self, domain: str, record_id: int, body: JSON) -> JSON:
        record = self.record(domain, record_id)
        kind = str(body.get("type") or record["type"])
        name = str(body.get("name") or record["name"])
        data = str(body.get("data") or record["data"])
        merged = {**record, **{k: v for k, v in body.items() if k != "id"}}
        record.update(_record_fields(kind, name, data, merged))
        return record

    def delete_record(self, domain: str, record_id: int) -> None:
        self.record(domain, record_id)
        del self.records[record_id]

    # -- tags ------------------------------------------------------------------------------------

    def create_tag(self, body: JSON) -> JSON:
        name = _required_str(body, "name")
        if not re.fullmatch(r"[a-zA-Z0-9_\-:]+", name) or len(name) > 255:
            _unprocessable(f"tag name '{name}' is not valid")
        self.tags.setdefault(name, {"name": name})
        return self.tag_view(name)

    def tag_view(self, name: str) -> JSON:
        if name not in self.tags:
            _not_found("tag")
        databases = [d for d in self.databases.values() if name in (d.api.get("tags") or [])]
        last = f"do:dbaas:{databases[-1].api['id']}" if databases else ""
        return {
            "name": name,
            "resources": {
                "count": len(databases),
                "last_tagged_uri": last,
                "databases": {"count": len(databases), "last_tagged_uri": last},
            },
        }

    def tag_resources(self, name: str, body: JSON, add: bool) -> None:
        self.tag_view(name)
        resources = body.get("resources")
        if not isinstance(resources, list) or not resources:
            _unprocessable("resources is required")
        for resource in resources:
            if resource.get("resource_type") != "database":
                _unprocessable("the stand-in tags database clusters only")
            api = self.database(str(resource.get("resource_id"))).api
            tags = [t for t in (api.get("tags") or []) if t != name]
            if add:
                tags.append(name)
            api["tags"] = tags or None

    def delete_tag(self, name: str) -> None:
        self.tag_view(name)
        for database in self.databases.values():
            tags = [t for t in (database.api.get("tags") or []) if t != name]
            database.api["tags"] = tags or None
        del self.tags[name]


_CLUSTER_SWITCHES = (
    "routing_agent",
    "amd_gpu_device_plugin",
    "amd_gpu_device_metrics_exporter_plugin",
    "nvidia_gpu_device_plugin",
    "rdma_shared_dev_plugin",
    "coredns_autoscaler",
    "p2p_oci_registry_plugin",
)
_MYSQL_STORAGE_ENGINES = ("mysql", "pg")
# Not a certificate: DigitalOcean's CA endpoints return a PEM, nothing here parses it.
_DUMMY_CA_PEM = (
    b"-----BEGIN CERTIFICATE-----\n"
    + base64.b64encode(hashlib.sha256(b"posts-infra do_standin CA").digest() * 8)
    + b"\n-----END CERTIFICATE-----\n"
)


def _required_str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        _unprocessable(f"{key} is required")
    return value


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _unprocessable("expected a list of strings")
    return list(value)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _check_region(region: str) -> None:
    if region not in REGIONS:
        _unprocessable(f"region '{region}' is not available")


def _switch(value: Any) -> JSON | None:
    """A cluster plugin switch `{"enabled": bool}`; the provider sends `{"enabled": null}` for
    'not configured' on updates, which changes nothing."""
    if isinstance(value, dict) and isinstance(value.get("enabled"), bool):
        return {"enabled": value["enabled"]}
    return None


def _control_plane_firewall(value: Any) -> JSON | None:
    if isinstance(value, dict) and isinstance(value.get("enabled"), bool):
        return {
            "enabled": value["enabled"],
            "allowed_addresses": _strings(value.get("allowed_addresses")),
        }
    return None


def _maintenance_policy(value: Any, current: JSON | None) -> JSON:
    policy = dict(current or {"start_time": "00:00", "duration": "4h0m0s", "day": "any"})
    if isinstance(value, dict):
        if value.get("day"):
            day = str(value["day"]).lower()
            if day not in (*_WEEKDAYS, "any"):
                _unprocessable(f"maintenance_policy.day '{day}' is not a day of the week or any")
            policy["day"] = day
        if value.get("start_time"):
            start = str(value["start_time"])
            if not re.fullmatch(r"([01]?[0-9]|2[0-3]):[0-5][0-9]", start):
                _unprocessable(f"maintenance_policy.start_time '{start}' is not HH:MM")
            policy["start_time"] = start
    return policy


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


def _record_fields(kind: str, name: str, data: str, body: Mapping[str, Any]) -> JSON:
    def number(key: str) -> int | None:
        value = body.get(key)
        return int(value) if isinstance(value, int) and value else None

    ttl = body.get("ttl")
    return {
        "type": kind,
        "name": name,
        "data": data,
        "priority": number("priority"),
        "port": number("port"),
        "ttl": int(ttl) if isinstance(ttl, int) and ttl > 0 else 1800,
        "weight": number("weight"),
        "flags": number("flags"),
        "tag": str(body["tag"]) if body.get("tag") else None,
    }


def _public_record(record: JSON) -> JSON:
    return {k: v for k, v in record.items() if k != "domain"}


# -- the HTTP application ------------------------------------------------------------------------


def create_app(digitalocean: DigitalOcean) -> Flask:
    """The Flask application: DigitalOcean's routes under /v2, the inspection API under
    /_standin."""
    app = Flask("do_standin")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    do = digitalocean

    def body() -> JSON:
        payload = request.get_json(silent=True)
        if payload is None:
            if request.get_data():
                raise ApiError(400, "bad_request", "the request body is not valid JSON")
            return {}
        if not isinstance(payload, dict):
            raise ApiError(400, "bad_request", "the request body must be a JSON object")
        return payload

    def answer(payload: Any, status: int = 200) -> Response:
        return Response(
            json.dumps(payload), status=status, content_type="application/json; charset=utf-8"
        )

    def nothing(status: int = 204) -> Response:
        response = Response(status=status)
        del response.headers["Content-Type"]
        return response

    def locked(handler: Callable[..., Response]) -> Callable[..., Response]:
        def run(**kwargs: Any) -> Response:
            with do.lock:
                return handler(**kwargs)

        run.__name__ = handler.__name__
        return run

    def route(rule: str, methods: Sequence[str]) -> Callable[[Callable[..., Response]], Any]:
        def register(handler: Callable[..., Response]) -> Any:
            app.add_url_rule(rule, view_func=locked(handler), methods=list(methods))
            return handler

        return register

    @app.before_request
    def authenticate() -> None:
        request.environ["standin.started"] = time.monotonic()
        if request.path.startswith("/v2/") and (
            request.headers.get("Authorization") != f"Bearer {do.token}"
        ):
            raise ApiError(401, "unauthorized", "Unable to authenticate you")

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return answer(
            {"id": error.error_id, "message": error.message, "request_id": str(uuid.uuid4())},
            error.status,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        error_id = {404: "not_found", 405: "method_not_allowed", 500: "server_error"}.get(
            status, "bad_request"
        )
        message = (
            "The resource you were accessing could not be found."
            if status == 404
            else str(error.description)
        )
        return answer({"id": error_id, "message": message, "request_id": str(uuid.uuid4())}, status)

    @app.after_request
    def finish(response: Response) -> Response:
        if not request.path.startswith("/v2/"):
            return response
        with do.lock:
            response = _apply_fault(do, response)
            remaining = max(0, 5000 - len(do.requests) - 1)
            response.headers["ratelimit-limit"] = "5000"
            response.headers["ratelimit-remaining"] = str(remaining)
            response.headers["ratelimit-reset"] = str(int(time.time()) + 60)
            do.requests.append(
                {
                    "t": request.environ.get("standin.started", time.monotonic()),
                    "t_end": time.monotonic(),
                    "at": _timestamp(_now()),
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode(),
                    "status": response.status_code,
                    "body": request.get_json(silent=True),
                }
            )
        return response

    # -- VPCs ------------------------------------------------------------------------------------

    @route("/v2/vpcs", ["POST"])
    def vpcs_create() -> Response:
        return answer({"vpc": do.create_vpc(body())}, 201)

    @route("/v2/vpcs", ["GET"])
    def vpcs_list() -> Response:
        vpcs = list(do.vpcs.values())
        return answer({"vpcs": vpcs, "links": {}, "meta": {"total": len(vpcs)}})

    @route("/v2/vpcs/<vpc_id>", ["GET"])
    def vpcs_get(vpc_id: str) -> Response:
        return answer({"vpc": do.vpc(vpc_id)})

    @route("/v2/vpcs/<vpc_id>", ["PUT", "PATCH"])
    def vpcs_update(vpc_id: str) -> Response:
        return answer({"vpc": do.update_vpc(vpc_id, body(), replace=request.method == "PUT")})

    @route("/v2/vpcs/<vpc_id>", ["DELETE"])
    def vpcs_delete(vpc_id: str) -> Response:
        do.delete_vpc(vpc_id)
        return nothing()

    # -- Kubernetes ------------------------------------------------------------------------------

    @route("/v2/kubernetes/options", ["GET"])
    def kubernetes_options() -> Response:
        return answer(do.kubernetes_options())

    @route("/v2/kubernetes/clusters", ["POST"])
    def clusters_create() -> Response:
        return answer({"kubernetes_cluster": do.create_cluster(body())}, 201)

    @route("/v2/kubernetes/clusters", ["GET"])
    def clusters_list() -> Response:
        clusters = [do.cluster_view(c) for c in do.clusters.values()]
        return answer(
            {"kubernetes_clusters": clusters, "links": {}, "meta": {"total": len(clusters)}}
        )

    @route("/v2/kubernetes/clusters/<cluster_id>", ["GET"])
    def clusters_get(cluster_id: str) -> Response:
        return answer({"kubernetes_cluster": do.cluster_view(do.cluster(cluster_id))})

    @route("/v2/kubernetes/clusters/<cluster_id>", ["PUT"])
    def clusters_update(cluster_id: str) -> Response:
        return answer({"kubernetes_cluster": do.update_cluster(cluster_id, body())}, 202)

    @route("/v2/kubernetes/clusters/<cluster_id>", ["DELETE"])
    def clusters_delete(cluster_id: str) -> Response:
        do.delete_cluster(cluster_id)
        return nothing()

    @route(
        "/v2/kubernetes/clusters/<cluster_id>/destroy_with_associated_resources/dangerous",
        ["DELETE"],
    )
    def clusters_delete_dangerous(cluster_id: str) -> Response:
        do.delete_cluster(cluster_id)
        return nothing()

    @route("/v2/kubernetes/clusters/<cluster_id>/destroy_with_associated_resources", ["GET"])
    def clusters_associated(cluster_id: str) -> Response:
        do.cluster(cluster_id)
        return answer({"load_balancers": [], "volumes": [], "volume_snapshots": []})

    @route("/v2/kubernetes/clusters/<cluster_id>/credentials", ["GET"])
    def clusters_credentials(cluster_id: str) -> Response:
        expiry = request.args.get("expiry_seconds", "0")
        if not expiry.isdigit():
            raise ApiError(400, "bad_request", "expiry_seconds must be a whole number")
        return answer(do.credentials(cluster_id, int(expiry)))

    @route("/v2/kubernetes/clusters/<cluster_id>/kubeconfig", ["GET"])
    def clusters_kubeconfig(cluster_id: str) -> Response:
        return Response(do.kubeconfig(cluster_id), content_type="application/yaml")

    @route("/v2/kubernetes/clusters/<cluster_id>/upgrade", ["POST"])
    def clusters_upgrade(cluster_id: str) -> Response:
        do.upgrade_cluster(cluster_id, body())
        return nothing(202)

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools", ["GET"])
    def pools_list(cluster_id: str) -> Response:
        pools = do.cluster(cluster_id)["node_pools"]
        return answer({"node_pools": pools, "links": {}, "meta": {"total": len(pools)}})

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["GET"])
    def pools_get(cluster_id: str, pool_id: str) -> Response:
        return answer({"node_pool": do.pool(cluster_id, pool_id)})

    @route("/v2/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["PUT"])
    def pools_update(cluster_id: str, pool_id: str) -> Response:
        return answer({"node_pool": do.update_pool(cluster_id, pool_id, body())}, 202)

    @route("/v2/kubernetes/registry", ["POST", "DELETE"])
    def registry() -> Response:
        do.registry(body(), enable=request.method == "POST")
        return nothing()

    # -- databases -------------------------------------------------------------------------------

    @route("/v2/databases", ["POST"])
    def databases_create() -> Response:
        return answer({"database": do.create_database(body())}, 201)

    @route("/v2/databases", ["GET"])
    def databases_list() -> Response:
        return answer({"databases": [do.database_view(d) for d in do.databases.values()]})

    @route("/v2/databases/<database_id>", ["GET"])
    def databases_get(database_id: str) -> Response:
        return answer({"database": do.database_view(do.database(database_id))})

    @route("/v2/databases/<database_id>", ["DELETE"])
    def databases_delete(database_id: str) -> Response:
        do.delete_database(database_id)
        return nothing()

    @route("/v2/databases/<database_id>/resize", ["PUT"])
    def databases_resize(database_id: str) -> Response:
        do.resize_database(database_id, body())
        return nothing(202)

    @route("/v2/databases/<database_id>/maintenance", ["PUT"])
    def databases_maintenance(database_id: str) -> Response:
        do.set_maintenance(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/eviction_policy", ["GET"])
    def eviction_get(database_id: str) -> Response:
        return answer({"eviction_policy": do.eviction_policy(database_id)})

    @route("/v2/databases/<database_id>/eviction_policy", ["PUT"])
    def eviction_set(database_id: str) -> Response:
        do.set_eviction_policy(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/sql_mode", ["GET"])
    def sql_mode_get(database_id: str) -> Response:
        return answer({"sql_mode": do.sql_mode(database_id)})

    @route("/v2/databases/<database_id>/sql_mode", ["PUT"])
    def sql_mode_set(database_id: str) -> Response:
        do.set_sql_mode(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/firewall", ["GET"])
    def firewall_get(database_id: str) -> Response:
        return answer({"rules": do.firewall(database_id)})

    @route("/v2/databases/<database_id>/firewall", ["PUT"])
    def firewall_set(database_id: str) -> Response:
        do.set_firewall(database_id, body())
        return nothing()

    @route("/v2/databases/<database_id>/config", ["GET"])
    def config_get(database_id: str) -> Response:
        return answer({"config": do.config(database_id)})

    @route("/v2/databases/<database_id>/config", ["PATCH"])
    def config_update(database_id: str) -> Response:
        do.update_config(database_id, body())
        return nothing(200)

    @route("/v2/databases/<database_id>/ca", ["GET"])
    def ca_get(database_id: str) -> Response:
        return answer({"ca": do.ca(database_id)})

    @route("/v2/databases/<database_id>/dbs", ["POST"])
    def dbs_create(database_id: str) -> Response:
        return answer({"db": do.create_db(database_id, body())}, 201)

    @route("/v2/databases/<database_id>/dbs", ["GET"])
    def dbs_list(database_id: str) -> Response:
        return answer({"dbs": [{"name": n} for n in do.database(database_id).dbs]})

    @route("/v2/databases/<database_id>/dbs/<name>", ["GET"])
    def dbs_get(database_id: str, name: str) -> Response:
        return answer({"db": do.db(database_id, name)})

    @route("/v2/databases/<database_id>/dbs/<name>", ["DELETE"])
    def dbs_delete(database_id: str, name: str) -> Response:
        do.delete_db(database_id, name)
        return nothing()

    @route("/v2/databases/<database_id>/users", ["POST"])
    def users_create(database_id: str) -> Response:
        return answer({"user": do.create_user(database_id, body())}, 201)

    @route("/v2/databases/<database_id>/users", ["GET"])
    def users_list(database_id: str) -> Response:
        return answer({"users": list(do.database(database_id).users.values())})

    @route("/v2/databases/<database_id>/users/<name>", ["GET"])
    def users_get(database_id: str, name: str) -> Response:
        return answer({"user": do.user(database_id, name)})

    @route("/v2/databases/<database_id>/users/<name>/reset_auth", ["POST"])
    def users_reset_auth(database_id: str, name: str) -> Response:
        return answer({"user": do.reset_user_auth(database_id, name, body())})

    @route("/v2/databases/<database_id>/users/<name>", ["DELETE"])
    def users_delete(database_id: str, name: str) -> Response:
        do.delete_user(database_id, name)
        return nothing()

    # -- domains ---------------------------------------------------------------------------------

    @route("/v2/domains", ["POST"])
    def domains_create() -> Response:
        return answer({"domain": do.create_domain(body())}, 201)

    @route("/v2/domains", ["GET"])
    def domains_list() -> Response:
        domains = list(do.domains.values())
        return answer({"domains": domains, "links": {}, "meta": {"total": len(domains)}})

    @route("/v2/domains/<name>", ["GET"])
    def domains_get(name: str) -> Response:
        return answer({"domain": do.domain(name)})

    @route("/v2/domains/<name>", ["DELETE"])
    def domains_delete(name: str) -> Response:
        do.delete_domain(name)
        return nothing()

    @route("/v2/domains/<name>/records", ["POST"])
    def records_create(name: str) -> Response:
        return answer({"domain_record": _public_record(do.create_record(name, body()))}, 201)

    @route("/v2/domains/<name>/records", ["GET"])
    def records_list(name: str) -> Response:
        do.domain(name)
        records = [_public_record(r) for r in do.records.values() if r["domain"] == name]
        return answer({"domain_records": records, "links": {}, "meta": {"total": len(records)}})

    @route("/v2/domains/<name>/records/<int:record_id>", ["GET"])
    def records_get(name: str, record_id: int) -> Response:
        return answer({"domain_record": _public_record(do.record(name, record_id))})

    @route("/v2/domains/<name>/records/<int:record_id>", ["PUT", "PATCH"])
    def records_update(name: str, record_id: int) -> Response:
        record = do.update_record(name, record_id, body())
        return answer({"domain_record": _public_record(record)})

    @route("/v2/domains/<name>/records/<int:record_id>", ["DELETE"])
    def records_delete(name: str, record_id: int) -> Response:
        do.delete_record(name, record_id)
        return nothing()

    # -- tags ------------------------------------------------------------------------------------

    @route("/v2/tags", ["POST"])
    def tags_create() -> Response:
        return answer({"tag": do.create_tag(body())}, 201)

    @route("/v2/tags/<name>", ["GET"])
    def tags_get(name: str) -> Response:
        return answer({"tag": do.tag_view(name)})

    @route("/v2/tags/<name>", ["DELETE"])
    def tags_delete(name: str) -> Response:
        do.delete_tag(name)
        return nothing()

    @route("/v2/tags/<name>/resources", ["POST", "DELETE"])
    def tags_resources(name: str) -> Response:
        do.tag_resources(name, body(), add=request.method == "POST")
        return nothing()

    # -- inspection (never through Prism) --------------------------------------------------------

    @route("/_standin/state", ["GET"])
    def standin_state() -> Response:
        return answer(do.state())

    @route("/_standin/requests", ["GET"])
    def standin_requests() -> Response:
        return answer(do.requests)

    @route("/_standin/faults", ["POST"])
    def standin_fault_add() -> Response:
        spec = body()
        try:
            fault = Fault(
                method=str(spec["method"]).upper(),
                path=re.compile(str(spec["path"])),
                status=int(spec["status"]) if spec.get("status") is not None else None,
                body=spec.get("body"),
                times=int(spec.get("times", 1)),
            )
        except (KeyError, ValueError, re.error) as problem:
            raise ApiError(400, "bad_request", f"a fault needs method, path: {problem}") from None
        do.faults.append(fault)
        return answer(fault.describe(), 201)

    @route("/_standin/faults", ["GET"])
    def standin_faults() -> Response:
        return answer([fault.describe() for fault in do.faults])

    @route("/_standin/faults", ["DELETE"])
    def standin_faults_clear() -> Response:
        do.faults.clear()
        return nothing()

    @route("/_standin/databases/<database_id>/firewall/rules", ["POST"])
    def standin_add_rule(database_id: str) -> Response:
        database = do.database(database_id)
        rule = do._firewall_rule(database, body())
        if rule not in database.rules:
            database.rules.append(rule)
        return answer(rule, 201)

    @route("/_standin/kubernetes/clusters/<cluster_id>", ["PATCH"])
    def standin_cluster(cluster_id: str) -> Response:
        """Out of band: DOKS auto-upgraded the patch version."""
        cluster = do.cluster(cluster_id)
        version = body().get("version")
        if not isinstance(version, str) or not re.fullmatch(
            r"1\.[0-9]+\.[0-9]+-do\.[0-9]+", version
        ):
            _unprocessable(f"version '{version}' is not a DOKS version slug")
        cluster["version"] = version
        return answer(do.cluster_view(cluster))

    @route("/_standin/kubernetes/clusters/<cluster_id>/node_pools/<pool_id>", ["PATCH"])
    def standin_pool(cluster_id: str, pool_id: str) -> Response:
        """Out of band: the cluster autoscaler changed the node count."""
        pool = do.pool(cluster_id, pool_id)
        count = body().get("count")
        if not isinstance(count, int) or count < 0:
            _unprocessable("count must be a whole number")
        do._resize_pool(pool, count)
        return answer(pool)

    return app


def _apply_fault(do: DigitalOcean, response: Response) -> Response:
    for fault in do.faults:
        if fault.method == request.method and fault.path.fullmatch(request.path):
            fault.times -= 1
            if fault.times <= 0:
                do.faults.remove(fault)
            faulty = Response(
                json.dumps(fault.body),
                status=fault.status or response.status_code,
                content_type="application/json; charset=utf-8",
            )
            return faulty
    return response


# -- running it ----------------------------------------------------------------------------------


def load_clusters(path: Path | None) -> dict[str, ClusterAccess]:
    """The `--clusters` file: `{"<cluster name>": {"endpoint": ..., "ca_pem_base64": ...}}`."""
    if path is None:
        return {}
    document = json.loads(path.read_text())
    return {
        name: ClusterAccess(endpoint=str(entry["endpoint"]), ca_pem_base64=entry["ca_pem_base64"])
        for name, entry in document.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True, help="the API token requests must carry")
    parser.add_argument("--clusters", type=Path, help="JSON: cluster name -> endpoint and CA")
    parser.add_argument(
        "--domain", action="append", default=[], help="a domain that exists from the start"
    )
    args = parser.parse_args(argv)

    digitalocean = DigitalOcean(args.token, load_clusters(args.clusters), args.domain)
    server = make_server("127.0.0.1", args.port, create_app(digitalocean), threaded=True)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"do_standin listening on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
    return 0


class StandIn:
    """The stand-in as a subprocess of the test process, and its inspection API.

    `root` holds its `--clusters` file and its log. `clusters` maps a DOKS cluster name to
    `{"endpoint": ..., "ca_pem_base64": ...}`.
    """

    def __init__(
        self,
        root: Path,
        token: str,
        clusters: Mapping[str, Mapping[str, str]] | None = None,
        domains: Sequence[str] = (),
        port: int | None = None,
    ) -> None:
        self.root = root
        self.token = token
        self.clusters = {name: dict(entry) for name, entry in (clusters or {}).items()}
        self.domains = tuple(domains)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "do_standin.log"
        self.process: Process | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        clusters_file = self.root / "clusters.json"
        clusters_file.write_text(json.dumps(self.clusters, indent=2))
        argv = [
            sys.executable,
            "-m",
            "tests.e2e.do_standin",
            "--port",
            str(self.port),
            "--token",
            self.token,
            "--clusters",
            str(clusters_file),
        ]
        for domain in self.domains:
            argv += ["--domain", domain]
        repo = Path(__file__).resolve().parents[2]
        self.process = start_process("do_standin", argv, self.log_path, cwd=repo)
        wait_for_port(self.port, timeout, self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    # -- the inspection API ----------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        call = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            call.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(call, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def state(self) -> dict[str, list[JSON]]:
        """Every live resource by kind: vpcs, kubernetes_clusters, databases (with their dbs,
        database_users, firewall_rules, config, eviction_policy), domains, domain_records,
        tags."""
        result: dict[str, list[JSON]] = self._call("GET", "/_standin/state")
        return result

    def requests(self) -> list[JSON]:
        """Every /v2 request so far: t (monotonic start), t_end, at, method, path, query,
        status, body."""
        result: list[JSON] = self._call("GET", "/_standin/requests")
        return result

    def mutations(self) -> list[JSON]:
        """The requests that could change something (POST, PUT, PATCH, DELETE)."""
        return [r for r in self.requests() if r["method"] in _MUTATING]

    def inject_fault(
        self, method: str, path: str, body: Any, status: int | None = None, times: int = 1
    ) -> None:
        """The next `times` responses to `method` on a path fully matching the regular
        expression `path` carry `body` (and `status`) instead of the real answer."""
        self._call(
            "POST",
            "/_standin/faults",
            {"method": method, "path": path, "body": body, "status": status, "times": times},
        )

    def add_firewall_rule(self, database_id: str, kind: str, value: str) -> JSON:
        """Out of band, as in DigitalOcean's console: one more trusted source."""
        result: JSON = self._call(
            "POST",
            f"/_standin/databases/{database_id}/firewall/rules",
            {"type": kind, "value": value},
        )
        return result

    def set_node_count(self, cluster_id: str, pool_id: str, count: int) -> JSON:
        """Out of band, as the cluster autoscaler does."""
        result: JSON = self._call(
            "PATCH", f"/_standin/kubernetes/clusters/{cluster_id}/node_pools/{pool_id}",
            {"count": count},
        )  # fmt: skip
        return result

    def set_cluster_version(self, cluster_id: str, version: str) -> JSON:
        """Out of band, as DOKS's automatic patch upgrades do."""
        result: JSON = self._call(
            "PATCH", f"/_standin/kubernetes/clusters/{cluster_id}", {"version": version}
        )
        return result

    def api(
        self, method: str, path: str, payload: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """One /v2 call straight to the stand-in: (status, parsed body or None)."""
        data = None if payload is None else json.dumps(payload).encode()
        call = urllib.request.Request(self.url + path, data=data, method=method)
        call.add_header("Authorization", f"Bearer {self.token if token is None else token}")
        if data is not None:
            call.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(call, timeout=30) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        return status, (json.loads(text) if text else None)


if __name__ == "__main__":
    sys.exit(main())
