"""How slowly the stand-in's cloud acts, set per scenario: DigitalOcean does not create or delete
anything at once.

- A new DOKS cluster answers `status.state: "provisioning"` to its first
  `cluster_provisioning_polls` reads (`GET /v2/kubernetes/clusters/{id}`), then `running`.
- A new database cluster answers `status: "creating"` to its first `database_creating_polls`
  reads, then `online`.
- A deleted cluster or database is gone from the API at once for databases, after
  `deleting_reads` reads (`state: "deleting"`) for clusters, and it stays a member of its VPC
  for `deleting_reads` reads of that membership (each refused `DELETE /v2/vpcs/{id}` is one):
  a `pulumi destroy` meets DigitalOcean's 403 "Can not delete VPC with members" and the
  provider's retry has to carry it.
- `unique_names`: DigitalOcean refuses a second database cluster, DOKS cluster or VPC of a
  name in use; turned off, the stand-in plays a cloud without that check (a retried create
  then makes a duplicate).
- `load_balancer_limit`: how many load balancers the account may have (None: no limit).
- An upgraded cluster (`POST .../upgrade`) answers `upgrading` to its next
  `cluster_upgrading_polls` reads, then `running` the new version.
- A node that leaves (a pool deleted or shrunk) is drained (`nodes.py`); evictions a
  PodDisruptionBudget refuses are tried again for up to `pool_drain_seconds`, then what is left
  is deleted. DOKS publishes no such limit; this one is the stand-in's.

Counting reads, not seconds: the tests assert how often the provider looked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tests.e2e.digitalocean.standin.common import JSON, unprocessable


@dataclass
class Behaviour:
    cluster_provisioning_polls: int = 0
    database_creating_polls: int = 0
    deleting_reads: int = 2
    unique_names: bool = True
    load_balancer_limit: int | None = None
    cluster_upgrading_polls: int = 2
    pool_drain_seconds: int = 120

    def describe(self) -> JSON:
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name: f for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                unprocessable(f"unknown behaviour '{key}'; known: {', '.join(known)}")
            if key == "unique_names":
                if not isinstance(value, bool):
                    unprocessable("unique_names must be true or false")
            elif key == "load_balancer_limit":
                if value is not None and (not isinstance(value, int) or value < 0):
                    unprocessable("load_balancer_limit must be a whole number or null")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                unprocessable(f"{key} must be a whole number")
            setattr(self, key, value)


class Countdown:
    """Reads left before something changes state, by resource ID."""

    def __init__(self) -> None:
        self._left: dict[str, int] = {}

    def start(self, key: str, reads: int) -> None:
        if reads > 0:
            self._left[key] = reads
        else:
            self._left.pop(key, None)

    def pending(self, key: str) -> bool:
        return self._left.get(key, 0) > 0

    def read(self, key: str) -> bool:
        """One read of `key`: True while it is still pending (this read counted)."""
        left = self._left.get(key, 0)
        if left <= 0:
            self._left.pop(key, None)
            return False
        if left == 1:
            del self._left[key]
        else:
            self._left[key] = left - 1
        return True

    def forget(self, key: str) -> None:
        self._left.pop(key, None)


@dataclass
class Lingering:
    """A deleted cluster or database that still holds its place in its VPC (and its name)."""

    kind: str  # "kubernetes" or "database"
    resource_id: str
    name: str
    vpc_id: str
    view: JSON  # as the API last showed it


class Departures:
    """Deleted clusters and databases on their way out: each still holds its VPC membership and
    its name for `deleting_reads` reads."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._lingering: dict[str, Lingering] = {}
        self._reads = Countdown()

    def depart(self, kind: str, resource_id: str, name: str, vpc_id: str, view: JSON) -> None:
        reads = self.behaviour.deleting_reads
        if reads <= 0:
            return
        self._lingering[resource_id] = Lingering(kind, resource_id, name, vpc_id, view)
        self._reads.start(resource_id, reads)

    def _read(self, resource_id: str) -> Lingering | None:
        lingering = self._lingering.get(resource_id)
        if lingering is None:
            return None
        if not self._reads.read(resource_id):
            del self._lingering[resource_id]
            return None
        if not self._reads.pending(resource_id):
            del self._lingering[resource_id]  # this was its last read
        return lingering

    def read(self, kind: str, resource_id: str) -> JSON | None:
        """A read of a departing resource: its last view (state "deleting"), or None if gone."""
        lingering = self._lingering.get(resource_id)
        if lingering is None or lingering.kind != kind:
            return None
        found = self._read(resource_id)
        return found.view if found is not None else None

    def departing(self, resource_id: str) -> bool:
        return resource_id in self._lingering

    def members_of(self, vpc_id: str, kind: str) -> list[str]:
        """Names of the departing resources of `kind` still in `vpc_id`; one read of each."""
        names = []
        members = [i for i, g in self._lingering.items() if g.vpc_id == vpc_id and g.kind == kind]
        for resource_id in members:
            found = self._read(resource_id)
            if found is not None:
                names.append(found.name)
        return names

    def names(self, kind: str) -> set[str]:
        """Names still held by departing resources of `kind` (no read)."""
        return {g.name for g in self._lingering.values() if g.kind == kind}

    def views(self, kind: str) -> list[JSON]:
        return [g.view for g in self._lingering.values() if g.kind == kind]
