"""Load balancers, as DOKS's cloud controller makes them for a Gateway, and the Droplets behind a
cluster's node pools.

The program never creates either: on DOKS, Cilium turns the Gateway into a Service of type
LoadBalancer, and DigitalOcean's cloud controller manager (CCM) creates the load balancer,
named by the Service's `service.beta.kubernetes.io/do-loadbalancer-name` annotation and tagged
`k8s:<cluster id>`. The suite's Gateway controller (tests/e2e/kube/gateway_controller.py) plays that
part through this API. The account's `load_balancer_limit` refuses one more with a 422.

Droplets are read only: the nodes of every live cluster's pools, tagged as DOKS tags them (the
pool's tags, `k8s`, `k8s:<cluster id>`, `k8s:worker`).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.e2e.digitalocean.standin import reference
from tests.e2e.digitalocean.standin.common import (
    JSON,
    Ids,
    check_region,
    find,
    required_str,
    strings,
    timestamp_now,
    unprocessable,
)
from tests.e2e.digitalocean.standin.kubernetes import KubernetesClusters
from tests.e2e.digitalocean.standin.lifecycle import Behaviour

# DigitalOcean's refusal when the account is at its limit. Its wording is modelled on the
# droplet-limit answer DigitalOcean is seen giving ("creating this/these droplet(s) will exceed
# your droplet limit"); the load-balancer wording itself is not verified here.
LIMIT_MESSAGE = "creating this/these load balancer(s) will exceed your load balancer limit"
_ENTRY_PROTOCOLS = ("http", "https", "http2", "http3", "tcp", "udp")
_TARGET_PROTOCOLS = ("http", "https", "http2", "tcp", "udp")


def _region(slug: str) -> JSON:
    return {
        "name": reference.REGIONS[slug],
        "slug": slug,
        "features": ["private_networking", "backups", "ipv6", "metadata", "storage"],
        "available": True,
        "sizes": list(reference.NODE_SIZES),
    }


class LoadBalancers:
    """The account's load balancers by ID."""

    def __init__(self, ids: Ids, behaviour: Behaviour) -> None:
        self.ids = ids
        self.behaviour = behaviour
        self.by_id: dict[str, JSON] = {}
        self._next_ip = 10

    def create(self, body: JSON) -> JSON:
        name = required_str(body, "name")
        region = required_str(body, "region")
        check_region(region)
        rules = body.get("forwarding_rules")
        if not isinstance(rules, list) or not rules:
            unprocessable("forwarding_rules: at least one forwarding rule is required")
        for rule in rules:
            if not isinstance(rule, dict) or rule.get("entry_protocol") not in _ENTRY_PROTOCOLS:
                unprocessable("forwarding_rules: entry_protocol is not valid")
            if rule.get("target_protocol") not in _TARGET_PROTOCOLS:
                unprocessable("forwarding_rules: target_protocol is not valid")
        limit = self.behaviour.load_balancer_limit
        if limit is not None and len(self.by_id) >= limit:
            unprocessable(LIMIT_MESSAGE)
        balancer_id = self.ids.new("load_balancer", name)
        self._next_ip += 1
        balancer: JSON = {
            "id": balancer_id,
            "name": name,
            "ip": f"203.0.113.{self._next_ip}",
            "type": str(body.get("type") or "REGIONAL_NETWORK"),
            "size_unit": int(body.get("size_unit") or 1),
            "status": "active",
            "created_at": timestamp_now(),
            "forwarding_rules": copy.deepcopy(rules),
            "region": _region(region),
            "vpc_uuid": str(body.get("vpc_uuid") or ""),
            "droplet_ids": [int(i) for i in body.get("droplet_ids") or []],
            "tags": strings(body.get("tags")),
        }
        self.by_id[balancer_id] = balancer
        created = copy.deepcopy(balancer)
        created["status"] = "new"
        return created

    def get(self, balancer_id: str) -> JSON:
        return copy.deepcopy(find(self.by_id, balancer_id))

    def views(self) -> list[JSON]:
        return [copy.deepcopy(b) for b in self.by_id.values()]

    def delete(self, balancer_id: str) -> None:
        find(self.by_id, balancer_id)
        del self.by_id[balancer_id]


class Droplets:
    """The Droplets of the nodes of every live cluster, as `GET /v2/droplets` lists them."""

    def __init__(self, clusters: KubernetesClusters) -> None:
        self.clusters = clusters

    def views(self, tag_name: str | None = None) -> list[JSON]:
        droplets = []
        for cluster in self.clusters.by_id.values():
            for pool in cluster["node_pools"]:
                for node in pool["nodes"]:
                    droplet = _droplet(cluster, pool, node)
                    if tag_name is None or tag_name in droplet["tags"]:
                        droplets.append(droplet)
        return droplets


def _droplet(cluster: JSON, pool: JSON, node: JSON) -> JSON:
    vcpus, memory_gib = reference.NODE_SIZES[pool["size"]]
    size: dict[str, Any] = {
        "slug": pool["size"],
        "memory": memory_gib * 1024,
        "vcpus": vcpus,
        "disk": 80,
        "transfer": 4.0,
        "price_monthly": 0.0,
        "price_hourly": 0.0,
        "regions": [cluster["region"]],
        "available": True,
        "description": "Basic",
    }
    return {
        "id": int(node["droplet_id"]),
        "name": node["name"],
        "memory": size["memory"],
        "vcpus": vcpus,
        "disk": size["disk"],
        "locked": False,
        "status": "active",
        "created_at": node["created_at"],
        "features": ["private_networking"],
        "backup_ids": [],
        "next_backup_window": None,
        "snapshot_ids": [],
        "image": {"id": 1, "name": "DOKS worker", "distribution": "Debian", "public": True},
        "volume_ids": [],
        "size": size,
        "size_slug": pool["size"],
        "networks": {"v4": [], "v6": []},
        "region": _region(cluster["region"]),
        "tags": list(pool["tags"]),
        "vpc_uuid": cluster["vpc_uuid"],
    }
