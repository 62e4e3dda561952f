"""Where the end-to-end suite's CPU went, by command, from the logs of its last run.

    .venv/bin/python -m tests.e2e.commands.cpu [build/e2e]

Every `pulumi` command the suite runs (and every operator's script: drift aside, which writes
its own result) logs its first line as "`<command>` exited N after S s (C CPU-s)": the CPU time
of its whole process tree (CLI, plugins, language host, program), as the test process's reaped
children account it. This adds them up per kind of command (`up`, `preview`, `config set`, ...)
and per worker group, so a change to the suite's cost shows in CPU-seconds, which do not depend
on how busy the machine was. What the commands do not cover (control planes, Prism, the test
processes) is the run's total CPU (`time ./scripts/e2e`) minus this.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.engine.toolchain import REPO

FIRST_LINE = re.compile(
    r"`(?P<command>[^`]*)` exited (?P<code>\d+)(?: after [\d.]+ s)? \((?P<cpu>[\d.]+) CPU-s\)"
)


@dataclass(frozen=True)
class Logged:
    """One command of the run: its kind, where it ran, its CPU-seconds."""

    kind: str
    place: str
    cpu: float


def kind_of(command: str) -> str:
    """`pulumi up`, `pulumi config set`, `scripts/recover`: the command without its values."""
    words = command.split()
    if not words:
        return "?"
    if words[0] == "pulumi":
        verbs = [w for w in words[1:3] if not w.startswith("-")]
        if verbs[:1] == ["config"] or verbs[:1] == ["stack"]:
            return " ".join(["pulumi", *verbs])
        return " ".join(["pulumi", *verbs[:1]])
    return "scripts/" + Path(words[0]).name


def read(root: Path) -> list[Logged]:
    """Each command logged under `root` (a run's build/e2e), once: pytest's `*current` links to
    the newest folder are skipped."""
    found = []
    for path in sorted(root.rglob("*.log")):
        relative = path.relative_to(root)
        if any(part.endswith("current") for part in relative.parts):
            continue
        with path.open(errors="replace") as log:
            matched = FIRST_LINE.match(log.readline())
        if matched:
            place = "/".join(relative.parts[:-2]) or "."
            found.append(Logged(kind_of(matched["command"]), place, float(matched["cpu"])))
    return found


def table(rows: Iterable[tuple[str, int, float]], heading: str) -> list[str]:
    lines = [f"{'count':>6} {'CPU-s':>8}  {heading}"]
    lines += [f"{count:6d} {cpu:8.1f}  {name}" for name, count, cpu in rows]
    return lines


def summary(logged: list[Logged], places: int = 15) -> str:
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_place: dict[str, list[float]] = defaultdict(list)
    for entry in logged:
        by_kind[entry.kind].append(entry.cpu)
        by_place[entry.place].append(entry.cpu)

    def ranked(groups: dict[str, list[float]]) -> list[tuple[str, int, float]]:
        rows = [(name, len(cpus), sum(cpus)) for name, cpus in groups.items()]
        return sorted(rows, key=lambda row: -row[2])

    total = sum(entry.cpu for entry in logged)
    lines = [f"{len(logged)} commands, {total:.1f} CPU-s ({total / 60:.1f} CPU-min)", ""]
    lines += table(ranked(by_kind), "kind of command")
    lines += ["", *table(ranked(by_place)[:places], "where (worker / workspace)")]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=REPO / "build" / "e2e")
    options = parser.parse_args(argv)
    logged = read(options.root)
    if not logged:
        print(
            f"cpu: no command logs under {options.root} (run ./scripts/e2e first)", file=sys.stderr
        )
        return 1
    print(summary(logged), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
