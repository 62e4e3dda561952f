"""Every registration of a stack as the engine identifies it: URN, parent, dependencies, aliases.

    .venv/bin/python -m offline.registrations dev [--set key=value ...]          # read it
    .venv/bin/python -m offline.registrations dev --json > before.json           # keep it
    .venv/bin/python -m offline.registrations dev --against before.json          # compare

For refactorings, whose proof is that nothing changes: a resource's URN is its identity in state
(a new URN is a replacement, unless an alias names the old one), and its parent, dependencies,
provider and options decide what the engine does with it. The render (`offline/render.py`)
shows what is deployed; this shows who is who. Dump a stack with `--json` before a change and
compare the program after it with `--against`: a resource whose URN is new but whose alias
names a URN of before is matched to it, as the engine matches it in the state, and every other
difference is printed. Exit 0 when there is none.

URNs are written as the Pulumi engine makes them (the parent's whole type chain, without the
root stack), not as Pulumi's mock monitor does (only the parent's last type, the stack
included), so they read as `pulumi stack --show-urns` prints them. Stack config as in the
render (`Pulumi.<stack>.yaml`, secrets as placeholders); `--set key=value` overrides a plain key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from offline.simulate import PROJECT, Registration, Simulation, run_stack

STACK_TYPE = "pulumi:pulumi:Stack"
Record = dict[str, Any]  # one registration, every URN the engine's


class EngineUrns:
    """The engine's URN of each registration of a simulation, by the mock monitor's URN."""

    def __init__(self, simulation: Simulation) -> None:
        self.stack = simulation.stack
        self._by_mock = {r.urn: r for r in simulation.registrations}
        self._engine: dict[str, str] = {}

    def of(self, mock_urn: str) -> str:
        """The engine's URN for a URN the mock monitor gave out (the root stack's: "")."""
        if mock_urn not in self._engine:
            registration = self._by_mock.get(mock_urn)
            if registration is None:  # the root stack, or already an engine URN (an alias's)
                return "" if f"::{STACK_TYPE}::" in mock_urn else mock_urn
            self._engine[mock_urn] = self.make(
                registration.type, registration.name, self.of(registration.parent)
            )
        return self._engine[mock_urn]

    def make(
        self, type_: str, name: str, parent: str, project: str = PROJECT, stack: str = ""
    ) -> str:
        """`urn:pulumi:<stack>::<project>::<parent's qualified type>$<type>::<name>`."""
        qualified = f"{parent.split('::')[2]}${type_}" if parent else type_
        return f"urn:pulumi:{stack or self.stack}::{project}::{qualified}::{name}"

    def aliases(self, registration: Registration) -> list[str]:
        """Each alias as the URN the engine looks for in the state."""
        found = []
        for alias in registration.aliases:
            if "urn" in alias:
                found.append(alias["urn"])
                continue
            if alias.get("noParent"):
                parent = ""
            elif "parent" in alias:
                parent = self.of(alias["parent"])  # a resource's (mock) URN, or an engine URN
            else:
                parent = self.of(registration.parent)
            found.append(
                self.make(
                    alias.get("type", registration.type),
                    alias.get("name", registration.name),
                    parent,
                    alias.get("project", PROJECT),
                    alias.get("stack", ""),
                )
            )
        return found


def records(simulation: Simulation) -> list[Record]:
    """Every registration, sorted by URN."""
    urns = EngineUrns(simulation)

    def provider(reference: str) -> str:
        """`<provider URN>::<id>`, with the provider's URN as the engine's."""
        if not reference:
            return ""
        provider_urn, _, id_ = reference.rpartition("::")
        return f"{urns.of(provider_urn)}::{id_}"

    found = []
    for r in simulation.registrations:
        record: Record = {
            "urn": urns.of(r.urn),
            "parent": urns.of(r.parent),
            "custom": r.custom,
            "dependencies": sorted(urns.of(u) for u in r.dependencies),
            "property dependencies": {
                key: sorted(urns.of(u) for u in dependencies)
                for key, dependencies in sorted(r.property_dependencies.items())
            },
        }
        if r.custom:
            record |= {
                "provider": provider(r.provider),
                "protect": r.protect,
                "delete before replace": r.delete_before_replace,
                "ignore changes": sorted(r.ignore_changes),
                "replace on changes": sorted(r.replace_on_changes),
            }
        record["aliases"] = urns.aliases(r)
        found.append(record)
    return sorted(found, key=lambda record: record["urn"])


def text(found: list[Record]) -> str:
    """The records for reading: one block each."""
    blocks = []
    for record in found:
        lines = [record["urn"], f"  parent: {record['parent'] or '(the stack)'}"]
        for key, value in record.items():
            if key in ("urn", "parent"):
                continue
            if key == "provider" and not value:
                value = "(default)"
            if key == "property dependencies":
                value = [f"{k} <- {urn}" for k, urns in value.items() for urn in urns]
            if isinstance(value, list):
                lines += [f"  {key}: -"] if not value else [f"  {key}:"]
                lines += [f"    {item}" for item in value]
            else:
                lines.append(f"  {key}: {value}")
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)


def compare(before: list[Record], after: list[Record]) -> tuple[list[str], list[str]]:
    """(matched through an alias, differences) between two dumps of a stack.

    A URN of after that before lacks is matched to the URN of before that one of its aliases
    names, as the engine matches it in the state; every URN in after is read as matched. The
    aliases of a matched resource are not compared (they are what matched it; a Kubernetes
    resource also carries the provider's own aliases, which follow its parent)."""
    known = {record["urn"] for record in before}
    present = {record["urn"] for record in after}
    matched = {
        record["urn"]: next(
            (a for a in record["aliases"] if a in known and a not in present), record["urn"]
        )
        for record in after
    }

    def as_before(value: Any) -> Any:
        if isinstance(value, str):
            if value in matched:
                return matched[value]
            urn, _, id_ = value.rpartition("::")  # a provider reference: <urn>::<id>
            return f"{matched[urn]}::{id_}" if urn in matched else value
        if isinstance(value, list):
            return sorted(as_before(item) for item in value)
        if isinstance(value, dict):
            return {key: as_before(item) for key, item in value.items()}
        return value

    moved = sorted(f"{old} <- {new}" for new, old in matched.items() if old != new)
    renamed = {old for new, old in matched.items() if old != new}
    before_by_urn = {record["urn"]: record for record in before}
    after_by_urn = {}
    for record in after:
        rewritten = {key: as_before(value) for key, value in record.items()}
        if rewritten["urn"] in renamed:
            rewritten.pop("aliases")
        after_by_urn[rewritten["urn"]] = rewritten
    differences = [f"only before: {urn}" for urn in sorted(known - set(after_by_urn))]
    differences += [f"only after: {urn}" for urn in sorted(set(after_by_urn) - known)]
    for urn in sorted(known & set(after_by_urn)):
        old, new = before_by_urn[urn], after_by_urn[urn]
        for key in sorted(set(old) | set(new)):
            if key == "aliases" and urn in renamed:
                continue
            if old.get(key) != new.get(key):
                differences.append(f"{urn}\n  {key}: {old.get(key)!r}\n  now: {new.get(key)!r}")
    return moved, differences


def main(argv: list[str]) -> int:
    from config.settings import ConfigError
    from offline.simulate import UnknownStackError

    parser = argparse.ArgumentParser(
        prog="python -m offline.registrations",
        description="Every registration of a stack: URN, parent, dependencies, aliases.",
    )
    parser.add_argument("stack", help="e.g. dev (Pulumi.dev.yaml)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a plain config value"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="as JSON, for --against")
    output.add_argument("--against", type=Path, metavar="BEFORE.json", help="compare with it")
    options = parser.parse_args(argv)
    overrides = {}
    for item in options.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item}: expected KEY=VALUE")
        overrides[key] = value
    try:
        found = records(run_stack(options.stack, overrides))
    except (ConfigError, UnknownStackError) as error:
        print(f"registrations: {error}", file=sys.stderr)
        return 2
    if options.json:
        print(json.dumps(found, indent=1))
        return 0
    if options.against is None:
        sys.stdout.write(text(found))
        return 0
    moved, differences = compare(json.loads(options.against.read_text()), found)
    print(f"{len(found)} registrations; matched through an alias: {len(moved)}")
    print("".join(f"  {line}\n" for line in moved), end="")
    print(f"differences: {len(differences)}")
    print("".join(f"{line}\n" for line in differences), end="")
    return 1 if differences else 0


if __name__ == "__main__":
    exit_code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # As the render: no teardown of the SDKs' modules (and of the mocks' event loop, whose
    # finaliser complains at exit).
    os._exit(exit_code)
