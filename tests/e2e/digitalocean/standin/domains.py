"""Domains and their records."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from tests.e2e.digitalocean.standin.common import JSON, find, not_found, required_str, unprocessable

_RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "TXT", "SRV", "SOA")


class Domains:
    """The account's domains by name and their records by ID."""

    def __init__(self, names: Iterable[str]) -> None:
        self.by_name: dict[str, JSON] = {}
        self.records: dict[int, JSON] = {}
        self._next_record_id = 3352896
        for name in names:
            self.by_name[name] = _domain(name)

    def get(self, name: str) -> JSON:
        return find(self.by_name, name, "domain")

    def create(self, body: JSON) -> JSON:
        name = required_str(body, "name")
        if name in self.by_name:
            unprocessable(f"domain '{name}' already exists")
        self.by_name[name] = _domain(name)
        if body.get("ip_address"):
            self.create_record(name, {"type": "A", "name": "@", "data": body["ip_address"]})
        return self.by_name[name]

    def delete(self, name: str) -> None:
        self.get(name)
        del self.by_name[name]
        for record_id in [i for i, r in self.records.items() if r["domain"] == name]:
            del self.records[record_id]

    def records_of(self, domain: str) -> list[JSON]:
        """The records of `domain`, as the API shows them."""
        self.get(domain)
        return [public_record(r) for r in self.records.values() if r["domain"] == domain]

    def record(self, domain: str, record_id: int) -> JSON:
        self.get(domain)
        record = self.records.get(record_id)
        if record is None or record["domain"] != domain:
            not_found("domain record")
        return record

    def create_record(self, domain: str, body: JSON) -> JSON:
        self.get(domain)
        kind = required_str(body, "type")
        if kind not in _RECORD_TYPES:
            unprocessable(f"record type '{kind}' is not supported")
        name = required_str(body, "name")
        data = required_str(body, "data")
        if kind == "A":
            try:
                ipaddress.IPv4Address(data)
            except ValueError:
                unprocessable(f"an A record needs an IPv4 address, got '{data}'")
        self._next_record_id += 1
        record: JSON = {"id": self._next_record_id, "domain": domain}
        record.update(_record_fields(kind, name, data, body))
        self.records[record["id"]] = record
        return record

    def update_record(self, domain: str, record_id: int, body: JSON) -> JSON:
        record = self.record(domain, record_id)
        kind = str(body.get("type") or record["type"])
        name = str(body.get("name") or record["name"])
        data = str(body.get("data") or record["data"])
        merged = {**record, **{k: v for k, v in body.items() if k != "id"}}
        record.update(_record_fields(kind, name, data, merged))
        return record

    def delete_record(self, domain: str, record_id: int) -> None:
        self.record(domain, record_id)
        del self.records[record_id]


def public_record(record: JSON) -> JSON:
    """A record as the API shows it (without the domain it belongs to)."""
    return {k: v for k, v in record.items() if k != "domain"}


def _domain(name: str) -> JSON:
    return {"name": name, "ttl": 1800, "zone_file": None}


def _record_fields(kind: str, name: str, data: str, body: Mapping[str, Any]) -> JSON:
    def number(key: str) -> int | None:
        value = body.get(key)
        return int(value) if isinstance(value, int) and value else None

    ttl = body.get("ttl")
    return {
        "type": kind,
        "name": name,
        "data": data,
        "priority": number("priority"),
        "port": number("port"),
        "ttl": int(ttl) if isinstance(ttl, int) and ttl > 0 else 1800,
        "weight": number("weight"),
        "flags": number("flags"),
        "tag": str(body["tag"]) if body.get("tag") else None,
    }
