"""A stateful stand-in for the part of DigitalOcean's API v2 this program uses.

It answers exactly the endpoints the DigitalOcean provider (terraform-provider-digitalocean
v2.96.0 through godo v1.200.0) calls for this program's resources, shaped as DigitalOcean's
OpenAPI description says, and keeps what was created so that everything the provider reads back
after a create is what it wrote: a `pulumi refresh` or `pulumi preview` right after `pulumi up`
shows no change.

- VPC: create, read, update, delete (refused with 403 while a cluster or database is in it, as
  DigitalOcean does; the provider retries on 403).
- Kubernetes: `GET /v2/kubernetes/options` (getKubernetesVersions), clusters (create, list,
  read, update, upgrade through an `upgrading` state, the upgrades they are offered, delete),
  their node pools (add, read, update, delete: nodes drained, then gone), credentials and
  kubeconfig, and registry integration. A cluster named in the `--clusters` file gets that
  endpoint and CA, and its credentials carry the API token as bearer token, as DOKS accepts
  it; with the cluster's node shapes there, its pools' nodes are kwok Nodes of that cluster
  (`standin/nodes.py`).
- Databases: clusters (create, also from another cluster's backup, read, resize, delete),
  maintenance window, eviction policy, SQL mode, tags, firewall, config, storage autoscaling,
  backups, CA, databases and users.
- Uptime checks and their alerts; Monitoring alert policies.
- Domains and their records; tags (the provider re-tags a database cluster through them).

New clusters answer `status.state: "running"` and new databases `status: "online"` right away
(the create responses say "provisioning" and "creating", as DigitalOcean's do); the provider
still waits its own ticker (10 s for a cluster, 15 s for a database) before it looks.

Every `/v2` request needs `Authorization: Bearer <token>`. Under `/_standin/` (never sent
through Prism) are the state, the request log, deliberate contract faults and out-of-band
changes; `StandIn` below runs it as a subprocess and wraps those.

Each resource family is a module of `tests/e2e/digitalocean/standin/` (see its `__init__`); this
module runs the application over them and holds the client, `StandIn`.

    python -m tests.e2e.digitalocean.server --port P --token T --clusters FILE
        [--domain example.com]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from tests.e2e.digitalocean.standin.account import DigitalOcean
from tests.e2e.digitalocean.standin.app import create_app
from tests.e2e.digitalocean.standin.common import JSON
from tests.e2e.digitalocean.standin.kubernetes import ClusterAccess
from tests.e2e.digitalocean.standin.nodes import NodeShape
from tests.e2e.engine.processes import Process, free_port, start_process, wait_for_port
from tests.e2e.engine.toolchain import REPO

__all__ = ["ClusterAccess", "DigitalOcean", "StandIn", "create_app", "load_clusters", "main"]

_MUTATING = ("POST", "PUT", "PATCH", "DELETE")


# -- running it ----------------------------------------------------------------------------------


def load_clusters(path: Path | None) -> dict[str, ClusterAccess]:
    """The `--clusters` file: `{"<cluster name>": {"endpoint": ..., "ca_pem_base64": ...,
    "nodes": {"<size>": {"capacity": {...}, "allocatable": {...}}}}}`; with `nodes`, the
    stand-in runs the nodes of the cluster's pools there
    (tests/e2e/digitalocean/standin/nodes.py)."""
    if path is None:
        return {}
    document = json.loads(path.read_text())
    return {
        name: ClusterAccess(
            endpoint=str(entry["endpoint"]),
            ca_pem_base64=entry["ca_pem_base64"],
            nodes=(
                {
                    size: NodeShape(capacity=shape["capacity"], allocatable=shape["allocatable"])
                    for size, shape in entry["nodes"].items()
                }
                if entry.get("nodes")
                else None
            ),
        )
        for name, entry in document.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True, help="the API token requests must carry")
    parser.add_argument("--clusters", type=Path, help="JSON: cluster name -> endpoint and CA")
    parser.add_argument(
        "--domain", action="append", default=[], help="a domain that exists from the start"
    )
    args = parser.parse_args(argv)

    digitalocean = DigitalOcean(args.token, load_clusters(args.clusters), args.domain)
    server = make_server("127.0.0.1", args.port, create_app(digitalocean), threaded=True)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"do_standin listening on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
    return 0


def http_json(
    url: str, method: str, payload: Any = None, token: str = "", timeout: float = 60
) -> tuple[int, Any]:
    """One HTTP call with a JSON body: (status, parsed JSON body or None). An error status is
    returned, not raised; `token` (if any) goes in as a bearer token."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    return status, (json.loads(text) if text[:1] in (b"{", b"[") else None)


class StandIn:
    """The stand-in as a subprocess of the test process, and its inspection API.

    `root` holds its `--clusters` file and its log. `clusters` maps a DOKS cluster name to
    `{"endpoint": ..., "ca_pem_base64": ...}`.
    """

    def __init__(
        self,
        root: Path,
        token: str,
        clusters: Mapping[str, Mapping[str, Any]] | None = None,
        domains: Sequence[str] = (),
        port: int | None = None,
    ) -> None:
        self.root = root
        self.token = token
        self.clusters = {name: dict(entry) for name, entry in (clusters or {}).items()}
        self.domains = tuple(domains)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "do_standin.log"
        self.process: Process | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        clusters_file = self.root / "clusters.json"
        clusters_file.write_text(json.dumps(self.clusters, indent=2))
        argv = [
            sys.executable,
            "-m",
            "tests.e2e.digitalocean.server",
            "--port",
            str(self.port),
            "--token",
            self.token,
            "--clusters",
            str(clusters_file),
        ]
        for domain in self.domains:
            argv += ["--domain", domain]
        self.process = start_process("do_standin", argv, self.log_path, cwd=REPO)
        wait_for_port(self.port, timeout, self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the inspection API ----------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        status, body = http_json(self.url + path, method, payload)
        assert status < 300, f"{method} {path}: {status} {body!r}"
        return body

    def state(self) -> dict[str, list[JSON]]:
        """Every live resource by kind: vpcs, kubernetes_clusters, databases (with their dbs,
        database_users, firewall_rules, config, eviction_policy), domains, domain_records,
        tags."""
        result: dict[str, list[JSON]] = self._call("GET", "/_standin/state")
        return result

    def requests(self) -> list[JSON]:
        """Every /v2 request so far: t (monotonic start), t_end, at, method, path, query,
        status, body."""
        result: list[JSON] = self._call("GET", "/_standin/requests")
        return result

    def mutations(self) -> list[JSON]:
        """The requests that could change something (POST, PUT, PATCH, DELETE)."""
        return [r for r in self.requests() if r["method"] in _MUTATING]

    def inject_fault(
        self,
        method: str,
        path: str,
        body: Any = None,
        status: int | None = None,
        times: int = 1,
        effect: str = "after",
        headers: Mapping[str, str] | None = None,
        body_match: Mapping[str, Any] | None = None,
    ) -> None:
        """The next `times` requests of `method` on a path fully matching the regular expression
        `path` meet a fault. `effect`: "none" (answered instead of acting), "after" (the cloud
        acts, then answers `status` with `body`; no status: the real status with `body` in
        place of the real body) or "drop" (the cloud acts, then the connection is cut
        mid-response by the recorder in front of Prism). `body_match`: only requests whose JSON
        body holds these top-level values."""
        self._call(
            "POST",
            "/_standin/faults",
            {
                "method": method,
                "path": path,
                "body": body,
                "status": status,
                "times": times,
                "effect": effect,
                "headers": dict(headers or {}),
                "body_match": dict(body_match or {}),
            },
        )

    def rate_limit(self, method: str, path: str, times: int = 1) -> None:
        """DigitalOcean's 429 (rate-limit headers, `retry-after: 1`), nothing done."""
        self.inject_fault(method, path, status=429, times=times, effect="none")

    def server_error(
        self,
        method: str,
        path: str,
        status: int = 500,
        times: int = 1,
        acted: bool = False,
        body_match: Mapping[str, Any] | None = None,
    ) -> None:
        """A 5xx: before the cloud acted, or (`acted`) after it did: an ambiguous write."""
        self.inject_fault(
            method,
            path,
            status=status,
            times=times,
            effect="after" if acted else "none",
            body_match=body_match,
        )

    def drop_connection(
        self, method: str, path: str, times: int = 1, body_match: Mapping[str, Any] | None = None
    ) -> None:
        """The cloud acts, then the response is cut half-way (the connection closes)."""
        self.inject_fault(method, path, times=times, effect="drop", body_match=body_match)

    def behaviour(self, **changes: Any) -> JSON:
        """Read or change how the cloud acts: provisioning and deletion reads, the name check,
        the load-balancer limit (tests/e2e/digitalocean/standin/lifecycle.py)."""
        if changes:
            result: JSON = self._call("PATCH", "/_standin/behaviour", changes)
        else:
            result = self._call("GET", "/_standin/behaviour")
        return result

    def polls(self, path: str, since: int = 0) -> list[str]:
        """The states that reads of `path` answered, in order (from request number `since`)."""
        return [
            str(r["observed"])
            for r in self.requests()[since:]
            if r["method"] == "GET" and r["path"] == path and r.get("observed")
        ]

    def add_firewall_rule(self, database_id: str, kind: str, value: str) -> JSON:
        """Out of band, as in DigitalOcean's console: one more trusted source."""
        result: JSON = self._call(
            "POST",
            f"/_standin/databases/{database_id}/firewall/rules",
            {"type": kind, "value": value},
        )
        return result

    def node_drains(self) -> list[JSON]:
        """What each node's drain did: evicted pods, evictions a budget refused, pods forced."""
        result: list[JSON] = self._call("GET", "/_standin/kubernetes/node_drains")
        return result

    def take_backup(self, database_id: str) -> JSON:
        """Out of band, as DigitalOcean's daily backup does: a backup of the cluster, now."""
        result: JSON = self._call("POST", f"/_standin/databases/{database_id}/backups")
        return result

    def set_node_count(self, cluster_id: str, pool_id: str, count: int) -> JSON:
        """Out of band, as the cluster autoscaler does."""
        result: JSON = self._call(
            "PATCH", f"/_standin/kubernetes/clusters/{cluster_id}/node_pools/{pool_id}",
            {"count": count},
        )  # fmt: skip
        return result

    def set_cluster_version(self, cluster_id: str, version: str) -> JSON:
        """Out of band, as DOKS's automatic patch upgrades do."""
        result: JSON = self._call(
            "PATCH", f"/_standin/kubernetes/clusters/{cluster_id}", {"version": version}
        )
        return result

    def api(
        self, method: str, path: str, payload: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """One /v2 call straight to the stand-in: (status, parsed body or None)."""
        return http_json(self.url + path, method, payload, self.token if token is None else token)


if __name__ == "__main__":
    sys.exit(main())
