"""A refactoring can be shown to keep every resource's identity: `offline/registrations.py`
dumps each registration as the engine identifies it and matches moved resources by their
aliases, as the engine does in the state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline.registrations import EngineUrns, Record, compare, main, records
from offline.simulate import Registration, Simulation

STACK = "urn:pulumi:s::posts-infra::pulumi:pulumi:Stack::posts-infra-s"


def registration(urn: str, type_: str, name: str, parent: str, **extra: object) -> Registration:
    fields: dict = {
        "custom": True,
        "inputs": {},
        "dependencies": [],
        "property_dependencies": {},
        "protect": False,
        "ignore_changes": [],
        "provider": "",
        "delete_before_replace": False,
        "replace_on_changes": [],
    }
    fields.update(extra)
    return Registration(urn=urn, type=type_, name=name, parent=parent, **fields)


def test_urns_carry_every_parent_type_as_the_engine_makes_them_not_the_mocks() -> None:
    """The mock monitor prefixes only the parent's last type (and the stack's); the engine the
    whole chain, without the stack. A component inside a component shows the difference."""
    outer = registration(
        "urn:pulumi:s::posts-infra::pulumi:pulumi:Stack$posts:x:Outer::outer",
        "posts:x:Outer",
        "outer",
        STACK,
        custom=False,
    )
    inner = registration(
        "urn:pulumi:s::posts-infra::posts:x:Outer$posts:x:Inner::inner",
        "posts:x:Inner",
        "inner",
        outer.urn,
        custom=False,
    )
    leaf = registration(
        "urn:pulumi:s::posts-infra::posts:x:Inner$t:m:Leaf::leaf",
        "t:m:Leaf",
        "leaf",
        inner.urn,
        aliases=[{"parent": outer.urn}, {"noParent": True, "name": "old"}],
    )
    urns = EngineUrns(Simulation("s", [outer, inner, leaf], {}, []))
    assert urns.of(outer.urn) == "urn:pulumi:s::posts-infra::posts:x:Outer::outer"
    assert (
        urns.of(leaf.urn) == "urn:pulumi:s::posts-infra::posts:x:Outer$posts:x:Inner$t:m:Leaf::leaf"
    )
    assert urns.aliases(leaf) == [
        "urn:pulumi:s::posts-infra::posts:x:Outer$t:m:Leaf::leaf",
        "urn:pulumi:s::posts-infra::t:m:Leaf::old",
    ]


def record(urn: str, parent: str = "", **extra: object) -> Record:
    return {"urn": urn, "parent": parent, "dependencies": [], "aliases": [], **extra}


A, B = "urn:pulumi:s::p::t:A::a", "urn:pulumi:s::p::t:B::b"
OLD_CHILD, NEW_CHILD = "urn:pulumi:s::p::t:A$t:C::c", "urn:pulumi:s::p::t:B$t:C::c"


def test_a_resource_moved_with_an_alias_to_its_old_urn_is_the_same_resource() -> None:
    before = [record(A), record(B), record(OLD_CHILD, A), record("x", dependencies=[OLD_CHILD])]
    after = [
        record(A),
        record(B),
        record(NEW_CHILD, B, aliases=[OLD_CHILD]),
        record("x", dependencies=[NEW_CHILD]),
    ]
    moved, differences = compare(before, after)
    assert moved == [f"{OLD_CHILD} <- {NEW_CHILD}"]
    # matched, but its parent is another one: that is said
    assert differences == [f"{OLD_CHILD}\n  parent: '{A}'\n  now: '{B}'"]


def test_a_move_without_an_alias_or_a_new_dependency_is_a_difference() -> None:
    before = [record(A), record(B), record(OLD_CHILD, A)]
    moved, differences = compare(before, [record(A), record(B), record(NEW_CHILD, B)])
    assert moved == []
    assert differences == [f"only before: {OLD_CHILD}", f"only after: {NEW_CHILD}"]
    _, differences = compare(before, [record(A), record(B, dependencies=[A]), record(OLD_CHILD, A)])
    assert differences == [f"{B}\n  dependencies: []\n  now: ['{A}']"]


def test_a_stack_compared_with_itself_has_no_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: Simulation
) -> None:
    assert main(["dev", "--json"]) == 0
    dumped = capsys.readouterr().out
    assert json.loads(dumped) == records(dev)
    (tmp_path / "before.json").write_text(dumped)
    assert main(["dev", "--against", str(tmp_path / "before.json")]) == 0
    assert "differences: 0" in capsys.readouterr().out
    urns = [r["urn"] for r in records(dev)]
    vpc = "urn:pulumi:dev::posts-infra::posts:platform:Network$digitalocean:index/vpc:Vpc"
    assert f"{vpc}::network-vpc" in urns


def test_a_resource_the_change_adds_is_named(tmp_path: Path, dev: Simulation) -> None:
    (tmp_path / "before.json").write_text(json.dumps(records(dev)))
    against = ["--against", str(tmp_path / "before.json")]
    dns = ["--set", "hostname=posts.example.com", "--set", "dnsDomain=example.com"]
    assert main(["dev", *dns, *against]) == 1
