"""Benchmark: how long evaluating the whole program for a stack takes under mocks.

    .venv/bin/python -m offline.bench [stack ...] [--runs N]

Imports (pulumi, the provider SDKs) are paid once per process and reported apart; each run
then evaluates `__main__.py` from settings to stack outputs and awaits every resource.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="offline.bench")
    parser.add_argument("stacks", nargs="*", help="default: every Pulumi.<stack>.yaml")
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args(argv)
    runs = options.runs
    started = time.perf_counter()
    from offline.simulate import run_stack, stack_names

    import_seconds = time.perf_counter() - started
    stacks = options.stacks or stack_names()
    first = time.perf_counter()
    run_stack(stacks[0])
    first_seconds = time.perf_counter() - first
    print(
        f"imports: {import_seconds:.2f} s; first evaluation (loads the SDK modules it uses): "
        f"{first_seconds:.2f} s"
    )
    for stack in stacks:
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            simulation = run_stack(stack)
            timings.append(time.perf_counter() - start)
        kubernetes = [r for r in simulation.registrations if r.type.startswith("kubernetes:")]
        digitalocean = [r for r in simulation.registrations if r.type.startswith("digitalocean:")]
        print(
            f"{stack}: evaluation median {statistics.median(timings) * 1000:.0f} ms, "
            f"max {max(timings) * 1000:.0f} ms over {runs} runs; "
            f"{len(kubernetes)} Kubernetes objects, {len(digitalocean)} DigitalOcean resources, "
            f"{len(simulation.registrations)} registrations in all"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
