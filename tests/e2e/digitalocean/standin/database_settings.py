"""The settings of a database cluster: eviction policy (Valkey), SQL mode and configuration
(MySQL), and its firewall's trusted sources."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from tests.e2e.digitalocean.standin.common import (
    JSON,
    required_str,
    stable_id,
    timestamp_now,
    unprocessable,
)
from tests.e2e.digitalocean.standin.databases import Database, DatabaseClusters
from tests.e2e.digitalocean.standin.kubernetes import KubernetesClusters

_EVICTION_POLICIES = (
    "noeviction",
    "allkeys_lru",
    "allkeys_random",
    "volatile_lru",
    "volatile_random",
    "volatile_ttl",
)
_FIREWALL_RULE_TYPES = ("droplet", "k8s", "ip_addr", "tag", "app")
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


class DatabaseSettings:
    """Eviction policy, SQL mode, configuration and firewall of the account's databases."""

    def __init__(self, databases: DatabaseClusters, clusters: KubernetesClusters) -> None:
        self.databases = databases
        self.clusters = clusters  # a `k8s` firewall rule names one of them

    # -- eviction policy and SQL mode ------------------------------------------------------------

    def set_eviction_policy(self, database_id: str, body: JSON) -> None:
        database = self._caching(database_id)
        policy = required_str(body, "eviction_policy")
        if policy not in _EVICTION_POLICIES:
            unprocessable(f"eviction_policy '{policy}' is not one of {_EVICTION_POLICIES}")
        database.eviction_policy = policy

    def eviction_policy(self, database_id: str) -> str:
        return str(self._caching(database_id).eviction_policy)

    def _caching(self, database_id: str) -> Database:
        database = self.databases.get(database_id)
        if database.api["engine"] not in ("valkey", "redis"):
            unprocessable("eviction policies exist for Valkey clusters only")
        return database

    def _mysql(self, database_id: str) -> Database:
        database = self.databases.get(database_id)
        if database.api["engine"] != "mysql":
            unprocessable("this setting exists for MySQL clusters only")
        return database

    def set_sql_mode(self, database_id: str, body: JSON) -> None:
        database = self._mysql(database_id)
        database.sql_mode = required_str(body, "sql_mode")
        database.config["sql_mode"] = database.sql_mode

    def sql_mode(self, database_id: str) -> str:
        return str(self._mysql(database_id).sql_mode)

    # -- firewall --------------------------------------------------------------------------------

    def firewall(self, database_id: str) -> list[JSON]:
        return copy.deepcopy(self.databases.get(database_id).rules)

    def set_firewall(self, database_id: str, body: JSON) -> None:
        database = self.databases.get(database_id)
        rules = body.get("rules")
        if rules is None:
            rules = []
        if not isinstance(rules, list):
            unprocessable("rules must be a list")
        kept: list[JSON] = []
        for rule in rules:
            kept.append(self.firewall_rule(database, rule))
        database.rules = kept

    def add_firewall_rule(self, database: Database, rule: Any) -> JSON:
        """Out of band, as in DigitalOcean's console: one more trusted source."""
        added = self.firewall_rule(database, rule)
        if added not in database.rules:
            database.rules.append(added)
        return added

    def firewall_rule(self, database: Database, rule: Any) -> JSON:
        """`rule` checked; the rule of `database` it already is, or a new one."""
        if not isinstance(rule, dict):
            unprocessable("each rule must be an object")
        kind = required_str(rule, "type")
        value = required_str(rule, "value")
        if kind not in _FIREWALL_RULE_TYPES:
            unprocessable(f"rule type '{kind}' is not one of {', '.join(_FIREWALL_RULE_TYPES)}")
        if kind == "k8s" and value not in self.clusters.by_id:
            unprocessable(f"k8s rule: '{value}' is not the ID of a Kubernetes cluster")
        if kind == "ip_addr":
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                unprocessable(f"ip_addr rule: '{value}' is not an IP address or CIDR")
        database_id = database.api["id"]
        for existing in database.rules:
            if existing["uuid"] == rule.get("uuid") or (
                existing["type"] == kind and existing["value"] == value
            ):
                return existing
        return {
            "uuid": stable_id(f"firewall/{database_id}/{kind}/{value}"),
            "cluster_uuid": database_id,
            "type": kind,
            "value": value,
            "created_at": timestamp_now(),
        }

    # -- configuration ---------------------------------------------------------------------------

    def config(self, database_id: str) -> JSON:
        return copy.deepcopy(self.databases.get(database_id).config)

    def update_config(self, database_id: str, body: JSON) -> None:
        database = self.databases.get(database_id)
        changes = body.get("config")
        if not isinstance(changes, dict):
            unprocessable("config must be an object")
        if database.api["engine"] == "mysql":
            unknown = sorted(set(changes) - _MYSQL_CONFIG_KEYS)
            if unknown:
                unprocessable(f"unknown MySQL configuration: {', '.join(unknown)}")
        database.config.update(changes)
        if "sql_mode" in changes:
            database.sql_mode = str(changes["sql_mode"])
