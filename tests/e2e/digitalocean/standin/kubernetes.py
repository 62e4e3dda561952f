"""DOKS: the options, clusters (create, read, update, upgrade, delete, registry integration),
their node pools, and the credentials and kubeconfig that reach them.

A cluster named in the stand-in's `--clusters` file gets that endpoint and CA, and its
credentials carry the API token as bearer token, as DOKS accepts it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

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
    unique,
    unprocessable,
)
from tests.e2e.digitalocean.standin.lifecycle import Behaviour, Countdown, Departures
from tests.e2e.digitalocean.standin.nodes import DrainRecord, KubeApi, NodeShape, PoolNodes
from tests.e2e.digitalocean.standin.vpcs import Vpcs

# Newest first: getKubernetesVersions takes the first slug with the prefix as `latest_version`.
KUBERNETES_VERSIONS = reference.KUBERNETES_VERSIONS
_K8S_FEATURES = [
    "cluster-autoscaler",
    "docr-integration",
    "ha-control-plane",
    "token-authentication",
]
_CLUSTER_SWITCHES = (
    "routing_agent",
    "amd_gpu_device_plugin",
    "amd_gpu_device_metrics_exporter_plugin",
    "nvidia_gpu_device_plugin",
    "rdma_shared_dev_plugin",
    "coredns_autoscaler",
    "p2p_oci_registry_plugin",
)


@dataclass(frozen=True)
class ClusterAccess:
    """Where the DOKS cluster of a given name really is: its API server and CA; and, when the
    stand-in is to run its nodes there, what a node of each size offers in it."""

    endpoint: str
    ca_pem_base64: str
    nodes: Mapping[str, NodeShape] | None = None


class NodePools:
    """A cluster's node pools: made with the cluster or added, resized, updated, deleted; their
    nodes, which run in the cluster when it is a real one (`nodes.py`): a new node answers
    `provisioning` until its Node is Ready, a node that goes answers `draining` while DOKS
    drains it, and a deleted pool is gone once all its nodes are."""

    def __init__(
        self,
        ids: Ids,
        lock: threading.RLock,
        behaviour: Behaviour,
        access: Mapping[str, ClusterAccess],
        token: str | None,
    ) -> None:
        self.ids = ids
        self.lock = lock
        self.access = access
        self.behaviour = behaviour
        self.token = token
        self._next_droplet_id = 510000000
        self.drains: list[DrainRecord] = []

    def kube(self, cluster: JSON) -> PoolNodes | None:
        access = self.access.get(cluster["name"])
        if access is None or access.nodes is None or not self.token:
            return None
        api = KubeApi(access.endpoint, access.ca_pem_base64, self.token)
        return PoolNodes(api, dict(access.nodes))

    def new(self, cluster: JSON, spec: Any) -> JSON:
        if not isinstance(spec, dict):
            unprocessable("node_pools: each node pool must be an object")
        name = required_str(spec, "name")
        size = required_str(spec, "size")
        if size not in reference.NODE_SIZES:
            unprocessable(f"node pool '{name}': size '{size}' is not a valid node size")
        auto_scale = bool(spec.get("auto_scale", False))
        min_nodes = int(spec.get("min_nodes") or 0)
        max_nodes = int(spec.get("max_nodes") or 0)
        count = int(spec.get("count") or 0)
        if auto_scale:
            if not 1 <= min_nodes <= max_nodes:
                unprocessable(f"node pool '{name}': min_nodes must be >= 1 and <= max_nodes")
            count = count or min_nodes
            if not min_nodes <= count <= max_nodes:
                unprocessable(f"node pool '{name}': count must be within min_nodes..max_nodes")
        elif count < 1:
            unprocessable(f"node pool '{name}': count is required")
        cluster_id = cluster["id"]
        if any(p["name"] == name for p in cluster["node_pools"]):
            unprocessable(f"a node pool with the name '{name}' already exists in this cluster")
        pool_id = self.ids.new("node_pool", f"{cluster_id}/{name}")
        pool: JSON = {
            "id": pool_id,
            "name": name,
            "size": size,
            "count": count,
            "tags": _pool_tags(spec, cluster_id),
            "labels": spec.get("labels") or None,
            "taints": list(spec.get("taints") or []),
            "auto_scale": auto_scale,
            "min_nodes": min_nodes,
            "max_nodes": max_nodes,
            "nodes": [],
        }
        self.resize(cluster, pool, count)
        return pool

    def resize(self, cluster: JSON, pool: JSON, count: int) -> None:
        """`count` nodes: new ones start in the cluster, the last ones beyond it are drained."""
        kept = [n for n in pool["nodes"] if n["status"]["state"] not in ("draining", "deleting")]
        going = kept[count:]
        nodes = kept[:count]
        added: list[JSON] = []
        index = len(pool["nodes"]) + sum(1 for d in self.drains if d.pool == pool["id"])
        while len(nodes) < count:
            moment = timestamp_now()
            suffix = hashlib.sha256(f"{pool['id']}/{index}".encode()).hexdigest()[:5]
            self._next_droplet_id += 1
            node = {
                "id": stable_id(f"node/{pool['id']}/{index}"),
                "name": f"{pool['name']}-{suffix}",
                "status": {"state": "running"},
                "droplet_id": str(self._next_droplet_id),
                "created_at": moment,
                "updated_at": moment,
            }
            index += 1
            nodes.append(node)
            added.append(node)
        pool["nodes"] = nodes + going
        pool["count"] = count
        kube = self.kube(cluster)
        if kube is not None:
            for node in added:
                node["status"] = {"state": "provisioning"}
            self._in_background(self._start, cluster, pool, added, kube)
        self.drain(cluster, pool, going)

    def drain(self, cluster: JSON, pool: JSON, going: list[JSON], then: Any = None) -> None:
        """Nodes leave: DOKS drains each, then deletes it; `then()` once all are gone."""
        for node in going:
            node["status"] = {"state": "draining"}
        kube = self.kube(cluster)
        if kube is None:
            self._gone(pool, going, then)
            return
        self._in_background(self._drain, pool, going, kube, then)

    def remove_all(self, cluster: JSON) -> None:
        """The cluster is deleted: its nodes go with it, without a drain."""
        kube = self.kube(cluster)
        if kube is None:
            return
        names = [n["name"] for pool in cluster["node_pools"] for n in pool["nodes"]]

        def delete_all() -> None:
            for name in names:
                kube.delete(name)

        self._in_background(delete_all)

    def _in_background(self, work: Any, *args: Any) -> None:
        threading.Thread(target=work, args=args, daemon=True).start()

    def _start(self, cluster: JSON, pool: JSON, added: list[JSON], kube: PoolNodes) -> None:
        for node in added:
            kube.create(cluster, pool, node)
        waiting = list(added)
        deadline = time.monotonic() + 60
        while waiting and time.monotonic() < deadline:
            ready = [n for n in waiting if kube.ready(n["name"])]
            with self.lock:
                for node in ready:
                    node["status"] = {"state": "running"}
                    node["updated_at"] = timestamp_now()
            waiting = [n for n in waiting if n not in ready]
            time.sleep(0.5)

    def _drain(self, pool: JSON, going: list[JSON], kube: PoolNodes, then: Any) -> None:
        records = []
        for node in going:
            record = DrainRecord(node=node["name"], pool=pool["id"], started=time.time())
            with self.lock:
                self.drains.append(record)
            records.append(record)
        for node, record in zip(going, records, strict=True):
            kube.drain(node["name"], record, self.behaviour.pool_drain_seconds)
            record.finished = time.time()
            with self.lock:
                node["status"] = {"state": "deleting"}
        with self.lock:
            self._gone(pool, going, then)

    def _gone(self, pool: JSON, going: list[JSON], then: Any) -> None:
        pool["nodes"] = [n for n in pool["nodes"] if n not in going]
        if then is not None:
            then()

    def update(self, cluster: JSON, pool: JSON, body: JSON) -> None:
        name = required_str(body, "name")
        auto_scale = body.get("auto_scale", pool["auto_scale"])
        min_nodes = int(body.get("min_nodes", pool["min_nodes"]) or 0)
        max_nodes = int(body.get("max_nodes", pool["max_nodes"]) or 0)
        count = int(body.get("count") or pool["count"])
        if auto_scale:
            if not 1 <= min_nodes <= max_nodes:
                unprocessable(f"node pool '{name}': min_nodes must be >= 1 and <= max_nodes")
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
            pool["tags"] = _pool_tags(body, cluster["id"])
        if "labels" in body:
            pool["labels"] = body["labels"] or None
        if body.get("taints") is not None:
            pool["taints"] = list(body["taints"])
        self.resize(cluster, pool, count)


class KubernetesClusters:
    """The account's DOKS clusters by ID, and which of them have registry integration."""

    def __init__(
        self,
        ids: Ids,
        vpcs: Vpcs,
        access: Mapping[str, ClusterAccess],
        behaviour: Behaviour,
        departures: Departures,
        lock: threading.RLock,
        token: str | None = None,
    ) -> None:
        self.ids = ids
        self.vpcs = vpcs
        self.access = access
        self.behaviour = behaviour
        self.departures = departures
        self.pools = NodePools(ids, lock, behaviour, access, token)
        self.upgrading = Countdown()  # reads an upgraded cluster still answers "upgrading"
        self.upgrade_to: dict[str, str] = {}  # cluster ID -> the version it is upgrading to
        self.deleting_pools: set[str] = set()
        self.by_id: dict[str, JSON] = {}
        self.registry_clusters: set[str] = set()
        self.provisioning = Countdown()  # reads a new cluster still answers "provisioning"

    def options(self) -> JSON:
        return {
            "options": {
                "regions": [{"name": n, "slug": s} for s, n in reference.REGIONS.items()],
                "versions": [
                    {"slug": slug, "kubernetes_version": kv, "supported_features": _K8S_FEATURES}
                    for slug, kv in KUBERNETES_VERSIONS
                ],
                "sizes": [{"name": slug, "slug": slug} for slug in reference.NODE_SIZES],
            }
        }

    def get(self, cluster_id: str) -> JSON:
        return find(self.by_id, cluster_id)

    def read(self, cluster_id: str) -> JSON:
        """`GET /v2/kubernetes/clusters/{id}`: one poll. A new cluster answers "provisioning"
        for its first polls, a deleted one "deleting" until it is gone."""
        if cluster_id not in self.by_id:
            departing = self.departures.read("kubernetes", cluster_id)
            if departing is None:
                not_found()
            return departing
        cluster = self.by_id[cluster_id]
        if self.provisioning.read(cluster_id):
            return self._provisioning_view(cluster)
        if cluster_id in self.upgrade_to and not self.upgrading.read(cluster_id):
            self._finish_upgrade(cluster)
        return self.view(cluster)

    def state_of(self, cluster_id: str) -> str:
        """The state the next read would answer, without counting as one."""
        if cluster_id not in self.by_id:
            return "deleting" if self.departures.departing(cluster_id) else "gone"
        return "provisioning" if self.provisioning.pending(cluster_id) else "running"

    def view(self, cluster: JSON) -> JSON:
        view = copy.deepcopy(cluster)
        view["registry_enabled"] = cluster["id"] in self.registry_clusters
        if self.provisioning.pending(cluster["id"]):
            return self._provisioning_view(cluster)
        if cluster["id"] in self.upgrade_to:
            target = self.upgrade_to[cluster["id"]]
            view["status"] = {"state": "upgrading", "message": f"Upgrading to {target}"}
        return view

    def _provisioning_view(self, cluster: JSON) -> JSON:
        view = copy.deepcopy(cluster)
        view["registry_enabled"] = cluster["id"] in self.registry_clusters
        view["status"] = {"state": "provisioning", "message": "Provisioning"}
        for pool in view["node_pools"]:
            for node in pool["nodes"]:
                node["status"] = {"state": "provisioning"}
        return view

    def views(self) -> list[JSON]:
        return [self.view(c) for c in self.by_id.values()] + self.departures.views("kubernetes")

    def names_in_vpc(self, vpc_id: str) -> list[str]:
        """Clusters in the VPC, those on their way out included (one read of each)."""
        live = [c["name"] for c in self.by_id.values() if c["vpc_uuid"] == vpc_id]
        return live + self.departures.members_of(vpc_id, "kubernetes")

    def create(self, body: JSON) -> JSON:
        name = required_str(body, "name")
        region = required_str(body, "region")
        check_region(region)
        version = required_str(body, "version")
        slugs = [slug for slug, _ in KUBERNETES_VERSIONS]
        if version == "latest":
            version = slugs[0]
        if version not in slugs:
            unprocessable(f"version '{version}' is not offered; offered: {', '.join(slugs)}")
        taken = {c["name"] for c in self.by_id.values()} | self.departures.names("kubernetes")
        if self.behaviour.unique_names and name in taken:
            unprocessable(f"a cluster with the name '{name}' already exists")
        pools = body.get("node_pools")
        if not isinstance(pools, list) or not pools:
            unprocessable("node_pools: at least one node pool is required")
        vpc_id = self.vpcs.placement(str(body.get("vpc_uuid") or ""), region, "vpc_uuid")

        cluster_id = self.ids.new("kubernetes", name)
        access = self.access.get(name)
        endpoint = access.endpoint if access else f"https://{cluster_id}.k8s.ondigitalocean.com"
        host = urlsplit(endpoint).hostname or ""
        try:
            ipv4 = str(ipaddress.IPv4Address(host))
        except ValueError:
            ipv4 = "203.0.113.10"
        minor = int(version.split(".")[1])
        ha = body.get("ha")
        moment = timestamp_now()
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
            "tags": _cluster_tags(body, cluster_id),
            "node_pools": [],
            "maintenance_policy": _maintenance_policy(body.get("maintenance_policy"), None),
            "auto_upgrade": bool(body.get("auto_upgrade", False)),
            "surge_upgrade": bool(body.get("surge_upgrade", False)),
            "ha": bool(ha) if ha is not None else minor >= 36,
            "status": {"state": "running", "message": "Cluster is running"},
            "created_at": moment,
            "updated_at": moment,
        }
        _apply_switches(cluster, body)
        for spec in pools:
            cluster["node_pools"].append(self.pools.new(cluster, spec))
        self.by_id[cluster_id] = cluster
        self.provisioning.start(cluster_id, self.behaviour.cluster_provisioning_polls)
        return self._provisioning_view(cluster)

    def update(self, cluster_id: str, body: JSON) -> JSON:
        cluster = self.get(cluster_id)
        name = required_str(body, "name")
        if body.get("ha") is False and cluster["ha"]:
            unprocessable("a highly available control plane cannot be turned off")
        cluster["name"] = name
        if "tags" in body:
            cluster["tags"] = _cluster_tags(body, cluster_id)
        if body.get("maintenance_policy") is not None:
            cluster["maintenance_policy"] = _maintenance_policy(
                body["maintenance_policy"], cluster["maintenance_policy"]
            )
        for key in ("auto_upgrade", "surge_upgrade", "ha"):
            if isinstance(body.get(key), bool):
                cluster[key] = body[key]
        _apply_switches(cluster, body)
        cluster["updated_at"] = timestamp_now()
        return self.view(cluster)

    def upgrades(self, cluster_id: str) -> list[str]:
        """What `GET .../upgrades` offers: the newer patches of the cluster's minor; from the
        newest patch of its minor, the next minor's patches (DOKS moves to a new minor only
        from there: terraform-provider-digitalocean#708, "invalid upgrade path"); nothing
        while an upgrade runs."""
        cluster = self.get(cluster_id)
        if cluster_id in self.upgrade_to:
            return []
        current = _version_key(cluster["version"])
        newer = [slug for slug, _ in KUBERNETES_VERSIONS if _version_key(slug) > current]
        same_minor = [slug for slug in newer if _version_key(slug)[:2] == current[:2]]
        if same_minor:
            return same_minor
        return [slug for slug in newer if _version_key(slug)[:2] == (current[0], current[1] + 1)]

    def upgrade_versions(self, cluster_id: str) -> list[JSON]:
        offered = dict(KUBERNETES_VERSIONS)
        return [
            {"slug": slug, "kubernetes_version": offered[slug], "supported_features": _K8S_FEATURES}
            for slug in self.upgrades(cluster_id)
        ]

    def upgrade(self, cluster_id: str, body: JSON) -> None:
        """`POST .../upgrade`: 202, then the cluster answers `upgrading` to its next
        `cluster_upgrading_polls` reads (still reporting the version it runs), then `running`
        the new version. The control plane's own binaries stay what they are."""
        cluster = self.get(cluster_id)
        version = required_str(body, "version")
        if version not in [slug for slug, _ in KUBERNETES_VERSIONS]:
            unprocessable(f"version '{version}' is not offered")
        if version not in self.upgrades(cluster_id):
            unprocessable("invalid upgrade path")
        self.upgrade_to[cluster_id] = version
        self.upgrading.start(cluster_id, self.behaviour.cluster_upgrading_polls)
        if not self.upgrading.pending(cluster_id):
            self._finish_upgrade(cluster)
        cluster["updated_at"] = timestamp_now()

    def _finish_upgrade(self, cluster: JSON) -> None:
        cluster["version"] = self.upgrade_to.pop(cluster["id"])
        cluster["updated_at"] = timestamp_now()

    def set_version(self, cluster: JSON, version: Any) -> JSON:
        """Out of band: DOKS auto-upgraded the patch version."""
        if not isinstance(version, str) or not re.fullmatch(
            r"1\.[0-9]+\.[0-9]+-do\.[0-9]+", version
        ):
            unprocessable(f"version '{version}' is not a DOKS version slug")
        cluster["version"] = version
        return self.view(cluster)

    def delete(self, cluster_id: str) -> None:
        cluster = self.get(cluster_id)
        self.pools.remove_all(cluster)
        view = self.view(cluster)
        view["status"] = {"state": "deleting", "message": "Deleting"}
        del self.by_id[cluster_id]
        self.provisioning.forget(cluster_id)
        self.registry_clusters.discard(cluster_id)
        self.departures.depart("kubernetes", cluster_id, cluster["name"], cluster["vpc_uuid"], view)

    def registry(self, body: JSON, enable: bool) -> None:
        for cluster_id in strings(body.get("cluster_uuids")):
            self.get(cluster_id)
            if enable:
                self.registry_clusters.add(cluster_id)
            else:
                self.registry_clusters.discard(cluster_id)

    def pool(self, cluster_id: str, pool_id: str) -> JSON:
        for pool in self.get(cluster_id)["node_pools"]:
            if pool["id"] == pool_id:
                return pool
        not_found()

    def pool_view(self, cluster_id: str, pool_id: str) -> JSON:
        return copy.deepcopy(self.pool(cluster_id, pool_id))

    def update_pool(self, cluster_id: str, pool_id: str, body: JSON) -> JSON:
        pool = self.pool(cluster_id, pool_id)
        cluster = self.get(cluster_id)
        self.pools.update(cluster, pool, body)
        cluster["updated_at"] = timestamp_now()
        return copy.deepcopy(pool)

    def add_pool(self, cluster_id: str, body: JSON) -> JSON:
        """`POST .../node_pools`: an autoscaling pool without `count` starts at min_nodes."""
        cluster = self.get(cluster_id)
        pool = self.pools.new(cluster, body)
        cluster["node_pools"].append(pool)
        cluster["updated_at"] = timestamp_now()
        return copy.deepcopy(pool)

    def delete_pool(self, cluster_id: str, pool_id: str) -> None:
        """`DELETE .../node_pools/{id}`: 204 at once; the pool's nodes are then drained and
        deleted, and the pool is gone (404) once they are."""
        cluster = self.get(cluster_id)
        pool = self.pool(cluster_id, pool_id)
        if pool_id in self.deleting_pools:
            return
        self.deleting_pools.add(pool_id)

        def gone() -> None:
            cluster["node_pools"] = [p for p in cluster["node_pools"] if p["id"] != pool_id]

        self.pools.drain(cluster, pool, list(pool["nodes"]), then=gone)
        cluster["updated_at"] = timestamp_now()

    def set_node_count(self, cluster_id: str, pool: JSON, count: Any) -> JSON:
        """Out of band: the cluster autoscaler changed the node count."""
        if not isinstance(count, int) or count < 0:
            unprocessable("count must be a whole number")
        self.pools.resize(self.get(cluster_id), pool, count)
        return copy.deepcopy(pool)


class ClusterCredentials:
    """What `doctl kubernetes cluster kubeconfig` gets: the credentials and the kubeconfig."""

    def __init__(
        self, clusters: KubernetesClusters, access: Mapping[str, ClusterAccess], token: str
    ) -> None:
        self.clusters = clusters
        self.access = access
        self.token = token

    def credentials(self, cluster_id: str, expiry_seconds: int) -> JSON:
        cluster = self.clusters.get(cluster_id)
        access = self.access.get(cluster["name"])
        ca = access.ca_pem_base64 if access else base64.b64encode(DUMMY_CA_PEM).decode()
        lifetime = expiry_seconds if expiry_seconds > 0 else 7 * 24 * 3600
        return {
            "server": cluster["endpoint"],
            "certificate_authority_data": ca,
            "client_certificate_data": None,
            "client_key_data": None,
            "token": self.token,
            "expires_at": timestamp(now() + timedelta(seconds=lifetime)),
        }

    def kubeconfig(self, cluster_id: str) -> str:
        cluster = self.clusters.get(cluster_id)
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


def _version_key(slug: str) -> tuple[int, int, int, int]:
    """(1, 36, 3, 0) of `1.36.3-do.0`."""
    found = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)-do\.(\d+)", slug)
    if found is None:
        unprocessable(f"version '{slug}' is not a DOKS version slug")
    major, minor, patch, do = (int(part) for part in found.groups())
    return major, minor, patch, do


def _cluster_tags(body: JSON, cluster_id: str) -> list[str]:
    return unique([*strings(body.get("tags")), "k8s", f"k8s:{cluster_id}"])


def _pool_tags(body: JSON, cluster_id: str) -> list[str]:
    return unique([*strings(body.get("tags")), "k8s", f"k8s:{cluster_id}", "k8s:worker"])


def _apply_switches(cluster: JSON, body: JSON) -> None:
    """The plugin switches and the control-plane firewall the request sets."""
    for key in _CLUSTER_SWITCHES:
        switch = _switch(body.get(key))
        if switch is not None:
            cluster[key] = switch
    firewall = _control_plane_firewall(body.get("control_plane_firewall"))
    if firewall is not None:
        cluster["control_plane_firewall"] = firewall


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
            "allowed_addresses": strings(value.get("allowed_addresses")),
        }
    return None


def _maintenance_policy(value: Any, current: JSON | None) -> JSON:
    policy = dict(current or {"start_time": "00:00", "duration": "4h0m0s", "day": "any"})
    if isinstance(value, dict):
        if value.get("day"):
            day = str(value["day"]).lower()
            if day not in (*WEEKDAYS, "any"):
                unprocessable(f"maintenance_policy.day '{day}' is not a day of the week or any")
            policy["day"] = day
        if value.get("start_time"):
            start = str(value["start_time"])
            if not re.fullmatch(r"([01]?[0-9]|2[0-3]):[0-5][0-9]", start):
                unprocessable(f"maintenance_policy.start_time '{start}' is not HH:MM")
            policy["start_time"] = start
    return policy
