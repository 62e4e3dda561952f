"""Benchmark of the real engine on the dev stack, offline (`./scripts/bench --engine`).

Wall time of each CLI command a user runs, in order, on one environment of the end-to-end suite
(local control plane, DigitalOcean stand-in behind Prism): the preview of a new stack, the first
`up`, a no-op preview, a release `up`, and `destroy` (after the unprotect `up`). Beside them:
the program's own evaluation time (under mocks, in a fresh process and warm), and the time the
DigitalOcean provider spent polling for new clusters and databases, read from the stand-in's
request log (from a create's response to the first read of that resource), not assumed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from offline.bench import evaluations
from tests.e2e.digitalocean.prism import ensure_installed
from tests.e2e.engine.environment import StackEnvironment
from tests.e2e.engine.toolchain import REPO, Toolchain, locate

CREATES = {"/v2/kubernetes/clusters": "kubernetes_clusters", "/v2/databases": "databases"}


def polling(
    requests: list[dict[str, Any]], state: dict[str, list[dict[str, Any]]]
) -> dict[str, float]:
    """For each cluster and database created: seconds until the provider read it back."""
    waits: dict[str, float] = {}
    for path, kind in CREATES.items():
        for create in (r for r in requests if r["method"] == "POST" and r["path"] == path):
            name = create["body"]["name"]
            ids = [item["id"] for item in state[kind] if item["name"] == name]
            if not ids:
                continue
            reads = [
                r["t"]
                for r in requests
                if r["method"] == "GET" and r["path"] == f"{path}/{ids[0]}" and r["t"] > create["t"]
            ]
            if reads:
                waits[name] = min(reads) - create["t_end"]
    return waits


def evaluation_seconds() -> tuple[float, float]:
    """The program under mocks: a fresh process (imports included), and warm (median of 5)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from offline.simulate import run_stack; run_stack('dev')"],
        cwd=REPO,
        check=True,
    )
    fresh = time.perf_counter() - started
    evaluations("dev", 1)  # the first in this process imports the SDKs
    return fresh, statistics.median(evaluations("dev", 5))


def run(toolchain: Toolchain, root: Path) -> list[tuple[str, float, str]]:
    env = StackEnvironment("dev", root, toolchain)
    rows: list[tuple[str, float, str]] = []
    try:
        env.ensure_initialised()
        ws = env.workspace
        rows.append(("preview of a new stack", ws.pulumi("preview").seconds, ""))
        first = env.ensure_deployed()
        polls = polling(env.standin.requests(), env.standin.state())
        longest = max(polls.values())
        rows.append(
            (
                "first up",
                first.seconds,
                "provider polls, in parallel: "
                + ", ".join(f"{name} {wait:.1f} s" for name, wait in polls.items())
                + f"; the rest: {first.seconds - longest:.1f} s, of which the migrate pod is"
                " held 4 s",
            )
        )
        no_op = ws.pulumi("preview", "--expect-no-changes").seconds
        rows.append(("no-op preview", no_op, ""))
        ws.set_config("imageTag", "a1b2c3d")
        rows.append(("release up (new imageTag)", env.up().seconds, "migrate pod held 4 s"))
        ws.set_config("protectResources", "false")
        rows.append(("unprotect up", env.up().seconds, "docs/operations.md: Deleting a stack"))
        destroy = ws.pulumi("destroy", "--yes", "--skip-preview").seconds
        rows.append(("destroy", destroy, ""))
    finally:
        env.close()
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="scripts/bench --engine", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.parse_args(argv)
    toolchain = locate()
    ensure_installed()
    print(toolchain.describe())
    with tempfile.TemporaryDirectory(prefix="posts-infra-bench-") as tmp:
        started = time.perf_counter()
        rows = run(toolchain, Path(tmp))
        total = time.perf_counter() - started
    fresh, warm = evaluation_seconds()
    print("\n| command (dev) | wall time | note |\n|---|---|---|")
    for name, seconds, note in rows:
        print(f"| `{name}` | {seconds:.1f} s | {note} |")
    print(
        f"\nprogram evaluation under mocks: {fresh:.2f} s in a fresh process (imports included),"
        f" {warm * 1000:.0f} ms warm"
    )
    print(f"whole benchmark, environment start and stop included: {total:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
