"""`DigitalOcean`: the account the stand-in serves, made of one object per resource family,
with its request log and its deliberate contract faults."""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.digitalocean.standin.common import JSON, Ids
from tests.e2e.digitalocean.standin.database_contents import DatabaseContents
from tests.e2e.digitalocean.standin.database_settings import DatabaseSettings
from tests.e2e.digitalocean.standin.databases import DatabaseClusters
from tests.e2e.digitalocean.standin.domains import Domains
from tests.e2e.digitalocean.standin.kubernetes import (
    ClusterAccess,
    ClusterCredentials,
    KubernetesClusters,
)
from tests.e2e.digitalocean.standin.lifecycle import Behaviour, Departures
from tests.e2e.digitalocean.standin.load_balancers import Droplets, LoadBalancers
from tests.e2e.digitalocean.standin.monitoring import AlertPolicies, UptimeChecks
from tests.e2e.digitalocean.standin.tags import Tags
from tests.e2e.digitalocean.standin.vpcs import Vpcs

# What a fault does to the request it matches.
NO_EFFECT = "none"  # answered with the fault instead: the cloud did nothing (429, most 5xx)
ACTED = "after"  # the cloud acted, then answered with the fault (an ambiguous write)
DROPPED = "drop"  # the cloud acted, then the connection was cut mid-response
EFFECTS = (NO_EFFECT, ACTED, DROPPED)
# The header that tells the recorder in front of Prism (tests/e2e/digitalocean/prism.py) to cut
# the response.
DROP_HEADER = "X-Standin-Fault"
DROP_VALUE = "drop-connection"


@dataclass
class Fault:
    """The next `times` requests of `method` on a path fully matching `path` meet this fault.

    `effect` says whether the cloud acted (see EFFECTS); `status`, `body` and `headers` are the
    answer (for ACTED with no status: the real status with `body` in place of the real body).
    """

    method: str
    path: re.Pattern[str]
    status: int | None
    body: Any
    times: int
    effect: str = ACTED
    headers: dict[str, str] = field(default_factory=dict)
    # Only requests whose JSON body holds these top-level values (e.g. {"engine": "mysql"}).
    body_match: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> JSON:
        return {
            "method": self.method,
            "path": self.path.pattern,
            "status": self.status,
            "body": self.body,
            "times": self.times,
            "effect": self.effect,
            "headers": dict(self.headers),
            "body_match": dict(self.body_match),
        }

    def matches(self, method: str, path: str, body: Any) -> bool:
        if self.method != method or self.path.fullmatch(path) is None:
            return False
        payload = body if isinstance(body, dict) else {}
        return all(payload.get(key) == value for key, value in self.body_match.items())


class DigitalOcean:
    """The account's resources. Every request runs under `lock`; IDs are deterministic."""

    def __init__(
        self, token: str, clusters: Mapping[str, ClusterAccess], domains: Iterable[str] = ()
    ) -> None:
        self.token = token
        access = dict(clusters)
        self.lock = threading.RLock()
        ids = Ids()
        self.behaviour = Behaviour()
        departures = Departures(self.behaviour)
        self.vpcs = Vpcs(ids, self.behaviour)
        self.kubernetes = KubernetesClusters(
            ids, self.vpcs, access, self.behaviour, departures, self.lock, token
        )
        self.credentials = ClusterCredentials(self.kubernetes, access, token)
        self.databases = DatabaseClusters(ids, self.vpcs, self.behaviour, departures)
        self.database_settings = DatabaseSettings(self.databases, self.kubernetes)
        self.database_contents = DatabaseContents(self.databases)
        self.domains = Domains(domains)
        self.tags = Tags(self.databases)
        self.load_balancers = LoadBalancers(ids, self.behaviour)
        self.droplets = Droplets(self.kubernetes)
        self.uptime = UptimeChecks(ids)
        self.alert_policies = AlertPolicies(ids, lambda uuid: uuid in self.databases.by_id)
        self.requests: list[JSON] = []
        self.faults: list[Fault] = []

    def take_fault(
        self, method: str, path: str, body: Any, effects: tuple[str, ...]
    ) -> Fault | None:
        """The first fault for this request with one of `effects`, used up once."""
        for fault in self.faults:
            if fault.effect in effects and fault.matches(method, path, body):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def delete_vpc(self, vpc_id: str) -> None:
        """Refused (403) while a cluster or database is in it, as DigitalOcean does."""
        self.vpcs.get(vpc_id)
        members = self.kubernetes.names_in_vpc(vpc_id) + self.databases.names_in_vpc(vpc_id)
        self.vpcs.delete(vpc_id, members)

    def state(self) -> JSON:
        """Every live resource, by kind, as the API shows it (databases with their contents)."""
        return {
            "vpcs": copy.deepcopy(list(self.vpcs.by_id.values())),
            "kubernetes_clusters": self.kubernetes.views(),
            "databases": self.databases.state(),
            "domains": copy.deepcopy(list(self.domains.by_name.values())),
            "domain_records": copy.deepcopy(list(self.domains.records.values())),
            "tags": copy.deepcopy(list(self.tags.by_name.values())),
            "load_balancers": self.load_balancers.views(),
            "uptime_checks": self.uptime.state()[0],
            "uptime_alerts": self.uptime.state()[1],
            "alert_policies": self.alert_policies.views(),
        }
