"""The checks that need two keys or more, on the typed sections.

What one key alone accepts is on its schema entry (`config/schema.py`) and checked as it is read
(`config/reading.py`). Each check here names the keys it reads; it is skipped when one of them
already has a problem (that key's own message says what to fix first). Whether the pods fit the
node pool is `config/capacity.py`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from config.sections import (
    AppSettings,
    ClusterSettings,
    DataSettings,
    EdgeSettings,
    MonitoringSettings,
    NetworkSettings,
)
from model import catalog


@dataclass(frozen=True)
class Sections:
    """The sections the checks read."""

    network: NetworkSettings
    cluster: ClusterSettings
    data: DataSettings
    app: AppSettings
    edge: EdgeSettings
    monitoring: MonitoringSettings


Check = Callable[[Sections], Iterator[str]]
CHECKS: list[tuple[tuple[str, ...], Check]] = []


def reads(*keys: str) -> Callable[[Check], Check]:
    """Registers a check with the keys it reads."""

    def register(check: Check) -> Check:
        CHECKS.append((keys, check))
        return check

    return register


def cross_key_problems(sections: Sections, bad: set[str]) -> list[str]:
    """Every check whose keys are all good, in order; a key named by a problem is bad after."""
    problems: list[str] = []
    for keys, check in CHECKS:
        if bad.isdisjoint(keys):
            found = list(check(sections))
            problems += found
            bad.update(problem.split(":", 1)[0] for problem in found)
    return problems


@reads("minNodes", "maxNodes")
def _node_pool_bounds(s: Sections) -> Iterator[str]:
    if s.cluster.max_nodes < s.cluster.min_nodes:
        yield f"maxNodes: {s.cluster.max_nodes} is below minNodes ({s.cluster.min_nodes})"


@reads("mysqlNodeCount", "mysqlSize")
def _mysql_standby_nodes(s: Sections) -> Iterator[str]:
    yield from _standby_nodes("mysql", s.data.mysql.node_count, s.data.mysql.size)


@reads("cacheNodeCount", "cacheSize")
def _cache_standby_nodes(s: Sections) -> Iterator[str]:
    yield from _standby_nodes("cache", s.data.cache.node_count, s.data.cache.size)


def _standby_nodes(prefix: str, count: int, slug: str) -> Iterator[str]:
    sizes = catalog.MYSQL_SIZES if prefix == "mysql" else catalog.VALKEY_SIZES
    if count > 1 and sizes[slug].standby_monthly_usd is None:
        yield (f"{prefix}NodeCount: {slug} cannot have standby nodes; use 1 node or a larger size")


def _disjoint(first: str, second: str) -> Check:
    def check(s: Sections) -> Iterator[str]:
        ranges = {
            "vpcIpRange": s.network.vpc_ip_range,
            "clusterSubnet": s.cluster.cluster_subnet,
            "serviceSubnet": s.cluster.service_subnet,
        }
        a, b = ranges[first].network, ranges[second].network
        if a.overlaps(b):
            yield (
                f"{second}: {b} overlaps {first} ({a}); the VPC, pod and service networks must"
                " be disjoint"
            )

    return check


for _first, _second in itertools.combinations(("vpcIpRange", "clusterSubnet", "serviceSubnet"), 2):
    reads(_first, _second)(_disjoint(_first, _second))


@reads("apiMinReplicas", "apiMaxReplicas")
def _api_replica_bounds(s: Sections) -> Iterator[str]:
    low, high = s.app.api_min_replicas, s.app.api_max_replicas
    if high < low:
        yield f"apiMaxReplicas: {high} is below apiMinReplicas ({low})"


@reads("hostname", "dnsDomain")
def _dns_record_in_its_domain(s: Sections) -> Iterator[str]:
    hostname, domain = s.edge.hostname, s.edge.dns_domain
    if domain and not hostname:
        yield "dnsDomain: needs hostname (the record to create in it)"
    elif domain and hostname != domain and not hostname.endswith(f".{domain}"):
        yield f"dnsDomain: hostname '{hostname}' is not inside '{domain}'"


@reads("tls", "hostname")
def _tls_needs_a_hostname(s: Sections) -> Iterator[str]:
    if s.edge.tls and not s.edge.hostname:
        yield "tls: needs hostname (the certificate's name)"


@reads("tls", "tlsEmail")
def _tls_needs_an_account(s: Sections) -> Iterator[str]:
    if s.edge.tls and "@" not in s.edge.tls_email:
        yield "tlsEmail: an e-mail address is required with tls (Let's Encrypt account)"


@reads("alertSlackChannel", "alertSlackWebhook")
def _slack_needs_channel_and_webhook(s: Sections) -> Iterator[str]:
    notify = s.monitoring.notifications
    if notify.slack_channel and notify.slack_webhook is None:
        yield (
            "alertSlackWebhook: alertSlackChannel needs the channel's incoming webhook:"
            " `pulumi config set --secret alertSlackWebhook https://hooks.slack.com/services/...`"
        )
    elif notify.slack_webhook is not None and not notify.slack_channel:
        yield "alertSlackChannel: alertSlackWebhook needs the channel's name (e.g. #posts-alerts)"
