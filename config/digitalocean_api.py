"""DigitalOcean's API v2, read-only: the one client of everything here that asks DigitalOcean
itself rather than through the provider.

Three readers use it: the config check (`config/cloud.py`: does the MySQL cluster a restore
names exist, with that backup), the program before it registers anything
(`components/platform/live.py`: the version the stack's cluster runs, its pools) and the ops
commands (`ops/orphans.py`, `ops/restore_drill.py`). Each reaches the API the DigitalOcean
provider reaches, with the same token, and reads only (GET).

It behaves as the provider's own client does on an imperfect API (godo on go-retryablehttp):
a 429 or a 5xx, or a connection that fails, is tried again up to four times, after the
`retry-after` DigitalOcean sends or a doubling pause; what still fails is an `ApiUnreadable`
whose message says what DigitalOcean answered (its own `message`), never the token.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_API_URL = "https://api.digitalocean.com"
API_URL_ENV_VAR = "DIGITALOCEAN_API_URL"  # as the provider reads it
TOKEN_ENV_VARS = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")  # as the provider reads them
RETRIES = 4  # as the provider's client (go-retryablehttp's default in godo)
MAX_PAUSE_SECONDS = 30.0  # its longest pause between two tries
PAGE_SIZE = 200  # DigitalOcean's largest page

JSON = dict[str, Any]


class ApiUnreadable(Exception):
    """DigitalOcean's API could not be read: the message says why (never the token)."""


def token_from(environ: Mapping[str, str]) -> str | None:
    """The token the provider would take from the environment, if any."""
    return next((environ[name] for name in TOKEN_ENV_VARS if environ.get(name)), None)


def api_url_from(environ: Mapping[str, str]) -> str:
    return (environ.get(API_URL_ENV_VAR) or DEFAULT_API_URL).rstrip("/")


class ReadOnlyApi:
    """GET requests to DigitalOcean's API v2 with one token, tried again as the provider does."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        retries: int = RETRIES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self._sleep = sleep

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ReadOnlyApi:
        """The API and token the provider would use in this environment (the ops commands)."""
        return cls(api_url_from(environ), token_from(environ))

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def get(self, path: str) -> JSON:
        """`GET path` (e.g. `/v2/kubernetes/clusters/ID`): the parsed answer."""
        if not self._token:
            raise ApiUnreadable(
                "no DigitalOcean API token: export DIGITALOCEAN_TOKEN or set digitalocean:token"
                " as a secret"
            )
        request = urllib.request.Request(self.base_url + path)
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        shown = path.split("?")[0]
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body: JSON = json.loads(response.read() or b"{}")
                    return body
            except urllib.error.HTTPError as error:
                if (error.code == 429 or error.code >= 500) and not last:
                    self._sleep(_pause(attempt, error.headers.get("retry-after")))
                    continue
                raise ApiUnreadable(
                    f"DigitalOcean answered {error.code} to GET {shown}" + _said(error)
                ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                if not last:
                    self._sleep(_pause(attempt, None))
                    continue
                raise ApiUnreadable(
                    f"DigitalOcean's API ({self.base_url}) is unreachable: {error}"
                ) from None
            except ValueError as error:
                raise ApiUnreadable(
                    f"DigitalOcean's answer to GET {shown} is not JSON: {error}"
                ) from None
        raise AssertionError("unreachable")

    def items(self, path: str, key: str) -> list[JSON]:
        """Every item of a list endpoint (`key`: the list's name in the answer), page by page
        for as long as DigitalOcean says there is a next one."""
        found: list[JSON] = []
        separator = "&" if "?" in path else "?"
        page = 1
        while True:
            body = self.get(f"{path}{separator}page={page}&per_page={PAGE_SIZE}")
            found += body.get(key) or []
            if not ((body.get("links") or {}).get("pages") or {}).get("next"):
                return found
            page += 1


def quoted(identifier: str) -> str:
    """An id as one path segment."""
    return urllib.parse.quote(identifier, safe="")


def _pause(attempt: int, retry_after: str | None) -> float:
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_PAUSE_SECONDS)
    return min(float(2**attempt), MAX_PAUSE_SECONDS)


def _said(error: urllib.error.HTTPError) -> str:
    """DigitalOcean's own words in an error answer (`{"id": ..., "message": ...}`)."""
    try:
        message = json.loads(error.read() or b"{}").get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return f": {message}" if message else ""
