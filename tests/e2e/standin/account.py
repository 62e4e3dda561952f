"""`DigitalOcean`: the account the stand-in serves, made of one object per resource family,
with its request log and its deliberate contract faults."""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.e2e.standin.common import JSON, Ids
from tests.e2e.standin.database_contents import DatabaseContents
from tests.e2e.standin.database_settings import DatabaseSettings
from tests.e2e.standin.databases import DatabaseClusters
from tests.e2e.standin.domains import Domains
from tests.e2e.standin.kubernetes import ClusterAccess, ClusterCredentials, KubernetesClusters
from tests.e2e.standin.tags import Tags
from tests.e2e.standin.vpcs import Vpcs


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


class DigitalOcean:
    """The account's resources. Every request runs under `lock`; IDs are deterministic."""

    def __init__(
        self, token: str, clusters: Mapping[str, ClusterAccess], domains: Iterable[str] = ()
    ) -> None:
        self.token = token
        access = dict(clusters)
        self.lock = threading.RLock()
        ids = Ids()
        self.vpcs = Vpcs(ids)
        self.kubernetes = KubernetesClusters(ids, self.vpcs, access)
        self.credentials = ClusterCredentials(self.kubernetes, access, token)
        self.databases = DatabaseClusters(ids, self.vpcs)
        self.database_settings = DatabaseSettings(self.databases, self.kubernetes)
        self.database_contents = DatabaseContents(self.databases)
        self.domains = Domains(domains)
        self.tags = Tags(self.databases)
        self.requests: list[JSON] = []
        self.faults: list[Fault] = []

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
        }
