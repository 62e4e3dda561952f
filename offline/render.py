"""Render a stack offline: what `pulumi up` would create, as files, without credentials or network.

    ./scripts/render dev [prod ...]     (or .venv/bin/python -m offline.render dev)

Writes `build/<stack>/`:
- `kubernetes/NN-<kind>-<name>.yaml`: every Kubernetes object, one per file, in apply order,
  headed by a comment naming its Pulumi resource (what `offline/diff.py` matches on);
- `digitalocean.yaml`: the DigitalOcean resources with their settings;
- `order.txt`: every resource in dependency order;
- `cost.md`: the monthly cost at the autoscaler's minimum and maximum;
- `capacity.md`: whether the pods fit the nodes at minNodes, at maxNodes with the api at its
  maximum, and while a release rolls (model/capacity.py, worded by offline/capacity_report.py);
- `first-deploy.md`: the first deploy's estimated critical path and floor, in minutes.
Secret values are placeholders here (the program runs under mocks) and are written as
`[secret]`; nothing secret is printed or written.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from offline import capacity_report, deploy_time
from offline.cost import estimate
from offline.dependencies import apply_order
from offline.simulate import REPO, Registration, Simulation, redact

HEADER_PREFIX = "# pulumi resource: "


def kubernetes_object(registration: Registration) -> dict[str, Any]:
    _, group_version, kind = registration.type.split(":")
    api_version = group_version.removeprefix("core/")
    body = redact(registration.inputs)
    body.pop("apiVersion", None)
    body.pop("kind", None)
    return {"apiVersion": api_version, "kind": kind, **body}


def _file_name(index: int, obj: dict[str, Any]) -> str:
    name = obj.get("metadata", {}).get("name", "unnamed")
    return f"{index:02d}-{obj['kind'].lower()}-{name}.yaml"


def header(registration: Registration) -> str:
    """The first line of an object's file: which Pulumi resource it is (what `diff` matches on)."""
    return f"{HEADER_PREFIX}{registration.name} ({registration.type})\n"


def render(stack: str, out_root: Path, simulation: Simulation | None = None) -> Path:
    """Write `out_root/<stack>/`; evaluates the program unless given that stack's simulation."""

    def phase(text: str) -> None:
        print(f"render {stack}: {text}", flush=True)

    started = time.perf_counter()
    if simulation is None:
        phase("evaluating the program under mocks (no credentials, no network)")
        from offline.simulate import run_stack

        simulation = run_stack(stack)
    ordered = apply_order(simulation)

    out = out_root / stack
    if out.exists():
        shutil.rmtree(out)
    (out / "kubernetes").mkdir(parents=True)

    phase("writing Kubernetes objects")
    index = 0
    for registration in ordered:
        if registration.type.startswith("kubernetes:") and registration.type.count(":") == 2:
            if registration.type == "kubernetes:helm.sh/v3:Release":
                continue
            index += 1
            obj = kubernetes_object(registration)
            path = out / "kubernetes" / _file_name(index, obj)
            body = yaml.safe_dump(obj, sort_keys=True, width=100)  # keys as kubectl sorts them
            path.write_text(header(registration) + body)

    phase("writing the DigitalOcean inventory and the dependency order")
    inventory = [
        {
            "type": r.type.split(":")[-1],
            "name": r.name,
            "protect": r.protect,
            "inputs": redact(r.inputs),
        }
        for r in ordered
        if r.type.startswith("digitalocean:") or r.type == "kubernetes:helm.sh/v3:Release"
    ]
    (out / "digitalocean.yaml").write_text(yaml.safe_dump(inventory, sort_keys=False, width=100))
    (out / "order.txt").write_text(
        "".join(f"{i:02d} {r.type} {r.name}\n" for i, r in enumerate(ordered, start=1))
    )

    phase("estimating the monthly cost")
    (out / "cost.md").write_text(estimate(simulation).markdown())
    (out / "first-deploy.md").write_text(deploy_time.estimate(simulation).markdown())
    settings = simulation.program["settings"]
    (out / "capacity.md").write_text(capacity_report.markdown(stack, settings.capacity))

    elapsed = time.perf_counter() - started
    phase(
        f"{index} Kubernetes objects, {len(inventory)} DigitalOcean resources"
        f" -> {out} ({elapsed:.2f} s)"
    )
    return out


def main(argv: list[str]) -> int:
    import argparse

    from config.settings import ConfigError
    from offline.simulate import UnknownStackError

    parser = argparse.ArgumentParser(prog="scripts/render", description="Render stacks offline.")
    parser.add_argument("stacks", nargs="+", metavar="stack", help="e.g. dev (Pulumi.dev.yaml)")
    parser.add_argument("--out", type=Path, default=REPO / "build", help="default: build/")
    options = parser.parse_args(argv)
    try:
        for stack in options.stacks:  # one process: the SDKs are imported once for all stacks
            render(stack, options.out)
    except (ConfigError, UnknownStackError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    # A short-lived command, so two savings of about a second together: no cyclic garbage
    # collection while the provider SDKs are imported (hundreds of thousands of objects, none of
    # them garbage), and no teardown of those modules at exit. Every file is closed by now.
    gc.disable()
    exit_code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
