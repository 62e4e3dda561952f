"""What DigitalOcean says about the stack's cluster right now: read-only, before anything is
registered, from the API the DigitalOcean provider uses, with its token.

The program needs three facts the provider does not give it in time: the version the cluster
runs (the desired version depends on it, and a downgrade or a skip must be refused before any
change), the size of the cluster's own pool (which can never change), and the app's pools that
exist (so that the preview can say which pool a nodeSize change replaces). An existing cluster
is found by name, as `digitalocean.get_kubernetes_cluster` finds it, but a new stack has none
and that data source fails then; `GET /v2/kubernetes/clusters` simply lists nothing. The
upgrades DigitalOcean offers a cluster (`GET /v2/kubernetes/clusters/{id}/upgrades`) have no
data source at all.

`reader()` is the API's reader; the offline runs (`offline/simulate.py`) put a stand-in of
their own in its place (`use`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from config.digitalocean_api import ReadOnlyApi, quoted
from config.sections import DigitalOceanAccess

# The tag DigitalOcean's provider gives the cluster's own pool, and finds it by.
DEFAULT_POOL_TAG = "terraform:default-node-pool"
# States of a cluster on its way out: as good as gone (its name is taken until it is).
GONE_STATES = ("deleting", "deleted")


@dataclass(frozen=True)
class LivePool:
    id: str
    name: str
    size: str
    default: bool  # the cluster's own pool (tagged terraform:default-node-pool)


@dataclass(frozen=True)
class LiveCluster:
    id: str
    name: str
    version: str  # the version slug, e.g. 1.36.3-do.0
    state: str  # running, provisioning, upgrading, degraded, error, ...
    pools: tuple[LivePool, ...]

    @property
    def own_pool(self) -> LivePool | None:
        return next((p for p in self.pools if p.default), None)

    @property
    def other_pools(self) -> tuple[LivePool, ...]:
        return tuple(p for p in self.pools if not p.default)


class Reader(Protocol):
    def cluster_named(self, name: str) -> LiveCluster | None: ...

    def cluster(self, cluster_id: str) -> LiveCluster: ...

    def upgrades(self, cluster_id: str) -> tuple[str, ...]: ...


def parse_cluster(body: dict[str, Any]) -> LiveCluster:
    return LiveCluster(
        id=str(body["id"]),
        name=str(body["name"]),
        version=str(body.get("version") or ""),
        state=str((body.get("status") or {}).get("state") or ""),
        pools=tuple(
            LivePool(
                id=str(pool["id"]),
                name=str(pool["name"]),
                size=str(pool["size"]),
                default=DEFAULT_POOL_TAG in (pool.get("tags") or []),
            )
            for pool in body.get("node_pools") or []
        ),
    )


class ApiReader:
    """DigitalOcean's API v2, read-only, as the provider reaches it (config/digitalocean_api.py:
    tried again on 429 and 5xx as the provider's client is)."""

    def __init__(self, access: DigitalOceanAccess) -> None:
        self.api = ReadOnlyApi(access.api_url, access.token)

    def cluster_named(self, name: str) -> LiveCluster | None:
        for cluster in self.api.items("/v2/kubernetes/clusters", "kubernetes_clusters"):
            state = (cluster.get("status") or {}).get("state")
            if cluster.get("name") == name and state not in GONE_STATES:
                return parse_cluster(cluster)
        return None

    def cluster(self, cluster_id: str) -> LiveCluster:
        return parse_cluster(
            self.api.get(f"/v2/kubernetes/clusters/{quoted(cluster_id)}")["kubernetes_cluster"]
        )

    def upgrades(self, cluster_id: str) -> tuple[str, ...]:
        body = self.api.get(f"/v2/kubernetes/clusters/{quoted(cluster_id)}/upgrades")
        return tuple(str(v["slug"]) for v in body.get("available_upgrade_versions") or [])


_READER: contextvars.ContextVar[Reader | None] = contextvars.ContextVar("live_reader", default=None)


def reader(access: DigitalOceanAccess) -> Reader:
    """The reader in use: DigitalOcean's API, unless an offline run put its own in place."""
    return _READER.get() or ApiReader(access)


@contextmanager
def use(replacement: Reader) -> Iterator[None]:
    """Offline runs: `replacement` answers instead of DigitalOcean's API."""
    token = _READER.set(replacement)
    try:
        yield
    finally:
        _READER.reset(token)
