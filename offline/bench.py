"""Benchmarks: how long the offline program, the render command and the test command take.

    ./scripts/bench [stack ...] [--runs N] [--tests]

- evaluation: `__main__.py` under mocks, in one warm process (the first evaluation, which
  imports the provider SDKs, is reported apart);
- render: `python -m offline.render <stack>` (what `scripts/render` runs), a fresh process each
  run, wall time (target < 2 s per stack), and all stacks in one process;
- with `--tests`: the test command's fast part, as `./scripts/test` runs it before the end-to-end
  suite (ruff, ruff format, mypy, `pytest -m "not e2e" -n 2`), wall time (target < 60 s on 2 cores);
  the end-to-end suite is timed by `time ./scripts/e2e` (minutes; docs/e2e.md).
Wall times include Python start-up and imports. Medians over `--runs` (default 5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from offline.simulate import REPO, run_stack, stack_names

# What ./scripts/test runs before ./scripts/e2e (the virtualenvs' bin first on PATH).
FAST_PART = (
    "ruff check .",
    "ruff format --check .",
    "mypy",
    'pytest -q -m "not e2e" -n 2 -p no:cacheprovider',
)


def wall(command: list[str], runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True, capture_output=True)
        timings.append(time.perf_counter() - start)
    return timings


def evaluations(stack: str, runs: int) -> list[float]:
    """Seconds of each of `runs` evaluations of the program for `stack` under mocks, in this
    (warm) process."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        run_stack(stack)
        timings.append(time.perf_counter() - start)
    return timings


def summary(timings: list[float]) -> str:
    return (
        f"median {statistics.median(timings):.2f} s, min {min(timings):.2f} s,"
        f" max {max(timings):.2f} s over {len(timings)} runs"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument("stacks", nargs="*", help="default: every Pulumi.<stack>.yaml")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--tests", action="store_true", help="also time the test command's fast part"
    )
    options = parser.parse_args(argv)
    runs = options.runs
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")

    stacks = options.stacks or stack_names()
    first = time.perf_counter()
    run_stack(stacks[0])
    print(
        "first evaluation in a process (imports the SDK modules it uses):"
        f" {time.perf_counter() - first:.2f} s"
    )
    for stack in stacks:
        timings = evaluations(stack, runs)
        simulation = run_stack(stack)
        kubernetes = [r for r in simulation.registrations if r.type.startswith("kubernetes:")]
        digitalocean = [r for r in simulation.registrations if r.type.startswith("digitalocean:")]
        print(
            f"evaluation {stack}: median {statistics.median(timings) * 1000:.0f} ms,"
            f" max {max(timings) * 1000:.0f} ms over {runs} runs; {len(kubernetes)} Kubernetes"
            f" objects, {len(digitalocean)} DigitalOcean resources,"
            f" {len(simulation.registrations)} registrations in all"
        )

    render = [sys.executable, "-m", "offline.render"]
    for stack in stacks:
        print(f"render {stack} (fresh process): {summary(wall([*render, stack], runs))}")
    together = wall([*render, *stacks], runs)
    print(
        f"render {' '.join(stacks)} (one process): {summary(together)};"
        f" {statistics.median(together) / len(stacks):.2f} s per stack"
    )
    if options.tests:
        fast = " && ".join(FAST_PART)
        print(f"test command, fast part ({fast}): {summary(wall(['bash', '-c', fast], 1))}")


if __name__ == "__main__":
    main(sys.argv[1:])
