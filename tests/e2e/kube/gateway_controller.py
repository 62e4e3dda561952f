"""What Cilium's Gateway controller and DigitalOcean's cloud controller do on DOKS, as far as the
program can see: Gateway and HTTPRoute status, and the Gateway's load balancer.

    python -m tests.e2e.kube.gateway_controller --kubeconfig FILE [--address IP]
        [--interval SECONDS] [--digitalocean FILE]

The local control plane has no Gateway controller, no load balancer and no cloud controller.
This loop plays their part for every Gateway of a GatewayClass whose controllerName is Cilium's,
and reports failure where they would:

- The load balancer. With `--digitalocean FILE` (JSON `{"api": URL, "token": T}`, read every
  round, so it may appear after the start), it creates the Gateway's DigitalOcean load balancer
  through the API as the cloud controller does (named by the Gateway's infrastructure annotation
  `service.beta.kubernetes.io/do-loadbalancer-name`, tagged `k8s:<cluster id>`), writes its IP
  as the Gateway's address, and deletes it when the Gateway goes. If DigitalOcean refuses (the
  account's load-balancer limit), the Gateway gets no address and `Programmed=False`
  (`AddressNotAssigned`) carrying DigitalOcean's message. As the cloud controller, it asks
  DigitalOcean only when it has reason to: when the Gateways changed, every `RETRY_SECONDS` while
  one has no address (the cloud controller's back-off starts at 5 s), and otherwise every
  `RESYNC_SECONDS` (`CloudSync`). Asking on every round made Prism and the stand-in the busiest
  processes of an idle environment.
  Without the file, every Gateway gets `--address` (TEST-NET-1 by default, RFC 5737).
- Listeners: `Accepted`; `ResolvedRefs=False` (`InvalidCertificateRef`) and not programmed when
  an HTTPS listener's certificate Secret is missing (or not `kubernetes.io/tls`); otherwise
  programmed. `attachedRoutes` counts the routes accepted on each listener.
- HTTPRoutes: `status.parents[]` for each parentRef to such a Gateway: `Accepted` (False,
  `NoMatchingParent`, when the named listener does not exist; `NotAllowedByListeners` when the
  listener admits routes from its own namespace only), and `ResolvedRefs` (False,
  `BackendNotFound`, when a backend Service or its port does not exist).

It writes through the `status` subresources, as `kubectl patch --subresource=status` does, and
only when something changed. It talks to the API server directly (the kubeconfig's server, CA
and bearer token): a few list calls every `--interval` seconds (default 1).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import signal
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

CILIUM_CONTROLLER = "io.cilium/gateway-controller"
GATEWAY_API = "/apis/gateway.networking.k8s.io/v1"
DEFAULT_ADDRESS = "192.0.2.10"  # TEST-NET-1 (RFC 5737): documentation only, never routed
LOAD_BALANCER_NAME = "service.beta.kubernetes.io/do-loadbalancer-name"
TLS_SECRET_TYPE = "kubernetes.io/tls"
RETRY_SECONDS = 5.0  # a Gateway without an address: DigitalOcean asked again this often
RESYNC_SECONDS = 30.0  # otherwise

JSONObject = dict[str, Any]


class ApiServer:
    """The API server, over one kept-alive HTTPS connection (a new TLS handshake for each of the
    few calls of every round made this loop and its API server busy in an idle environment)."""

    def __init__(self, server: str, token: str, context: ssl.SSLContext) -> None:
        self.server = server
        self.token = token
        self.context = context
        self._connection: http.client.HTTPSConnection | None = None

    @classmethod
    def from_kubeconfig(cls, path: Path) -> ApiServer:
        config = yaml.safe_load(path.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        return cls(server=cluster["server"], token=user["token"], context=context)

    def _connect(self) -> http.client.HTTPSConnection:
        if self._connection is None:
            url = urllib.parse.urlsplit(self.server)
            self._connection = http.client.HTTPSConnection(
                url.hostname or "127.0.0.1", url.port, context=self.context, timeout=10
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(self, method: str, path: str, body: JSONObject | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/merge-patch+json"
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                # The server closed the kept-alive connection (or restarted): once more, anew.
                self.close()
                if attempt == 2:
                    raise
        if response.status >= 400:
            raise urllib.error.HTTPError(
                self.server + path, response.status, response.reason, response.headers, None
            )
        return json.loads(payload)

    def items(self, path: str) -> list[JSONObject]:
        return list(self.request("GET", path)["items"])


# -- the cloud controller's part: the load balancer ----------------------------------------------


@dataclass(frozen=True)
class Address:
    """A Gateway's load-balancer address, or why there is none."""

    ip: str = ""
    problem: str = ""


@dataclass
class CloudSync:
    """What the cloud controller last learnt from DigitalOcean, and when."""

    gateways: frozenset[str] | None = None  # the load balancers' names wanted then
    addresses: dict[str, Address] = field(default_factory=dict)
    asked_at: float = 0.0

    def due(self, gateways: frozenset[str], now: float) -> bool:
        if gateways != self.gateways:
            return True
        waiting = any(not address.ip for address in self.addresses.values())
        return now - self.asked_at >= (RETRY_SECONDS if waiting else RESYNC_SECONDS)


class DigitalOceanLoadBalancers:
    """The Gateways' load balancers in DigitalOcean's API, as DOKS's cloud controller keeps them."""

    def __init__(self, api: str, token: str, cluster_server: str) -> None:
        self.api = api.rstrip("/")
        self.token = token
        self.cluster_server = cluster_server

    def _call(self, method: str, path: str, body: JSONObject | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.api + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("User-Agent", "digitalocean-cloud-controller-manager (e2e stand-in)")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            text, status = error.read(), error.code
        return status, (json.loads(text) if text[:1] in (b"{", b"[") else None)

    def cluster(self) -> JSONObject | None:
        """The DOKS cluster whose API server is this control plane."""
        status, body = self._call("GET", "/v2/kubernetes/clusters")
        if status != 200:
            return None
        for cluster in body.get("kubernetes_clusters") or []:
            if cluster.get("endpoint") == self.cluster_server:
                return dict(cluster)
        return None

    def by_name(self) -> dict[str, JSONObject]:
        status, body = self._call("GET", "/v2/load_balancers")
        if status != 200:
            raise OSError(f"listing load balancers: {status} {body!r}")
        return {lb["name"]: lb for lb in body.get("load_balancers") or []}

    def ensure(self, name: str, existing: dict[str, JSONObject]) -> Address:
        if name in existing:
            return Address(ip=str(existing[name].get("ip") or ""))
        cluster = self.cluster()
        if cluster is None:
            return Address(problem="the cluster is not known to DigitalOcean yet")
        droplets = [
            int(node["droplet_id"])
            for pool in cluster.get("node_pools") or []
            for node in pool.get("nodes") or []
        ]
        request = {
            "name": name,
            "region": cluster["region"],
            "vpc_uuid": cluster["vpc_uuid"],
            "type": "REGIONAL_NETWORK",
            "droplet_ids": droplets,
            "forwarding_rules": [
                {"entry_protocol": "tcp", "entry_port": port, "target_protocol": "tcp",
                 "target_port": 30000 + port}
                for port in (80, 443)
            ],
            "tags": [f"k8s:{cluster['id']}"],
        }  # fmt: skip
        status, body = self._call("POST", "/v2/load_balancers", request)
        if status >= 300:
            message = (body or {}).get("message", "") if isinstance(body, dict) else ""
            return Address(
                problem=(
                    "Error syncing load balancer: failed to ensure load balancer: POST"
                    f" {self.api}/v2/load_balancers: {status} {message}"
                )
            )
        return Address(ip=str(body["load_balancer"].get("ip") or ""))

    def delete(self, balancer: JSONObject) -> None:
        self._call("DELETE", f"/v2/load_balancers/{balancer['id']}")


def load_balancer_name(gateway: JSONObject) -> str:
    infrastructure = gateway["spec"].get("infrastructure") or {}
    annotations = infrastructure.get("annotations") or {}
    return str(annotations.get(LOAD_BALANCER_NAME) or f"a{gateway['metadata']['uid']}")


# -- Cilium's part: the status of Gateways and HTTPRoutes -----------------------------------------


def _condition(
    kind: str, status: bool, reason: str, generation: int, now: str, message: str
) -> JSONObject:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now,
    }


def _refers_to(parent: JSONObject, gateway: JSONObject, route_namespace: str) -> bool:
    meta = gateway["metadata"]
    return (
        parent.get("group", "gateway.networking.k8s.io") == "gateway.networking.k8s.io"
        and parent.get("kind", "Gateway") == "Gateway"
        and parent.get("name") == meta["name"]
        and parent.get("namespace", route_namespace) == meta["namespace"]
    )


def _listener_admits(listener: JSONObject, gateway: JSONObject, route_namespace: str) -> bool:
    allowed = (listener.get("allowedRoutes") or {}).get("namespaces") or {}
    if allowed.get("from", "Same") == "All":
        return True
    return bool(route_namespace == gateway["metadata"]["namespace"])


def route_parent_status(
    route: JSONObject, gateway: JSONObject, services: dict[tuple[str, str], JSONObject], now: str
) -> list[JSONObject]:
    """The route's `status.parents` entries for each of its parentRefs to `gateway`."""
    namespace = route["metadata"]["namespace"]
    generation = int(route["metadata"].get("generation", 1))
    listeners = {item["name"]: item for item in gateway["spec"].get("listeners", [])}
    missing = []
    for rule in route.get("spec", {}).get("rules", []):
        for backend in rule.get("backendRefs", []):
            if backend.get("kind", "Service") != "Service":
                continue
            key = (backend.get("namespace", namespace), backend["name"])
            service = services.get(key)
            ports = {p.get("port") for p in (service or {}).get("spec", {}).get("ports", [])}
            if service is None:
                missing.append(f"Service {key[0]}/{key[1]} not found")
            elif backend.get("port") not in ports:
                missing.append(f"Service {key[0]}/{key[1]} has no port {backend.get('port')}")
    entries = []
    for parent in route.get("spec", {}).get("parentRefs", []):
        if not _refers_to(parent, gateway, namespace):
            continue
        section = parent.get("sectionName")
        candidates = [listeners[section]] if section in listeners else []
        if section is None:
            candidates = list(listeners.values())
        if not candidates:
            accepted = _condition(
                "Accepted", False, "NoMatchingParent", generation, now,
                f"no listener named {section!r} on the Gateway",
            )  # fmt: skip
        elif not any(_listener_admits(item, gateway, namespace) for item in candidates):
            accepted = _condition(
                "Accepted", False, "NotAllowedByListeners", generation, now,
                "the listener does not admit routes from this namespace",
            )  # fmt: skip
        else:
            accepted = _condition(
                "Accepted", True, "Accepted", generation, now, "Accepted HTTPRoute"
            )
        if missing:
            resolved = _condition(
                "ResolvedRefs", False, "BackendNotFound", generation, now, "; ".join(missing)
            )
        else:
            resolved = _condition(
                "ResolvedRefs", True, "ResolvedRefs", generation, now, "Service reference is valid"
            )
        entries.append(
            {
                "parentRef": parent,
                "controllerName": CILIUM_CONTROLLER,
                "conditions": [accepted, resolved],
            }
        )
    return entries


def _accepted_on(route: JSONObject, gateway: JSONObject, listener: str) -> bool:
    """Whether the route is accepted on `listener` of `gateway`."""
    namespace = route["metadata"]["namespace"]
    for parent in route.get("spec", {}).get("parentRefs", []):
        if not _refers_to(parent, gateway, namespace):
            continue
        if parent.get("sectionName", listener) != listener:
            continue
        listeners = {item["name"]: item for item in gateway["spec"].get("listeners", [])}
        if listener in listeners and _listener_admits(listeners[listener], gateway, namespace):
            return True
    return False


def listener_status(
    gateway: JSONObject,
    listener: JSONObject,
    routes: list[JSONObject],
    secrets: dict[tuple[str, str], JSONObject],
    now: str,
) -> JSONObject:
    meta = gateway["metadata"]
    generation = int(meta.get("generation", 1))
    problems = []
    if listener.get("protocol") == "HTTPS":
        for ref in _certificate_refs(listener):
            key = (ref.get("namespace", meta["namespace"]), ref["name"])
            secret = secrets.get(key)
            if secret is None:
                problems.append(f"Secret {key[0]}/{key[1]} does not exist")
            elif secret.get("type") != TLS_SECRET_TYPE:
                problems.append(f"Secret {key[0]}/{key[1]} is not of type {TLS_SECRET_TYPE}")
    if problems:
        resolved = _condition(
            "ResolvedRefs", False, "InvalidCertificateRef", generation, now, "; ".join(problems)
        )
        programmed = _condition(
            "Programmed", False, "Invalid", generation, now, "Listener has invalid references"
        )
    else:
        resolved = _condition(
            "ResolvedRefs", True, "ResolvedRefs", generation, now, "Resolved Refs"
        )
        programmed = _condition(
            "Programmed", True, "Programmed", generation, now, "Listener programmed"
        )
    return {
        "name": listener["name"],
        "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
        "attachedRoutes": sum(
            1 for route in routes if _accepted_on(route, gateway, listener["name"])
        ),
        "conditions": [
            _condition("Accepted", True, "Accepted", generation, now, "Listener accepted"),
            programmed,
            resolved,
        ],
    }


def desired_status(
    gateway: JSONObject,
    routes: list[JSONObject],
    address: Address,
    now: str,
    secrets: dict[tuple[str, str], JSONObject] | None = None,
) -> JSONObject:
    generation = int(gateway["metadata"].get("generation", 1))
    listeners = [
        listener_status(gateway, listener, routes, secrets or {}, now)
        for listener in gateway["spec"].get("listeners", [])
    ]
    if address.ip:
        programmed = _condition(
            "Programmed", True, "Programmed", generation, now, "Gateway successfully reconciled"
        )
    else:
        programmed = _condition(
            "Programmed", False, "AddressNotAssigned", generation, now,
            f"Waiting for the load balancer address: {address.problem}",
        )  # fmt: skip
    status: JSONObject = {
        "conditions": [
            _condition(
                "Accepted", True, "Accepted", generation, now, "Gateway successfully scheduled"
            ),
            programmed,
        ],
        "listeners": listeners,
    }
    status["addresses"] = [{"type": "IPAddress", "value": address.ip}] if address.ip else []
    return status


def _comparable(status: Any) -> Any:
    """A status without its timestamps, to tell whether anything changed."""
    if isinstance(status, dict):
        return {k: _comparable(v) for k, v in status.items() if k != "lastTransitionTime"}
    if isinstance(status, list):
        return [_comparable(v) for v in status]
    return status


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _certificate_refs(listener: JSONObject) -> list[JSONObject]:
    return list((listener.get("tls") or {}).get("certificateRefs") or [])


def _patch_status(api: ApiServer, path: str, status: JSONObject) -> bool:
    try:
        api.request("PATCH", path, {"status": status})
    except urllib.error.HTTPError as error:
        if error.code in (404, 409):  # deleted or changed meanwhile: next round
            return False
        raise
    return True


def reconcile_once(
    api: ApiServer,
    address: str,
    balancers: DigitalOceanLoadBalancers | None = None,
    sync: CloudSync | None = None,
) -> int:
    """One round: load balancers (from DigitalOcean when `sync` says it is due, or always
    without one), then the status of every Cilium Gateway and of the routes attached to them,
    written where it is not yet what it should be."""
    classes = api.items(f"{GATEWAY_API}/gatewayclasses")
    cilium_classes = {
        c["metadata"]["name"] for c in classes if c["spec"]["controllerName"] == CILIUM_CONTROLLER
    }
    gateways = [
        g
        for g in api.items(f"{GATEWAY_API}/gateways")
        if g["spec"].get("gatewayClassName") in cilium_classes
    ]
    live = [g for g in gateways if not g["metadata"].get("deletionTimestamp")]
    wanted = frozenset(load_balancer_name(g) for g in live)
    addresses: dict[str, Address] = {}
    if balancers is not None:
        asked_at = time.monotonic()
        if sync is None or sync.due(wanted, asked_at):
            addresses = sync_load_balancers(balancers, wanted)
            if sync is not None:
                sync.gateways, sync.addresses, sync.asked_at = wanted, addresses, asked_at
        else:
            addresses = sync.addresses
    if not live:
        return 0
    routes = api.items(f"{GATEWAY_API}/httproutes")
    services = {
        (s["metadata"]["namespace"], s["metadata"]["name"]): s
        for s in api.items("/api/v1/services")
    }
    # Secrets only when a listener refers to a certificate (TLS on): listing every Secret of the
    # cluster each second is the API server's most expensive call here.
    listeners = [listener for g in live for listener in g["spec"].get("listeners") or []]
    secrets = (
        {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s
            for s in api.items("/api/v1/secrets")
        }
        if any(_certificate_refs(listener) for listener in listeners)
        else {}
    )
    now = _now()
    written = 0
    for gateway in live:
        meta = gateway["metadata"]
        found = addresses[load_balancer_name(gateway)] if balancers else Address(ip=address)
        want = desired_status(gateway, routes, found, now, secrets)
        have = gateway.get("status") or {}
        if _comparable({k: have.get(k) for k in want}) != _comparable(want):
            path = f"{GATEWAY_API}/namespaces/{meta['namespace']}/gateways/{meta['name']}/status"
            if _patch_status(api, path, want):
                state = "programmed" if found.ip else f"not programmed ({found.problem})"
                print(f"{now} gateway {meta['namespace']}/{meta['name']}: {state}", flush=True)
                written += 1
        for route in routes:
            parents = route_parent_status(route, gateway, services, now)
            if not parents:
                continue
            others = [
                p
                for p in (route.get("status") or {}).get("parents", [])
                if not _refers_to(p.get("parentRef", {}), gateway, route["metadata"]["namespace"])
            ]
            want_route = {"parents": others + parents}
            if _comparable(route.get("status") or {}) != _comparable(want_route):
                rmeta = route["metadata"]
                path = (
                    f"{GATEWAY_API}/namespaces/{rmeta['namespace']}/httproutes/{rmeta['name']}"
                    "/status"
                )
                if _patch_status(api, path, want_route):
                    written += 1
    return written


def sync_load_balancers(
    balancers: DigitalOceanLoadBalancers, wanted: frozenset[str]
) -> dict[str, Address]:
    """The cloud controller's sync: the load balancer of each wanted name (made if missing), and
    those of this cluster whose Gateway (Service) is gone deleted."""
    existing = balancers.by_name()
    cluster = balancers.cluster()
    tag = f"k8s:{cluster['id']}" if cluster else None
    for name, balancer in existing.items():
        if tag in (balancer.get("tags") or []) and name not in wanted:
            balancers.delete(balancer)
    return {name: balancers.ensure(name, existing) for name in sorted(wanted)}


def load_digitalocean(path: Path | None, cluster_server: str) -> DigitalOceanLoadBalancers | None:
    if path is None or not path.exists():
        return None
    settings = json.loads(path.read_text())
    return DigitalOceanLoadBalancers(settings["api"], settings["token"], cluster_server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--address", default=DEFAULT_ADDRESS)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--digitalocean", type=Path, help="JSON {api, token}: act as the CCM")
    args = parser.parse_args(argv)
    api = ApiServer.from_kubeconfig(args.kubeconfig)

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"gateway controller: polling every {args.interval} s", flush=True)
    sync = CloudSync()
    while not stopping:
        try:
            balancers = load_digitalocean(args.digitalocean, api.server)
            reconcile_once(api, args.address, balancers, sync)
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            OSError,
            KeyError,
            ValueError,
        ) as error:
            print(f"gateway controller: {error!r}", file=sys.stderr, flush=True)
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
