"""What the fault scenarios share: a stack of the DigitalOcean-only program against the stand-in,
the operator's commands run exactly as documented, and what "converged" means.

"Converged" (docs/when-things-go-wrong.md): `pulumi preview --expect-no-changes` is clean, the
stand-in holds exactly one of each resource the program declares, and MySQL and Valkey kept
their IDs.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.digitalocean.server import StandIn
from tests.e2e.engine.toolchain import Toolchain
from tests.e2e.engine.workspace import Command, Run, Workspace

DIGITALOCEAN_PROGRAM = "tests.e2e.digitalocean.program"
DOMAIN = "example.com"
_runs = itertools.count(1)


@dataclass
class CloudStack:
    """One stack of the DigitalOcean-only program (tests/e2e/digitalocean/program.py) in its own
    project copy and backend, against the stand-in behind Prism."""

    name: str
    workspace: Workspace
    standin: StandIn
    ids: dict[str, str] = field(default_factory=dict)  # MySQL and Valkey, once created

    @classmethod
    def create(
        cls, name: str, root: Path, toolchain: Toolchain, standin: StandIn, api_url: str
    ) -> CloudStack:
        workspace = Workspace(
            root / name,
            name,
            toolchain,
            {"DIGITALOCEAN_API_URL": api_url, "DIGITALOCEAN_TOKEN": standin.token},
            program=DIGITALOCEAN_PROGRAM,
        )
        workspace.init_stack()
        workspace.set_configs(
            {"imageTag": "3f9c2e7", "hostname": f"{name}.{DOMAIN}", "dnsDomain": DOMAIN}
        )
        return cls(name, workspace, standin)

    @property
    def prefix(self) -> str:
        return f"posts-{self.name}"

    def up(self, *extra: str, check: bool = True) -> Run:
        return self.workspace.pulumi(
            "up", "--yes", "--skip-preview", *extra, check=check, events=True
        )

    def start_up(self) -> subprocess.Popen[str]:
        """`pulumi up` in the background, in its own process group (as a CI runner's job)."""
        return self.workspace.start("up", "--yes", "--skip-preview")

    def operator(self, script: str, *argv: str) -> Command:
        """`scripts/<script> <stack> ...` as an operator runs it, in the stack's project."""
        return self.workspace.operator(script, *argv)

    # -- what DigitalOcean holds ----------------------------------------------------------------

    def declared(self) -> dict[str, str]:
        """kind -> the name of each DigitalOcean resource the program declares."""
        return {
            "vpcs": f"{self.prefix}-vpc",
            "kubernetes_clusters": self.prefix,
            "databases/mysql": f"{self.prefix}-mysql",
            "databases/valkey": f"{self.prefix}-valkey",
            "domain_records": self.name,
        }

    def held(self) -> Counter[str]:
        """How many of each declared resource the stand-in holds (live ones)."""
        state = self.standin.state()
        counts: Counter[str] = Counter()
        for kind, name in self.declared().items():
            family = kind.split("/")[0]
            items = state[family]
            if family == "kubernetes_clusters":
                items = [c for c in items if c["status"]["state"] != "deleting"]
            counts[kind] = sum(1 for item in items if item.get("name") == name)
        return counts

    def database_ids(self) -> dict[str, str]:
        return {
            d["engine"]: d["id"]
            for d in self.standin.state()["databases"]
            if d["name"] in (f"{self.prefix}-mysql", f"{self.prefix}-valkey")
        }

    def assert_converged(self) -> None:
        """The three parts of "converged"."""
        self.workspace.pulumi("preview", "--expect-no-changes", "--diff")
        held = self.held()
        assert held == Counter({kind: 1 for kind in self.declared()}), held
        ids = self.database_ids()
        for engine, known in self.ids.items():
            assert ids[engine] == known, f"{engine} was replaced: {known} -> {ids[engine]}"
        self.ids.update(ids)


def requests_of(standin: StandIn, since: int, method: str, path: str) -> list[dict[str, Any]]:
    """The stand-in's requests from number `since` of `method` on paths fully matching the
    regular expression `path`."""
    pattern = re.compile(path)
    return [
        r
        for r in standin.requests()[since:]
        if r["method"] == method and pattern.fullmatch(r["path"])
    ]


def kill_process_group(process: subprocess.Popen[str]) -> str:
    """SIGKILL to the whole process group, as a dying runner does; what it had printed."""
    os.killpg(process.pid, signal.SIGKILL)
    output, _ = process.communicate(timeout=60)
    return output
