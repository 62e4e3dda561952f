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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from model import catalog
from tests.e2e.standin.common import (
    DUMMY_CA_PEM,
    JSON,
    REGIONS,
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
from tests.e2e.standin.vpcs import Vpcs

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
    """Where the DOKS cluster of a given name really is: its API server and CA."""

    endpoint: str
    ca_pem_base64: str


class NodePools:
    """A cluster's node pools: made with the cluster, resized, updated; their nodes."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self._next_droplet_id = 510000000

    def new(self, cluster_id: str, spec: Any) -> JSON:
        if not isinstance(spec, dict):
            unprocessable("node_pools: each node pool must be an object")
        name = required_str(spec, "name")
        size = required_str(spec, "size")
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
        self.resize(pool, count)
        return pool

    def resize(self, pool: JSON, count: int) -> None:
        nodes: list[JSON] = pool["nodes"][:count]
        while len(nodes) < count:
            index = len(nodes)
            moment = timestamp_now()
            suffix = hashlib.sha256(f"{pool['id']}/{index}".encode()).hexdigest()[:5]
            self._next_droplet_id += 1
            nodes.append(
                {
                    "id": stable_id(f"node/{pool['id']}/{index}"),
                    "name": f"{pool['name']}-{suffix}",
                    "status": {"state": "running"},
                    "droplet_id": str(self._next_droplet_id),
                    "created_at": moment,
                    "updated_at": moment,
                }
            )
        pool["nodes"] = nodes
        pool["count"] = count

    def update(self, cluster_id: str, pool: JSON, body: JSON) -> None:
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
            pool["tags"] = _pool_tags(body, cluster_id)
        if "labels" in body:
            pool["labels"] = body["labels"] or None
        if body.get("taints") is not None:
            pool["taints"] = list(body["taints"])
        self.resize(pool, count)


class KubernetesClusters:
    """The account's DOKS clusters by ID, and which of them have registry integration."""

    def __init__(self, ids: Ids, vpcs: Vpcs, access: Mapping[str, ClusterAccess]) -> None:
        self.ids = ids
        self.vpcs = vpcs
        self.access = access
        self.pools = NodePools(ids)
        self.by_id: dict[str, JSON] = {}
        self.registry_clusters: set[str] = set()

    def options(self) -> JSON:
        return {
            "options": {
                "regions": [{"name": n, "slug": s} for s, n in REGIONS.items()],
                "versions": [
                    {"slug": slug, "kubernetes_version": kv, "supported_features": _K8S_FEATURES}
                    for slug, kv in KUBERNETES_VERSIONS
                ],
                "sizes": [{"name": slug, "slug": slug} for slug in catalog.NODE_SIZES],
            }
        }

    def get(self, cluster_id: str) -> JSON:
        return find(self.by_id, cluster_id)

    def view(self, cluster: JSON) -> JSON:
        view = copy.deepcopy(cluster)
        view["registry_enabled"] = cluster["id"] in self.registry_clusters
        return view

    def views(self) -> list[JSON]:
        return [self.view(c) for c in self.by_id.values()]

    def names_in_vpc(self, vpc_id: str) -> list[str]:
        return [c["name"] for c in self.by_id.values() if c["vpc_uuid"] == vpc_id]

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
        if any(c["name"] == name for c in self.by_id.values()):
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
        cluster["node_pools"] = [self.pools.new(cluster_id, pool) for pool in pools]
        self.by_id[cluster_id] = cluster
        created = self.view(cluster)
        created["status"] = {"state": "provisioning", "message": "Provisioning"}
        return created

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

    def upgrade(self, cluster_id: str, body: JSON) -> None:
        cluster = self.get(cluster_id)
        version = required_str(body, "version")
        if version not in [slug for slug, _ in KUBERNETES_VERSIONS]:
            unprocessable(f"version '{version}' is not offered")
        cluster["version"] = version
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
        self.get(cluster_id)
        del self.by_id[cluster_id]
        self.registry_clusters.discard(cluster_id)

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

    def update_pool(self, cluster_id: str, pool_id: str, body: JSON) -> JSON:
        pool = self.pool(cluster_id, pool_id)
        self.pools.update(cluster_id, pool, body)
        self.get(cluster_id)["updated_at"] = timestamp_now()
        return pool

    def set_node_count(self, pool: JSON, count: Any) -> JSON:
        """Out of band: the cluster autoscaler changed the node count."""
        if not isinstance(count, int) or count < 0:
            unprocessable("count must be a whole number")
        self.pools.resize(pool, count)
        return pool


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
