"""What every resource family of the stand-in shares: DigitalOcean's error answers, request-body
checks, the regions, deterministic IDs and timestamps."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from tests.e2e.digitalocean.standin.reference import REGIONS  # the stand-in's own, dated

JSON = dict[str, Any]
Key = TypeVar("Key")
Value = TypeVar("Value")

# uuid5 namespace of every ID the stand-in hands out: the same run gives the same IDs.
ID_NAMESPACE = uuid.UUID("6f1c1d0e-7b55-4a8e-9d0c-2f4a7d9e3b10")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Not a certificate: DigitalOcean's CA endpoints return a PEM, nothing here parses it.
DUMMY_CA_PEM = (
    b"-----BEGIN CERTIFICATE-----\n"
    + base64.b64encode(hashlib.sha256(b"posts-infra do_standin CA").digest() * 8)
    + b"\n-----END CERTIFICATE-----\n"
)


class ApiError(Exception):
    """An error answered as DigitalOcean does: `{"id": ..., "message": ..., "request_id": ...}`."""

    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message


def not_found(what: str = "resource") -> NoReturn:
    raise ApiError(404, "not_found", f"The {what} you requested could not be found.")


def unprocessable(message: str) -> NoReturn:
    raise ApiError(422, "unprocessable_entity", message)


def find(table: Mapping[Key, Value], key: Key, what: str = "resource") -> Value:
    """`table[key]`, or DigitalOcean's 404 for `what`."""
    if key not in table:
        not_found(what)
    return table[key]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp_now() -> str:
    return timestamp(now())


def required_str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        unprocessable(f"{key} is required")
    return value


def strings(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        unprocessable("expected a list of strings")
    return list(value)


def unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check_region(region: str) -> None:
    if region not in REGIONS:
        unprocessable(f"region '{region}' is not available")


def stable_id(key: str) -> str:
    """uuid5 of `key`: the same key always gives the same ID."""
    return str(uuid.uuid5(ID_NAMESPACE, key))


class Ids:
    """The IDs of created resources, shared by every family: deterministic per run."""

    def __init__(self) -> None:
        self._generations: dict[str, int] = {}

    def new(self, kind: str, name: str) -> str:
        """uuid5 of kind, name and how often that name was created before: stable per run."""
        key = f"{kind}/{name}"
        generation = self._generations.get(key, 0)
        self._generations[key] = generation + 1
        return stable_id(f"{key}/{generation}")
