"""What Cilium's Gateway controller does on DOKS, as far as the program can see: Gateway status.

    python -m tests.e2e.gateway_status --kubeconfig FILE [--address IP] [--interval SECONDS]

The local control plane has no Gateway controller and no load balancer. This loop plays
Cilium's part for every Gateway of a GatewayClass whose controllerName is Cilium's: it writes
`status.addresses` (`--address`, by default a TEST-NET-1 address, RFC 5737, that routes
nowhere: the load balancer's address on DOKS), the conditions
Accepted and Programmed (True, at the Gateway's current generation) and a status per listener
with the HTTPRoutes attached to it. It writes through the `status` subresource, as
`kubectl patch --subresource=status --type=merge` does, and only when something changed.

It talks to the API server directly (the kubeconfig's server, CA and bearer token) instead of
running kubectl every poll: two list calls every `--interval` seconds cost almost nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

CILIUM_CONTROLLER = "io.cilium/gateway-controller"
GATEWAY_API = "/apis/gateway.networking.k8s.io/v1"
DEFAULT_ADDRESS = "192.0.2.10"  # TEST-NET-1 (RFC 5737): documentation only, never routed


@dataclass(frozen=True)
class ApiServer:
    server: str
    token: str
    context: ssl.SSLContext

    @classmethod
    def from_kubeconfig(cls, path: Path) -> ApiServer:
        config = yaml.safe_load(path.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        return cls(server=cluster["server"], token=user["token"], context=context)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/merge-patch+json")
        with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
            return json.loads(response.read())


def _condition(kind: str, reason: str, generation: int, now: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now,
    }


def _attached_routes(gateway: dict[str, Any], listener: str, routes: list[dict[str, Any]]) -> int:
    """HTTPRoutes in the Gateway's namespace whose parentRefs name it (and this listener)."""
    meta = gateway["metadata"]
    count = 0
    for route in routes:
        route_namespace = route["metadata"]["namespace"]
        for parent in route.get("spec", {}).get("parentRefs", []):
            if parent.get("kind", "Gateway") != "Gateway" or parent["name"] != meta["name"]:
                continue
            if parent.get("namespace", route_namespace) != meta["namespace"]:
                continue
            if route_namespace != meta["namespace"]:
                continue  # the listeners here allow routes from the same namespace only
            if parent.get("sectionName", listener) == listener:
                count += 1
                break
    return count


def desired_status(
    gateway: dict[str, Any], routes: list[dict[str, Any]], address: str, now: str
) -> dict[str, Any]:
    meta = gateway["metadata"]
    generation = int(meta.get("generation", 1))
    listeners = []
    for listener in gateway["spec"].get("listeners", []):
        name = listener["name"]
        listeners.append(
            {
                "name": name,
                "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                "attachedRoutes": _attached_routes(gateway, name, routes),
                "conditions": [
                    _condition("Accepted", "Accepted", generation, now, "Listener accepted"),
                    _condition("Programmed", "Programmed", generation, now, "Listener programmed"),
                    _condition("ResolvedRefs", "ResolvedRefs", generation, now, "Refs resolved"),
                ],
            }
        )
    return {
        "addresses": [{"type": "IPAddress", "value": address}],
        "conditions": [
            _condition("Accepted", "Accepted", generation, now, "Gateway successfully scheduled"),
            _condition(
                "Programmed", "Programmed", generation, now, "Gateway successfully reconciled"
            ),
        ],
        "listeners": listeners,
    }


def _comparable(status: dict[str, Any]) -> Any:
    """A status without its timestamps, to tell whether anything changed."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "lastTransitionTime"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(status)


def reconcile_once(api: ApiServer, address: str) -> int:
    """Write the status of every Cilium Gateway whose status is not yet what it should be."""
    classes = api.request("GET", f"{GATEWAY_API}/gatewayclasses")["items"]
    cilium_classes = {
        c["metadata"]["name"] for c in classes if c["spec"]["controllerName"] == CILIUM_CONTROLLER
    }
    gateways = api.request("GET", f"{GATEWAY_API}/gateways")["items"]
    if not any(g["spec"].get("gatewayClassName") in cilium_classes for g in gateways):
        return 0
    routes = api.request("GET", f"{GATEWAY_API}/httproutes")["items"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    written = 0
    for gateway in gateways:
        if gateway["spec"].get("gatewayClassName") not in cilium_classes:
            continue
        if gateway["metadata"].get("deletionTimestamp"):
            continue
        want = desired_status(gateway, routes, address, now)
        have = gateway.get("status") or {}
        if _comparable({k: have.get(k) for k in want}) == _comparable(want):
            continue
        meta = gateway["metadata"]
        path = f"{GATEWAY_API}/namespaces/{meta['namespace']}/gateways/{meta['name']}/status"
        try:
            api.request("PATCH", path, {"status": want})
        except urllib.error.HTTPError as error:
            if error.code in (404, 409):  # deleted or changed meanwhile: next round
                continue
            raise
        print(f"{now} programmed gateway {meta['namespace']}/{meta['name']}", flush=True)
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--address", default=DEFAULT_ADDRESS)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    api = ApiServer.from_kubeconfig(args.kubeconfig)

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"gateway status writer: polling every {args.interval} s", flush=True)
    while not stopping:
        try:
            reconcile_once(api, args.address)
        except (urllib.error.URLError, OSError, KeyError, ValueError) as error:
            print(f"gateway status writer: {error!r}", file=sys.stderr, flush=True)
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
