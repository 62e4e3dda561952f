"""What the control plane's processes are doing now, read from /proc: PIDs, resident memory,
which of their ports still accept connections, and every TCP socket they listen on."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from tests.e2e.engine.processes import Process, port_open


class Introspection:
    """Reads the given processes and ports (the live lists of `Daemons`)."""

    def __init__(self, processes: Sequence[Process], ports: Sequence[int]) -> None:
        self.processes = processes
        self.ports = ports

    def pids(self) -> dict[str, int]:
        return {process.name: process.pid for process in self.processes}

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of each process now (VmRSS), in MiB."""
        sizes = {}
        for process in self.processes:
            try:
                status = Path(f"/proc/{process.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes[process.name] = int(line.split()[1]) / 1024
        return sizes

    def listening(self) -> list[int]:
        """Which of the ports this control plane opened still accept connections."""
        return [port for port in self.ports if port_open(port)]

    def listen_addresses(self) -> list[tuple[str, str, int]]:
        """(process, address, port) of every TCP socket its processes listen on (/proc/net)."""
        found = []
        for process in self.processes:
            inodes = _socket_inodes(process.pid)
            for address, port, inode in _tcp_listeners():
                if inode in inodes:
                    found.append((process.name, address, port))
        return found


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_listeners() -> list[tuple[str, int, str]]:
    """(address, port, inode) of every listening TCP socket in this network namespace."""
    listeners = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            hex_address, hex_port = fields[1].split(":")
            listeners.append((_decode_address(hex_address, width), int(hex_port, 16), fields[9]))
    return listeners


def _decode_address(hex_address: str, width: int) -> str:
    """/proc/net/tcp{,6} addresses: 32-bit words in host (little-endian) order."""
    raw = b"".join(bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, width, 8))
    if width == 8:
        return ".".join(str(b) for b in raw)
    return ipaddress.IPv6Address(raw).compressed
