"""The nodes of a DOKS cluster's pools, in the cluster the stand-in hands out (the local control
plane): what DOKS does in the cluster when a pool is created, resized or deleted.

- A new node is a kwok Node (kwok keeps it Ready and runs its pods' lifecycle), labelled as DOKS
  labels its nodes (`doks.digitalocean.com/node-pool`, `-node-pool-id`, `-node-id`, `-version`,
  the instance type and region, and the pool's own labels), with the capacity and allocatable
  of its size that the control plane's harness gives for this cluster (the `--clusters` file).
- A node that goes (its pool deleted or shrunk) is drained as DigitalOcean documents it
  ("Nodes in the pool will subsequently be drained and deleted", DELETE node_pools in its
  OpenAPI description; `doctl ... delete-node`: "Kubernetes drains the node of any pods before
  deleting it"): cordoned, then each pod not of a DaemonSet evicted through the Eviction API,
  which refuses an eviction that a PodDisruptionBudget does not allow; refused evictions are
  tried again every second. How long DOKS keeps honouring a budget is not published (no
  DigitalOcean page or issue found states it); the stand-in gives up after
  `Behaviour.pool_drain_seconds` and deletes what is left, as a drain with a time limit would.
  Then the Node is deleted.

Every request goes to the API server with the stack's token (a `system:masters` bearer token
there, as DOKS accepts DigitalOcean's token), checked against the cluster's CA.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"  # as tests/e2e/kube/daemons.py has it
MAX_PODS = "110"


@dataclass(frozen=True)
class NodeShape:
    """What a node of one size offers in this cluster (its kubelet's capacity, allocatable)."""

    capacity: JSON
    allocatable: JSON


@dataclass
class DrainRecord:
    """What one node's drain did: for the tests, through the stand-in's state."""

    node: str
    pool: str
    started: float
    evicted: list[str] = field(default_factory=list)
    refused: int = 0  # evictions a PodDisruptionBudget refused (429), tried again
    forced: list[str] = field(default_factory=list)  # deleted when the time limit was reached
    finished: float | None = None

    def describe(self) -> JSON:
        return {
            "node": self.node,
            "pool": self.pool,
            "started": self.started,
            "evicted": list(self.evicted),
            "refused": self.refused,
            "forced": list(self.forced),
            "finished": self.finished,
        }


class KubeApi:
    """The cluster's API server, reached with a bearer token and checked against its CA."""

    def __init__(self, endpoint: str, ca_pem_base64: str, token: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.context = ssl.create_default_context(cadata=base64.b64decode(ca_pem_base64).decode())

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.endpoint + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                text = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        return status, (json.loads(text) if text[:1] == b"{" else None)


class PoolNodes:
    """Creates, finds Ready and drains the Nodes of one cluster's pools."""

    def __init__(self, api: KubeApi, shapes: dict[str, NodeShape]) -> None:
        self.api = api
        self.shapes = shapes

    def create(self, cluster: JSON, pool: JSON, node: JSON) -> None:
        shape = self.shapes.get(pool["size"])
        if shape is None:
            raise RuntimeError(f"no node shape for {pool['size']} in this cluster")
        name = node["name"]
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux",
            "kubernetes.io/hostname": name,
            "node.kubernetes.io/instance-type": pool["size"],
            "beta.kubernetes.io/instance-type": pool["size"],
            "doks.digitalocean.com/managed": "true",
            "doks.digitalocean.com/node-pool": pool["name"],
            "doks.digitalocean.com/node-pool-id": pool["id"],
            "doks.digitalocean.com/node-id": node["id"],
            "doks.digitalocean.com/version": cluster["version"],
            "topology.kubernetes.io/region": cluster["region"],
            "failure-domain.beta.kubernetes.io/region": cluster["region"],
            "region": cluster["region"],
            "type": "kwok",
            **(pool.get("labels") or {}),
        }
        manifest = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            },
            "spec": {"providerID": f"digitalocean://{node['droplet_id']}"},
            "status": {"capacity": shape.capacity, "allocatable": shape.allocatable},
        }
        status, body = self.api.call("POST", "/api/v1/nodes", manifest)
        if status not in (200, 201, 409):
            raise RuntimeError(f"creating node {name}: {status} {body!r}")

    def delete(self, name: str) -> None:
        self.api.call("DELETE", f"/api/v1/nodes/{name}")

    def ready(self, name: str) -> bool:
        status, body = self.api.call("GET", f"/api/v1/nodes/{name}")
        if status != 200 or not isinstance(body, dict):
            return False
        conditions = (body.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def drain(self, name: str, record: DrainRecord, time_limit: float) -> None:
        """Cordon, evict what is not a DaemonSet's (again while a budget refuses), delete the
        rest at the time limit, then delete the Node."""
        self.api.call(
            "PATCH",
            f"/api/v1/nodes/{name}",
            {"spec": {"unschedulable": True}},
            "application/strategic-merge-patch+json",
        )
        deadline = time.monotonic() + time_limit
        while True:
            movable = self._movable_pods(name)
            if not movable:
                break
            if time.monotonic() >= deadline:
                for namespace, pod in movable:
                    self.api.call(
                        "DELETE",
                        f"/api/v1/namespaces/{namespace}/pods/{pod}?gracePeriodSeconds=0",
                    )
                    record.forced.append(f"{namespace}/{pod}")
                break
            for namespace, pod in movable:
                eviction = {
                    "apiVersion": "policy/v1",
                    "kind": "Eviction",
                    "metadata": {"name": pod, "namespace": namespace},
                }
                status, _ = self.api.call(
                    "POST", f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction", eviction
                )
                if status in (200, 201):
                    record.evicted.append(f"{namespace}/{pod}")
                elif status == 429:
                    record.refused += 1
            time.sleep(1)
        self.api.call("DELETE", f"/api/v1/nodes/{name}")

    def _movable_pods(self, node: str) -> list[tuple[str, str]]:
        selector = urllib.parse.quote(f"spec.nodeName={node}")
        status, body = self.api.call("GET", f"/api/v1/pods?fieldSelector={selector}")
        if status != 200 or not isinstance(body, dict):
            return []
        found = []
        for pod in body.get("items") or []:
            meta = pod["metadata"]
            owners = meta.get("ownerReferences") or []
            if any(o.get("kind") == "DaemonSet" for o in owners):
                continue
            if meta.get("deletionTimestamp"):
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            found.append((meta["namespace"], meta["name"]))
        return found
