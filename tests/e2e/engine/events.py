"""The engine's event log (`pulumi up --event-log FILE`), read as steps in sequence.

Each resource step shows up as a `resourcePreEvent` when the engine starts it and a
`resOutputsEvent` (or `resOpFailedEvent`) when it ends. Event `sequence` numbers order them; the
objects' own timestamps have one-second resolution and cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

STARTED, ENDED, FAILED = "started", "ended", "failed"
_KINDS = {"resourcePreEvent": STARTED, "resOutputsEvent": ENDED, "resOpFailedEvent": FAILED}
# Operations that change something (a preview's or an update's steps); `same` and `read` do not.
CHANGES = frozenset(
    {"create", "update", "delete", "replace", "create-replacement", "delete-replaced"}
)


@dataclass(frozen=True)
class StepEvent:
    sequence: int
    kind: str  # started | ended | failed
    op: str  # create, update, same, create-replacement, replace, delete-replaced, ...
    urn: str
    type: str

    @property
    def name(self) -> str:
        """The logical name: the last part of the URN."""
        return self.urn.rsplit("::", 1)[-1]


def step_events(events: Iterable[Mapping[str, Any]]) -> list[StepEvent]:
    found = []
    for event in events:
        for key, kind in _KINDS.items():
            if key in event:
                metadata = event[key].get("metadata") or {}
                found.append(
                    StepEvent(
                        sequence=int(event.get("sequence", 0)),
                        kind=kind,
                        op=str(metadata.get("op", "")),
                        urn=str(metadata.get("urn", "")),
                        type=str(metadata.get("type", "")),
                    )
                )
    return sorted(found, key=lambda e: e.sequence)


def changes(events: Iterable[Mapping[str, Any]]) -> list[StepEvent]:
    """Steps that changed something (started), e.g. to show a no-op run changed nothing."""
    return [e for e in step_events(events) if e.kind == STARTED and e.op in CHANGES]


def first(
    steps: list[StepEvent], name: str, kind: str, ops: Iterable[str] | None = None
) -> StepEvent | None:
    wanted = set(ops) if ops is not None else None
    for step in steps:
        if step.name == name and step.kind == kind and (wanted is None or step.op in wanted):
            return step
    return None


def ordered_after(
    events: Iterable[Mapping[str, Any]], prerequisite: str, dependents: Iterable[str]
) -> list[str]:
    """Problems with "every dependent's change starts only after `prerequisite`'s creation ended"
    (resource logical names); empty when the order holds."""
    steps = step_events(events)
    created = first(steps, prerequisite, ENDED, ("create", "create-replacement"))
    if created is None:
        return [f"{prerequisite}: no completed creation in the event log"]
    problems = []
    for dependent in dependents:
        change = first(steps, dependent, STARTED, CHANGES)
        if change is None:
            problems.append(f"{dependent}: no change in the event log")
        elif change.sequence < created.sequence:
            problems.append(
                f"{dependent}: {change.op} started at event {change.sequence}, before"
                f" {prerequisite} was created (event {created.sequence})"
            )
    return problems
