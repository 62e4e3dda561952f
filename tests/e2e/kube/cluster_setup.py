"""What the cluster holds before the program deploys: the Gateway API and Cilium CRDs, a
`cilium` GatewayClass accepted as Cilium accepts it, DOKS's kube-system workloads with their
requests, and kwok nodes sized and labelled as DOKS's."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model import catalog
from tests.assets import gateway_api_crds_dir
from tests.crds import gateway_api_crds, load_crds, resource
from tests.e2e.kube.daemons import KWOK_NODE_ANNOTATION
from tests.e2e.kube.gateway_controller import CILIUM_CONTROLLER
from tests.e2e.kube.kubectl import ControlPlaneError, Kubectl, until

GATEWAY_API_CRDS = gateway_api_crds_dir()  # ../shared's, or the pinned ones fetched
DOKS_VERSION_LABEL = "1.36.3-do.0"


@dataclass(frozen=True)
class _PoolSpec:
    """What the nodes of one `add_nodes` call share."""

    name: str
    labels: dict[str, str]  # the pool's own, which DOKS puts on its nodes
    id: str
    node_size: str
    size: catalog.NodeSize
    allocatable: catalog.NodeAllocatable


class ClusterSetup:
    """Installs into the running control plane through `kubectl`."""

    def __init__(self, kubectl: Kubectl, kube_dir: Path, region: str) -> None:
        self.kubectl = kubectl
        self.kube_dir = kube_dir  # its crds/ holds Cilium's CRDs
        self.region = region
        self._nodes_added = 0

    def install_crds_and_gateway_class(self) -> None:
        try:
            crds = gateway_api_crds(GATEWAY_API_CRDS)
        except FileNotFoundError as missing:
            raise ControlPlaneError(str(missing)) from None
        cilium = load_crds(self.kube_dir / "crds")
        if not cilium:
            raise ControlPlaneError(f"no Cilium CRDs in {self.kube_dir / 'crds'}")
        crds += cilium
        self.kubectl.create({"apiVersion": "v1", "kind": "List", "items": crds})

        resources = ",".join(resource(crd) for crd in crds)

        def established() -> bool:
            # Listing every new kind succeeds once all are established (and served).
            done = self.kubectl("get", resources, "--all-namespaces", "-o", "name", check=False)
            return done.returncode == 0

        until("the CRDs are established", established, timeout=60)
        self.kubectl.create(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "GatewayClass",
                "metadata": {"name": "cilium"},
                "spec": {"controllerName": CILIUM_CONTROLLER},
            }
        )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status = {
            "status": {
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "True",
                        "reason": "Accepted",
                        "message": "Valid GatewayClass",
                        "observedGeneration": 1,
                        "lastTransitionTime": now,
                    }
                ]
            }
        }
        self.kubectl(
            "patch",
            "gatewayclass",
            "cilium",
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
        )

    def install_system_workloads(self) -> None:
        """DOKS's kube-system workloads, with their requests, so the scheduler counts them."""
        manifests = [_system_workload(pod) for pod in catalog.DOKS_SYSTEM_PODS]
        self.kubectl.create({"apiVersion": "v1", "kind": "List", "items": manifests})

    def add_nodes(
        self,
        node_size: str,
        count: int,
        pool: str,
        timeout: float,
        labels: dict[str, str] | None = None,
    ) -> list[str]:
        """`count` DOKS-like nodes of `node_size`, Ready, with DOKS's system pods running."""
        spec = _PoolSpec(
            name=pool,
            labels=dict(labels or {}),
            id=str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{pool}.posts-e2e")),
            node_size=node_size,
            size=catalog.NODE_SIZES[node_size],
            allocatable=catalog.NODE_ALLOCATABLE[node_size],
        )
        names = []
        nodes = []
        for _ in range(count):
            self._nodes_added += 1
            name = f"{pool}-{self._nodes_added:05d}"
            names.append(name)
            nodes.append(self._node(name, self._nodes_added, spec))
        self.kubectl.create({"apiVersion": "v1", "kind": "List", "items": nodes})

        def ready() -> bool:
            items = self.kubectl.json("get", "nodes")["items"]
            ready_nodes = {
                node["metadata"]["name"]
                for node in items
                for condition in node.get("status", {}).get("conditions", [])
                if condition["type"] == "Ready" and condition["status"] == "True"
            }
            return set(names) <= ready_nodes

        until(f"nodes {', '.join(names)} Ready", ready, timeout)
        self.wait_for_system_pods(timeout)
        return names

    def _node(self, name: str, number: int, pool: _PoolSpec) -> dict[str, Any]:
        """Node `number` (of all added), kwok's; labelled, sized and allocatable as DOKS's."""
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {
                    KWOK_NODE_ANNOTATION: "fake",
                    "node.alpha.kubernetes.io/ttl": "0",
                },
                "labels": {
                    "beta.kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/hostname": name,
                    "node.kubernetes.io/instance-type": pool.node_size,
                    "beta.kubernetes.io/instance-type": pool.node_size,
                    "doks.digitalocean.com/managed": "true",
                    "doks.digitalocean.com/node-pool": pool.name,
                    "doks.digitalocean.com/node-pool-id": pool.id,
                    "doks.digitalocean.com/node-id": str(uuid.uuid4()),
                    "doks.digitalocean.com/version": DOKS_VERSION_LABEL,
                    "topology.kubernetes.io/region": self.region,
                    "failure-domain.beta.kubernetes.io/region": self.region,
                    "region": self.region,
                    "type": "kwok",
                    **pool.labels,
                },
            },
            "spec": {"providerID": f"digitalocean://{400000000 + number}"},
            "status": node_shape(pool.node_size),
        }

    def wait_for_system_pods(self, timeout: float) -> None:
        """Every DOKS system workload has all its pods scheduled and Ready on every node."""
        until("DOKS's system pods Ready", lambda: not self._system_pods_not_ready(), timeout)

    def _system_pods_not_ready(self) -> list[str]:
        nodes = len(self.kubectl.json("get", "nodes")["items"])
        pending = []
        for kind in ("daemonsets", "deployments"):
            items = self.kubectl.json("get", kind, "-n", "kube-system")["items"]
            for item in items:
                status = item.get("status", {})
                if kind == "daemonsets":
                    want = nodes
                    ok = status.get("desiredNumberScheduled") == want
                    ok = ok and status.get("numberReady") == want
                else:
                    want = item["spec"].get("replicas", 1)
                    ok = status.get("readyReplicas", 0) == want
                if not ok:
                    pending.append(f"{kind}/{item['metadata']['name']}")
        return pending


def node_shape(node_size: str) -> dict[str, Any]:
    """A DOKS node of the size as its kubelet reports it: capacity, and DOKS's allocatable
    (model/catalog.py, dated and sourced)."""
    size, allocatable = catalog.NODE_SIZES[node_size], catalog.NODE_ALLOCATABLE[node_size]
    return {
        "capacity": {
            "cpu": str(size.vcpus),
            "memory": f"{int(size.memory_gib * 1024)}Mi",
            "pods": str(catalog.MAX_PODS_PER_NODE),
        },
        "allocatable": {
            "cpu": f"{allocatable.cpu_millicores}m",
            "memory": f"{allocatable.memory_mib}Mi",
            "pods": str(catalog.MAX_PODS_PER_NODE),
        },
    }


def node_shapes() -> dict[str, dict[str, Any]]:
    """Every size DOKS takes, as `node_shape` gives it: what the DigitalOcean stand-in's nodes
    of this cluster look like."""
    return {slug: node_shape(slug) for slug in catalog.NODE_SIZES}


def _system_workload(pod: catalog.SystemPod) -> dict[str, Any]:
    labels = {"k8s-app": pod.name, "doks.digitalocean.com/managed": "true"}
    requests: dict[str, str] = {}
    if pod.cpu_millicores:
        requests["cpu"] = f"{pod.cpu_millicores}m"
    if pod.memory_mib:
        requests["memory"] = f"{pod.memory_mib}Mi"
    container: dict[str, Any] = {
        "name": pod.name,
        "image": f"registry.digitalocean.com/doks-e2e/{pod.name}:fake",
    }
    if requests:
        container["resources"] = {"requests": requests}
    daemon = pod.kind == "DaemonSet"
    template_spec: dict[str, Any] = {
        "containers": [container],
        "priorityClassName": "system-node-critical" if daemon else "system-cluster-critical",
        "automountServiceAccountToken": False,
    }
    if daemon:
        template_spec["tolerations"] = [{"operator": "Exists"}]
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"k8s-app": pod.name}},
        "template": {"metadata": {"labels": labels}, "spec": template_spec},
    }
    if not daemon:
        spec["replicas"] = pod.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": pod.kind,
        "metadata": {
            "name": pod.name,
            "namespace": "kube-system",
            "labels": labels,
            "annotations": {"posts-e2e/basis": pod.basis[:1000]},
        },
        "spec": spec,
    }
