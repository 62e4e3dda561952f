"""Config values that are more than a string, a whole number or a flag, read once into types.

CPU in millicores and memory in bytes, as kube-scheduler counts requests; a private IPv4 range.
Each keeps the text the stack config wrote (`text`): that is what the program deploys, so
reading a value never re-spells it (`0.5` stays `0.5`, not `500m`; `1Gi` stays `1Gi`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_CPU = re.compile(r"^(?:([0-9]+)m|([0-9]+)(?:\.([0-9]{1,3}))?)$")
_MEMORY = re.compile(r"^([0-9]+)(Ki|Mi|Gi)$")
_BYTES_PER_UNIT = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def cpu_millicores(text: str) -> int | None:
    """`250m` -> 250, `0.5` -> 500, `2` -> 2000; None if not a CPU quantity of that form."""
    match = _CPU.match(text.strip())
    if match is None:
        return None
    milli, whole, fraction = match.groups()
    if milli is not None:
        return int(milli)
    return int(whole) * 1000 + int((fraction or "").ljust(3, "0"))


def memory_bytes(text: str) -> int | None:
    """`256Mi` -> 268435456; None if not a memory quantity in Ki, Mi or Gi."""
    match = _MEMORY.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)) * _BYTES_PER_UNIT[match.group(2)]


@dataclass(frozen=True)
class Cpu:
    millicores: int
    text: str


@dataclass(frozen=True)
class Memory:
    bytes: int
    text: str


@dataclass(frozen=True)
class Resources:
    """A container's requests and memory limit (`<workload>Resources`: `cpu/memory/limit`)."""

    cpu_request: Cpu
    memory_request: Memory
    memory_limit: Memory


@dataclass(frozen=True)
class Cidr:
    """A private IPv4 range with no host bits."""

    network: ipaddress.IPv4Network
    text: str
