"""Drift check of one stack: is what runs still what the program declares?

    ./scripts/drift STACK [--json FILE] [--cwd DIR]
    python -m ops.drift STACK [--json FILE] [--cwd DIR]

Runs `pulumi preview --refresh --expect-no-changes --diff --json` for STACK in the Pulumi project
at DIR (default: this repository). The refresh reads every resource as it is now; the preview
compares that with the program. Nothing is changed and nothing is written to the state.

A resource that matches the program but is not ready at this moment (a Deployment still rolling
out or scaling up: the Kubernetes provider's read reports it unready, and the engine then plans an
update with no changed property, to wait for it again) is not drift: the report lists it apart.

Exit status: 0 clean (not-ready resources included); 1 drift, with a short report naming each
drifted resource (type, name, each changed property with its live and its declared value); 2 any
other failure, with the CLI's error. Values the engine holds as secrets print as [secret], as do
the values of a Kubernetes Secret and, anywhere in the report, the values of credential variables
of the environment. `--json FILE` also writes the result as JSON, which `ops.drift_issue` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

EXIT_CLEAN = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2
STATUS_EXIT = {"clean": EXIT_CLEAN, "drift": EXIT_DRIFT, "error": EXIT_ERROR}

SECRET = "[secret]"
# The key Pulumi marks a secret value with, in state and engine output.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
# Objects whose data values are secret even where the engine output would not mark them.
SECRET_DATA_TYPES = {"kubernetes:core/v1:Secret"}
SECRET_DATA_FIELDS = {"data", "stringData"}
# Environment variables whose values never appear in a report (as in tests/test_workflows.py,
# plus the backend URL, which names the state bucket).
CREDENTIAL_NAME = re.compile(r"SECRET|TOKEN|PASSPHRASE|PASSWORD|KEY|BACKEND_URL", re.IGNORECASE)
CREDENTIAL_MIN_LENGTH = 8  # shorter values ("1", "true") would blank out ordinary words
TOKEN_SHAPES = re.compile(
    r"do[opr]_v1_[0-9a-f]{16,}"  # DigitalOcean
    r"|gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key IDs
)

STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*")
PREVIEW_TIMEOUT_SECONDS = 1800

# Steps that change nothing: the refresh itself, unchanged resources, reads.
UNCHANGED_OPS = {"same", "refresh", "read", "discard"}
# The halves of a replacement, listed by some CLI versions beside the `replace` step.
REPLACEMENT_HALVES = {"create-replacement", "delete-replaced", "read-replacement"}
OP_SYMBOL = {"update": "~", "replace": "+-", "create": "+", "delete": "-"}
OP_MEANING = {
    "update": "differs from the program; `pulumi up --refresh` updates it in place",
    "replace": (
        "differs in a property that cannot change in place; `pulumi up --refresh` replaces it"
    ),
    "create": "is missing (deleted outside Pulumi?); `pulumi up --refresh` creates it again",
    "delete": "is in the state but not in the program; `pulumi up --refresh` deletes it",
}
VALUE_WIDTH = 160
# Bookkeeping the API adds to a value, left out of the report so the value itself shows.
NOISE_KEYS = {
    "createdAt",
    "created_at",
    "creationTimestamp",
    "generation",
    "managedFields",
    "resourceVersion",
    "uid",
    "uuid",
}
MESSAGE_LINES = 12
# Engine messages that only repeat that something failed.
BOILERPLATE = {
    "preview failed",
    "update failed",
    "Resource monitor has terminated, shutting down",
}
# Field managers: Pulumi's own (its server-side apply manager is `pulumi-kubernetes-<id>`), and
# those pulumi-kubernetes takes fields over from on its next apply (fixCSAFieldManagers: kubectl's
# writes and the first owner, on the object itself, never through a subresource such as `scale`).
# Any other owner of a field Pulumi sets makes that apply fail with a conflict.
PULUMI_MANAGERS = ("pulumi-kubernetes", "pulumi-resource-kubernetes")
TAKEN_OVER = ("kubectl", "before-first-apply")
# A server-side apply conflict: another field manager (kubectl, a controller) now owns a field.
CONFLICT = "apply conflict"
CONFLICT_MEANING = (
    "differs from the program, and another field manager now owns the field (server-side apply"
    " conflict): `pulumi up --refresh` stops on it; see docs/drift.md"
)
PATH_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
MISSING = object()


@dataclass(frozen=True)
class Change:
    """One property that differs: its live value and the program's, as displayed (masked);
    None where the property is absent."""

    path: str
    kind: str  # update, add, delete; `-replace` when it forces a replacement
    live: str | None
    program: str | None
    # Kubernetes: who else manages the field, and whether Pulumi's apply conflicts with them.
    note: str | None = None
    conflict: bool = False

    def describe(self) -> str:
        live = "(absent)" if self.live is None else self.live
        program = "(absent)" if self.program is None else self.program
        text = f"{self.path}: {live} -> {program}"
        if self.kind.endswith("-replace"):
            text += " (forces replacement)"
        if self.note:
            text += f" [{self.note}]"
        return text


@dataclass(frozen=True)
class Drifted:
    """One resource whose live state differs from the program."""

    urn: str
    type: str
    name: str
    op: str  # update, replace, create, delete, ...
    changes: tuple[Change, ...] = ()

    def describe(self, conflict: bool = False) -> list[str]:
        symbol = OP_SYMBOL.get(self.op, "*")
        meaning = OP_MEANING.get(self.op, f"`pulumi up --refresh` would {self.op} it")
        if conflict or any(change.conflict for change in self.changes):
            meaning = CONFLICT_MEANING
        lines = [f"{symbol} {display_type(self.type)} {self.name}: {meaning}"]
        lines += [f"    {change.describe()}" for change in self.changes]
        return lines


@dataclass(frozen=True)
class NotReady:
    """A resource that matches the program but that the provider's read found not ready: the
    engine plans an update with no changed property for it, only to await it again."""

    urn: str
    type: str
    name: str
    reasons: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        lines = [f"  {display_type(self.type)} {self.name}"]
        lines += [f"    {reason}" for reason in self.reasons]
        return lines


@dataclass(frozen=True)
class DriftResult:
    stack: str
    status: str  # clean, drift, error
    resources: tuple[Drifted, ...] = ()
    errors: tuple[str, ...] = ()
    not_ready: tuple[NotReady, ...] = ()

    @property
    def exit_code(self) -> int:
        return STATUS_EXIT[self.status]

    def report(self) -> str:
        if self.status == "clean":
            text = f"Stack {self.stack}: no drift; every resource matches the program.\n"
            return text + self._not_ready_report()
        if self.status == "error":
            lines = [f"Stack {self.stack}: the drift check failed (no verdict):"]
            lines += [_indent(error) for error in self.errors]
            return "\n".join(lines) + "\n"
        count = len(self.resources)
        lines = [
            f"Stack {self.stack}: drift in {count} resource{'s' if count != 1 else ''}"
            " (live value -> value the program declares):",
            "",
        ]
        for resource in self.resources:
            conflict = any(_is_conflict_of(resource.name, error) for error in self.errors)
            lines += resource.describe(conflict)
        if self.errors:
            lines += ["", "The preview also failed, so this list may be incomplete:"]
            lines += [_indent(error) for error in self.errors]
        lines += [
            "",
            "Next: docs/drift.md (`pulumi up --refresh` restores the declared state, except in"
            " the cases listed there).",
        ]
        return "\n".join(lines) + "\n" + self._not_ready_report()

    def _not_ready_report(self) -> str:
        if not self.not_ready:
            return ""
        lines = [
            "",
            "Not ready at the time of the check (not drift: each matches the program; a rollout"
            " or a scale-up in progress, or pods that do not start):",
        ]
        for resource in self.not_ready:
            lines += resource.describe()
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "status": self.status,
            "exitCode": self.exit_code,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "op": r.op,
                    "changes": [
                        {
                            "path": c.path,
                            "kind": c.kind,
                            "live": c.live,
                            "program": c.program,
                            "note": c.note,
                            "conflict": c.conflict,
                        }
                        for c in r.changes
                    ],
                }
                for r in self.resources
            ],
            "errors": list(self.errors),
            "notReady": [
                {"urn": r.urn, "type": r.type, "name": r.name, "reasons": list(r.reasons)}
                for r in self.not_ready
            ],
            "report": self.report(),
        }

    @staticmethod
    def from_json(document: Mapping[str, Any]) -> DriftResult:
        """The result `--json` wrote; ValueError if it is not one."""
        stack, status = document.get("stack"), document.get("status")
        if not isinstance(stack, str) or not STACK_NAME.fullmatch(stack):
            raise ValueError(f"no valid stack name in the result: {stack!r}")
        if status not in STATUS_EXIT:
            raise ValueError(f"unknown status {status!r}")
        resources = tuple(
            Drifted(
                urn=str(r["urn"]),
                type=str(r["type"]),
                name=str(r["name"]),
                op=str(r["op"]),
                changes=tuple(
                    Change(
                        path=str(c["path"]),
                        kind=str(c["kind"]),
                        live=None if c.get("live") is None else str(c["live"]),
                        program=None if c.get("program") is None else str(c["program"]),
                        note=None if c.get("note") is None else str(c["note"]),
                        conflict=bool(c.get("conflict")),
                    )
                    for c in r.get("changes") or []
                ),
            )
            for r in document.get("resources") or []
        )
        errors = tuple(str(e) for e in document.get("errors") or [])
        not_ready = tuple(
            NotReady(
                urn=str(r["urn"]),
                type=str(r["type"]),
                name=str(r["name"]),
                reasons=tuple(str(reason) for reason in r.get("reasons") or []),
            )
            for r in document.get("notReady") or []
        )
        return DriftResult(stack, status, resources, errors, not_ready)


@dataclass
class Redactor:
    """Replaces credential values of the environment, and token-shaped strings, by [secret]."""

    values: list[str] = field(default_factory=list)

    @staticmethod
    def from_environment(environ: Mapping[str, str]) -> Redactor:
        values = {
            value
            for name, value in environ.items()
            if CREDENTIAL_NAME.search(name) and len(value) >= CREDENTIAL_MIN_LENGTH
        }
        return Redactor(sorted(values, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, SECRET)
        return TOKEN_SHAPES.sub(SECRET, text)


# -- reading the preview ---------------------------------------------------------------------------


def preview_command(stack: str) -> list[str]:
    return [
        "pulumi",
        "preview",
        "--refresh",
        "--expect-no-changes",
        "--diff",
        "--json",
        "--stack",
        stack,
        "--non-interactive",
    ]


def interpret(
    stack: str, returncode: int, stdout: str, stderr: str, environ: Mapping[str, str]
) -> DriftResult:
    """The verdict from what `pulumi preview --json` printed and its exit status."""
    redact = Redactor.from_environment(environ)
    try:
        document = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        reason = _tail(stderr) or f"pulumi exited {returncode} and printed no result"
        return DriftResult(stack, "error", errors=(redact(reason),))
    resources, not_ready = drifted_resources(document, redact)
    errors = tuple(redact(error) for error in diagnostic_errors(document))
    if resources:
        return DriftResult(stack, "drift", resources, errors, not_ready)
    if not_ready and not errors:
        # `--expect-no-changes` fails on the empty updates planned for them: that is no drift.
        return DriftResult(stack, "clean", not_ready=not_ready)
    if returncode != 0 or errors:
        reasons = errors or (redact(_tail(stderr) or f"pulumi exited {returncode}"),)
        return DriftResult(stack, "error", errors=reasons)
    return DriftResult(stack, "clean")


def drifted_resources(
    document: Mapping[str, Any], redact: Redactor
) -> tuple[tuple[Drifted, ...], tuple[NotReady, ...]]:
    """The resources that differ from the program, and those that only are not ready."""
    steps = [step for step in document.get("steps") or [] if isinstance(step, dict)]
    replaced = {step.get("urn") for step in steps if step.get("op") == "replace"}
    found: dict[str, Drifted] = {}
    not_ready: dict[str, NotReady] = {}
    for step in steps:
        op, urn = str(step.get("op", "")), str(step.get("urn", ""))
        if op in UNCHANGED_OPS:
            continue
        if op in REPLACEMENT_HALVES:
            if urn in replaced:
                continue
            op = "replace"
        if urn in found:
            continue
        resource_type, name = urn_type_and_name(urn)
        changes = tuple(step_changes(step, resource_type, redact))
        if op == "update" and not changes:
            # The engine's update of a resource with initialization errors and no diff.
            reasons = init_errors(step, redact)
            not_ready[urn] = NotReady(urn, resource_type, name, reasons)
            continue
        found[urn] = Drifted(urn, resource_type, name, op, changes)
    return tuple(found.values()), tuple(not_ready.values())


def init_errors(step: Mapping[str, Any], redact: Redactor) -> tuple[str, ...]:
    """Why the provider found the resource not ready, as the refreshed state records it."""
    old = step.get("oldState") or {}
    reasons = [
        redact(" ".join(_clean_message(str(e)).splitlines())) for e in old.get("initErrors") or []
    ]
    return tuple(reason for reason in reasons if reason)


def step_changes(step: Mapping[str, Any], resource_type: str, redact: Redactor) -> list[Change]:
    old = step.get("oldState") or {}
    new = step.get("newState") or {}
    detailed = step.get("detailedDiff") or {}
    entries: list[tuple[str, str, bool]] = []
    if isinstance(detailed, dict) and detailed:
        for path, diff in detailed.items():
            diff = diff if isinstance(diff, dict) else {}
            kind = str(diff.get("kind", "update"))
            entries.append((str(path), kind, bool(diff.get("inputDiff"))))
    else:
        replacing = set(step.get("replaceReasons") or [])
        for path in sorted({*(step.get("diffReasons") or []), *replacing}):
            kind = "update-replace" if path in replacing else "update"
            entries.append((str(path), kind, True))
    changes = []
    for path, kind, input_diff in sorted(entries):
        parts = split_path(path)
        # The engine compares the new inputs with the old inputs (inputDiff) or, after a
        # refresh, with the live outputs.
        old_values = old.get("inputs") if input_diff else old.get("outputs", old.get("inputs"))
        live = MISSING if kind.startswith("add") else lookup(old_values, parts)
        program = MISSING if kind.startswith("delete") else lookup(new.get("inputs"), parts)
        secret = (
            resource_type in SECRET_DATA_TYPES
            and bool(parts)
            and str(parts[0]) in SECRET_DATA_FIELDS
        )
        note, conflict = None, False
        if step.get("op") == "update" and resource_type.startswith("kubernetes:"):
            note, conflict = ownership(field_managers(old.get("outputs"), parts))
        changes.append(
            Change(
                path,
                kind,
                show(live, secret, redact),
                show(program, secret, redact),
                note,
                conflict,
            )
        )
    return changes


def field_managers(outputs: Any, parts: Sequence[str | int]) -> list[tuple[str, str]]:
    """(manager, subresource) of every field manager but Pulumi's that owns the field at
    `parts` of a live Kubernetes object (its `metadata.managedFields`)."""
    managed = lookup(outputs, ["metadata", "managedFields"])
    if not isinstance(managed, list) or not parts or any(isinstance(p, int) for p in parts):
        return []
    found = []
    for entry in managed:
        if not isinstance(entry, dict):
            continue
        manager = str(entry.get("manager", ""))
        if manager.startswith(PULUMI_MANAGERS):
            continue
        fields: Any = entry.get("fieldsV1")
        for part in parts:
            fields = fields.get(f"f:{part}") if isinstance(fields, dict) else None
        if fields is not None:
            found.append((manager, str(entry.get("subresource") or "")))
    return found


def ownership(managers: list[tuple[str, str]]) -> tuple[str | None, bool]:
    """A note on who else manages a drifted field, and whether Pulumi's next apply conflicts."""
    if not managers:
        return None, False
    conflicting = [
        (manager, subresource)
        for manager, subresource in managers
        if subresource or not manager.startswith(TAKEN_OVER)
    ]
    names = ", ".join(
        f"{manager} via the {subresource} subresource" if subresource else manager
        for manager, subresource in (conflicting or managers)
    )
    if conflicting:
        return f"owned by {names}: the apply conflicts", True
    return f"set by {names}: Pulumi takes the field back", False


def diagnostic_errors(document: Mapping[str, Any]) -> list[str]:
    errors = []
    for diagnostic in document.get("diagnostics") or []:
        if not isinstance(diagnostic, dict) or diagnostic.get("severity") != "error":
            continue
        message = _clean_message(str(diagnostic.get("message", "")))
        if not message or message in BOILERPLATE:
            continue
        urn = diagnostic.get("urn")
        errors.append(f"{urn_type_and_name(str(urn))[1]}: {message}" if urn else message)
    return errors


# -- values ----------------------------------------------------------------------------------------


def split_path(path: str) -> list[str | int]:
    """`spec.replicas`, `rules[1]`, `metadata.labels["app.kubernetes.io/name"]` as keys."""
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = PATH_TOKEN.match(path, position)
        if match is None or match.end() == position:
            return [path]  # not a path this parser knows: looked up as one key
        name, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            parts.append(name)
        position = match.end()
    return parts


def lookup(value: Any, parts: Sequence[str | int]) -> Any:
    """The value at `parts`, MISSING if absent; a secret on the way is the whole answer."""
    for part in parts:
        if is_secret(value):
            return SECRET
        if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
        elif isinstance(value, dict) and str(part) in value:
            value = value[str(part)]
        else:
            return MISSING
    return value


def is_secret(value: Any) -> bool:
    return value == SECRET or (isinstance(value, dict) and SECRET_SIGNATURE in value)


def mask(value: Any) -> Any:
    """`value` with every secret as [secret], without the engine's bookkeeping keys
    (`__defaults`, ...) nor the API's (NOISE_KEYS)."""
    if is_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {
            k: mask(v)
            for k, v in value.items()
            if not str(k).startswith("__") and str(k) not in NOISE_KEYS
        }
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value


def show(value: Any, secret: bool, redact: Redactor) -> str | None:
    """One value as the report prints it; None where absent."""
    if value is MISSING:
        return None
    if secret:
        value = {key: SECRET for key in value} if isinstance(value, dict) else SECRET
    value = mask(value)
    if value == SECRET:
        return SECRET
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = redact(text)
    if len(text) > VALUE_WIDTH:
        text = text[: VALUE_WIDTH - 3] + "..."
    return text


def urn_type_and_name(urn: str) -> tuple[str, str]:
    """(type, name) of `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`."""
    parts = urn.split("::", 3)
    if len(parts) < 4:
        return "", urn
    return parts[2].rsplit("$", 1)[-1], parts[3]


def display_type(token: str) -> str:
    """The type as the CLI shows it: `digitalocean:index/vpc:Vpc` -> `digitalocean:index:Vpc`."""
    package, _, rest = token.partition(":")
    module, _, name = rest.partition(":")
    head, _, last = module.rpartition("/")
    if head and name and last == name[:1].lower() + name[1:]:
        module = head
    return f"{package}:{module}:{name}" if name else token


def _is_conflict_of(name: str, error: str) -> bool:
    return error.startswith(f"{name}: ") and CONFLICT in error


def _clean_message(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines()]
    lines = [line for line in lines if line]
    if lines and lines[0].startswith("error: "):
        lines[0] = lines[0][len("error: ") :]
    return "\n".join(lines[:MESSAGE_LINES])


def _tail(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-MESSAGE_LINES:])


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


# -- running it ------------------------------------------------------------------------------------


def check(stack: str, cwd: Path, environ: Mapping[str, str]) -> DriftResult:
    """Runs the preview for `stack` in the project at `cwd` and interprets it."""
    try:
        completed = subprocess.run(
            preview_command(stack),
            cwd=cwd,
            env=dict(environ),
            capture_output=True,
            text=True,
            check=False,
            timeout=PREVIEW_TIMEOUT_SECONDS,
        )
    except FileNotFoundError:
        return DriftResult(
            stack,
            "error",
            errors=("the Pulumi CLI (`pulumi`) is not on PATH; install it first",),
        )
    except subprocess.TimeoutExpired:
        return DriftResult(
            stack,
            "error",
            errors=(f"`pulumi preview` did not finish within {PREVIEW_TIMEOUT_SECONDS} s",),
        )
    return interpret(stack, completed.returncode, completed.stdout, completed.stderr, environ)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/drift", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="the stack to check, e.g. dev")
    parser.add_argument(
        "--json", type=Path, dest="json_file", help="also write the result as JSON to FILE"
    )
    parser.add_argument(
        "--cwd", type=Path, default=REPO, help="the Pulumi project (default: this repository)"
    )
    options = parser.parse_args(argv)
    stack: str = options.stack
    if not STACK_NAME.fullmatch(stack):
        print(f"drift: {stack!r} is not a stack name", file=sys.stderr)
        return EXIT_ERROR
    cwd: Path = options.cwd
    if not (cwd / "Pulumi.yaml").is_file():
        result = DriftResult(stack, "error", errors=(f"{cwd} has no Pulumi.yaml",))
    else:
        result = check(stack, cwd, os.environ)
    if options.json_file is not None:
        options.json_file.write_text(json.dumps(result.as_json(), indent=2) + "\n")
    print(result.report(), end="", file=sys.stderr if result.status == "error" else sys.stdout)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
