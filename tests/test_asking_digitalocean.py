"""What the program and the ops commands get when they read DigitalOcean's API themselves
(config/digitalocean_api.py): every page of a list, a rate limit or a 5xx tried again as the
provider's own client tries it, DigitalOcean's own words when it refuses, never the token, and
for the program a message instead of a traceback.

The API here is a small local HTTP server that answers each path from a script of answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pulumi
import pytest

from components.platform.live import ApiReader
from config.cloud import DigitalOceanApi, check_restore, cloud_for
from config.digitalocean_api import ApiUnreadable, ReadOnlyApi
from config.sections import DigitalOceanAccess, RestoreRequest
from offline.simulate import run_stack

TOKEN = "dop_v1_secret"
Answer = tuple[int, dict[str, Any], dict[str, str]]  # status, body, headers


class FakeApi(BaseHTTPRequestHandler):
    """Answers each path (without `per_page`) with the next answer of its script; the last one
    again once the script runs out; 404 for a path with none."""

    scripts: ClassVar[dict[str, list[Answer]]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        FakeApi.seen.append((self.path, self.headers.get("Authorization", "")))
        script = FakeApi.scripts.get(self.path.split("&per_page")[0].split("?per_page")[0])
        status, body, headers = (
            (script.pop(0) if len(script) > 1 else script[0])
            if script
            else (
                404,
                {"id": "not_found", "message": "The resource you requested could not be found."},
                {},
            )
        )
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeApi.seen.clear()
    FakeApi.scripts = {}
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def answering(path: str, *answers: Answer) -> None:
    FakeApi.scripts[path] = list(answers)


def ok(body: dict[str, Any]) -> Answer:
    return (200, body, {})


RATE_LIMITED: Answer = (
    429,
    {"id": "too_many_requests", "message": "API Rate limit exceeded."},
    {"Retry-After": "3", "RateLimit-Remaining": "0"},
)
SERVER_ERROR: Answer = (
    500,
    {"id": "server_error", "message": "Unexpected server-side error"},
    {},
)


def reading(base: str, pauses: list[float]) -> ReadOnlyApi:
    return ReadOnlyApi(base, TOKEN, sleep=pauses.append)


def test_every_page_of_a_list_is_read_with_the_token(api: str) -> None:
    answering(
        "/v2/databases?page=1",
        ok({"databases": [{"name": "a"}], "links": {"pages": {"next": "…?page=2"}}}),
    )
    answering("/v2/databases?page=2", ok({"databases": [{"name": "b"}], "links": {}}))
    answering("/v2/databases/a-id/backups", ok({"backups": [{"created_at": "2026-12-01"}]}))
    cloud = DigitalOceanApi(reading(api, []))
    assert [c["name"] for c in cloud.database_clusters()] == ["a", "b"]
    assert cloud.backups("a-id") == [{"created_at": "2026-12-01"}]
    assert {auth for _, auth in FakeApi.seen} == {f"Bearer {TOKEN}"}
    assert all("per_page=200" in path for path, _ in FakeApi.seen[:2])


def test_a_rate_limit_is_waited_out_as_digitalocean_asks(api: str) -> None:
    answering("/v2/kubernetes/clusters/c1", RATE_LIMITED, RATE_LIMITED, ok({"id": "c1"}))
    pauses: list[float] = []
    assert reading(api, pauses).get("/v2/kubernetes/clusters/c1") == {"id": "c1"}
    assert pauses == [3.0, 3.0]  # its retry-after, not a guess
    assert len(FakeApi.seen) == 3


def test_a_server_error_is_tried_again_four_times_then_said(api: str) -> None:
    answering("/v2/kubernetes/clusters/c1", SERVER_ERROR)
    pauses: list[float] = []
    with pytest.raises(ApiUnreadable) as caught:
        reading(api, pauses).get("/v2/kubernetes/clusters/c1")
    assert str(caught.value) == (
        "DigitalOcean answered 500 to GET /v2/kubernetes/clusters/c1: Unexpected server-side error"
    )
    assert pauses == [1.0, 2.0, 4.0, 8.0] and len(FakeApi.seen) == 5


def test_a_refusal_is_not_tried_again_and_is_said_in_digitaloceans_words(api: str) -> None:
    answering("/v2/databases?page=1", (401, {"id": "unauthorized", "message": "Unable"}, {}))
    pauses: list[float] = []
    with pytest.raises(ApiUnreadable) as caught:
        DigitalOceanApi(reading(api, pauses)).database_clusters()
    assert str(caught.value) == "DigitalOcean answered 401 to GET /v2/databases: Unable"
    assert pauses == [] and len(FakeApi.seen) == 1


def test_an_unreachable_api_is_said_without_the_token() -> None:
    pauses: list[float] = []
    with pytest.raises(ApiUnreadable, match="unreachable") as caught:
        reading("http://127.0.0.1:9", pauses).get("/v2/vpcs")
    assert TOKEN not in str(caught.value)
    assert len(pauses) == 4  # tried again, as the provider tries a failed connection


def test_no_token_is_said_before_any_request(api: str) -> None:
    with pytest.raises(ApiUnreadable, match="no DigitalOcean API token"):
        ReadOnlyApi(api, None).get("/v2/vpcs")
    assert FakeApi.seen == []
    assert cloud_for(DigitalOceanAccess(api, None)) is None


def test_the_restore_check_reads_the_api_the_provider_is_pointed_at(api: str) -> None:
    """`digitalocean:apiEndpoint` (or DIGITALOCEAN_API_URL) is where the provider goes; the
    restore check asks the same API, so a refusal there is the check's problem line."""
    answering("/v2/databases?page=1", (403, {"id": "forbidden", "message": "Nope"}, {}))
    checked = check_restore(
        RestoreRequest(source="posts-prod-mysql", backup=""),
        "posts-dev-mysql",
        cloud_for(DigitalOceanAccess(api, TOKEN)),
    )
    assert checked.problems == [
        "restoreFrom: could not be checked against DigitalOcean:"
        " DigitalOcean answered 403 to GET /v2/databases: Nope"
    ]


def test_the_program_says_why_it_could_not_read_the_cluster_without_a_traceback(
    api: str,
) -> None:
    answering(
        "/v2/kubernetes/clusters?page=1", (401, {"id": "unauthorized", "message": "Unable"}, {})
    )
    with pytest.raises(pulumi.RunError) as caught:
        run_stack("dev", doks=ApiReader(DigitalOceanAccess(api, TOKEN)))
    assert str(caught.value) == (
        "stack 'dev': nothing was changed: the cluster could not be read from DigitalOcean"
        " before the update: DigitalOcean answered 401 to GET /v2/kubernetes/clusters: Unable"
    )
