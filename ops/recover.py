"""Recovery of one stack after a deploy that DigitalOcean or a dying runner cut short: bring what
DigitalOcean built back into the stack's state, so that the next `pulumi up` converges.

    ./scripts/recover STACK [--cwd DIR]
    python -m ops.recover STACK [--cwd DIR]

Two situations leave a resource that DigitalOcean built but the state does not hold:

- the CLI was killed while DigitalOcean was building (a runner dying mid-deploy): the state keeps
  a *pending create* for it, without an ID, and every `pulumi up` warns about it;
- a create whose answer was lost (a 5xx or a dropped connection after DigitalOcean acted): the
  provider's retry met "name is not available", `up` failed, and nothing is recorded at all.

This command never deletes anything and never clears a lock (a deploy may still be running: a
person decides, see docs/when-things-go-wrong.md). It runs the orphan report (`ops.orphans`),
then:

1. the pending creates are dropped from the state (`pulumi refresh --clear-pending-creates`);
   those DigitalOcean built are now orphans like any other. Pulumi's own
   `pulumi refresh --import-pending-creates URN ID` would import them directly, but the CLI this
   was proven with (3.274.1) turns the pending create into a pending import that the refresh
   then drops: the resource is neither imported nor pending any more (the end-to-end suite
   shows it, tests/e2e/test_imperfect_cloud.py);
2. each orphan that the program declares and the state lacks (same type and name as a
   resource `pulumi preview` would create) is imported where the program declares it
   (`pulumi import --file` from `pulumi preview --import-file`, with the parent the preview
   names and the program's protection);
3. a pending create of a Kubernetes object (a deploy killed mid-rollout) may be in the cluster:
   the next `up` is then run once with PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true, which adopts
   such an object instead of failing with "already exists" (importing it is not possible when
   the release replaces an object: the state still holds the old one under the same name);
4. it lists what is left for a person: duplicates and resources the program does not declare,
   with how to delete them after checking.

Then `pulumi up` (the commands it prints) converges: it updates the imported resources in place
where the program declares more than the create request carried (maintenance windows, eviction
policy) and creates what depends on them. After an UPSERT run, one plain `pulumi up` takes the
switch out of the Kubernetes provider's inputs again (the provider keeps its settings there).

Exit status: 0 nothing left for a person; 1 orphans remain that a person must look at; 2 any
failure (the stack is locked, the CLI failed), with what to do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.orphans import REPO, Orphan, OrphanCheckFailed, OrphanReport, check, run_pulumi

EXIT_DONE, EXIT_LEFT, EXIT_ERROR = 0, 1, 2
LOCKED = "the stack is currently locked"
LOCK_ADVICE = (
    "The stack is locked: a deploy is running, or one died without releasing the lock. Make sure"
    " no `pulumi up` of this stack runs anywhere (CI, a laptop), then run `pulumi cancel --stack"
    " {stack}` and this command again. Never cancel a lock a running deploy holds."
)


# pulumi-kubernetes' switch: create an object that already exists by updating it.
UPSERT = "PULUMI_K8S_UPSERT_EXISTING_OBJECTS"


class RecoveryFailed(Exception):
    pass


@dataclass
class Recovery:
    stack: str
    built_pending: list[str] = field(default_factory=list)
    # Objects a killed deploy may have sent to the cluster (namespace/name): the next `up`
    # adopts them (UPSERT) instead of failing with "already exists".
    kubernetes_pending: list[str] = field(default_factory=list)
    cleared_pending: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    left: list[Orphan] = field(default_factory=list)

    def next_commands(self) -> list[str]:
        """The `pulumi up` that converges the stack. After a killed rollout, it runs once with
        UPSERT to adopt the Kubernetes objects the killed deploy had sent (the provider refuses
        to create an object that exists, to guard against renames without aliases: none in a
        recovery of the same program), then once without, which only takes the switch out of
        the provider's inputs."""
        plain = f"pulumi up --stack {self.stack}"
        return [f"{UPSERT}=true {plain}", plain] if self.kubernetes_pending else [plain]

    def report(self) -> str:
        lines = [f"Stack {self.stack}: recovery"]
        if not (
            self.built_pending
            or self.cleared_pending
            or self.kubernetes_pending
            or self.imported
            or self.left
        ):
            lines.append("  nothing to recover: no pending operation, no orphan.")
        for urn in self.built_pending:
            lines.append(f"  the pending create {urn}: DigitalOcean built it (imported below)")
        for urn in self.cleared_pending:
            lines.append(f"  dropped the pending create {urn} (DigitalOcean never built it)")
        for what in self.imported:
            lines.append(f"  imported {what}")
        for object_id in self.kubernetes_pending:
            lines.append(f"  the pending create of {object_id} may be in the cluster")
        for orphan in self.left:
            lines.append(f"  left for a person: {orphan.resource.describe()}: {orphan.reason}")
        lines.append(
            "Next: "
            + ", then ".join(f"`{command}`" for command in self.next_commands())
            + " (it converges the stack)"
            + (
                f"; then check and delete what is left (`./scripts/orphans {self.stack}` says how)."
                if self.left
                else "."
            )
        )
        return "\n".join(lines) + "\n"


def _pulumi(
    argv: Sequence[str], cwd: Path, environ: Mapping[str, str], stack: str
) -> subprocess.CompletedProcess[str]:
    try:
        completed = run_pulumi([*argv, "--stack", stack], cwd, environ, timeout=1800)
    except OrphanCheckFailed as missing:
        raise RecoveryFailed(str(missing)) from None
    if completed.returncode != 0:
        output = completed.stderr + completed.stdout
        if LOCKED in output:
            raise RecoveryFailed(LOCK_ADVICE.format(stack=stack))
        tail = " ".join(line.strip() for line in output.strip().splitlines()[-6:])
        raise RecoveryFailed(f"`pulumi {' '.join(argv)}` failed: {tail}")
    return completed


def _name_of(inputs: Mapping[str, Any] | None) -> str | None:
    name = (inputs or {}).get("name")
    return str(name) if isinstance(name, str) else None


def pending_creates(exported: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The resources of the state's pending create operations."""
    deployment = exported.get("deployment") or {}
    return [
        dict(op.get("resource") or {})
        for op in deployment.get("pending_operations") or []
        if op.get("type") == "creating"
    ]


def match(orphans: Sequence[Orphan], pulumi_type: str, name: str | None) -> Orphan | None:
    for orphan in orphans:
        if (
            orphan.adoptable
            and orphan.resource.pulumi_type == pulumi_type
            and name is not None
            and orphan.resource.name == name
        ):
            return orphan
    return None


def planned_imports(
    preview: Mapping[str, Any], import_file: Mapping[str, Any], orphans: Sequence[Orphan]
) -> tuple[list[dict[str, Any]], list[Orphan]]:
    """The entries of `pulumi preview --import-file` for the creates that an orphan fills (with
    its ID and the protection the program declares), and those orphans."""
    steps = {
        str(step.get("urn")): step
        for step in preview.get("steps") or []
        if step.get("op") == "create"
    }
    entries, adopted = [], []
    for entry in import_file.get("resources") or []:
        step = next(
            (
                s
                for urn, s in steps.items()
                if urn.endswith(f"::{entry.get('name')}")
                and (s.get("newState") or {}).get("type") == entry.get("type")
            ),
            None,
        )
        if step is None:
            continue
        new_state = step.get("newState") or {}
        orphan = match(orphans, str(entry.get("type")), _name_of(new_state.get("inputs")))
        if orphan is None or orphan in adopted:
            continue
        entries.append(
            {**entry, "id": orphan.resource.id, "protect": bool(new_state.get("protect"))}
        )
        adopted.append(orphan)
    return entries, adopted


def kubernetes_object_id(resource: Mapping[str, Any]) -> str | None:
    """`namespace/name` (or `name`) of a pending Kubernetes object, as `pulumi import` takes it."""
    metadata = (resource.get("inputs") or {}).get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        return None
    namespace = metadata.get("namespace")
    return f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name


def _import(
    entries: Sequence[Mapping[str, Any]],
    name_table: Mapping[str, Any],
    protect: bool,
    scratch: Path,
    cwd: Path,
    environ: Mapping[str, str],
    stack: str,
) -> None:
    import_file = scratch / f"import-{len(list(scratch.iterdir()))}.json"
    import_file.write_text(json.dumps({"nameTable": dict(name_table), "resources": list(entries)}))
    _pulumi(
        [
            "import", "--yes", "--skip-preview", "--generate-code=false",
            f"--protect={'true' if protect else 'false'}", "--file", str(import_file),
        ],
        cwd, environ, stack,
    )  # fmt: skip


def recover(stack: str, cwd: Path, environ: Mapping[str, str]) -> Recovery:
    recovery = Recovery(stack)
    found: OrphanReport = check(stack, cwd, environ)
    if found.errors:
        raise RecoveryFailed("; ".join(found.errors))
    orphans = list(found.orphans)

    # 1. Pending creates: dropped from the state. Those DigitalOcean built are orphans, and the
    # Kubernetes objects a killed deploy had sent are in the cluster: both are imported in step
    # 2 (`pulumi refresh --import-pending-creates` would be the direct way, but CLI 3.274.1
    # drops such a resource instead of importing it: see the module docstring).
    exported = json.loads(_pulumi(["stack", "export"], cwd, environ, stack).stdout)
    pending = pending_creates(exported)
    if pending:
        _pulumi(
            ["refresh", "--yes", "--skip-preview", "--clear-pending-creates"], cwd, environ, stack
        )
        for resource in pending:
            urn, kind = str(resource["urn"]), str(resource.get("type"))
            object_id = kubernetes_object_id(resource) if kind.startswith("kubernetes:") else None
            if object_id is not None:
                recovery.kubernetes_pending.append(object_id)
            elif match(orphans, kind, _name_of(resource.get("inputs"))):
                recovery.built_pending.append(urn)
            else:
                recovery.cleared_pending.append(urn)

    # 2. What the program declares and DigitalOcean or the cluster holds: imported where the
    # preview would create it, with the parent and provider it names.
    if any(orphan.adoptable for orphan in orphans):
        with tempfile.TemporaryDirectory(prefix="posts-recover-") as directory:
            scratch = Path(directory)
            plan_file = scratch / "plan.json"
            preview = json.loads(
                _pulumi(
                    ["preview", "--json", "--import-file", str(plan_file)], cwd, environ, stack
                ).stdout
            )
            plan = json.loads(plan_file.read_text()) if plan_file.exists() else {}
            plan_file.unlink(missing_ok=True)
            names = plan.get("nameTable") or {}
            entries, adopted = planned_imports(preview, plan, orphans)
            for protect in (True, False):
                group = [
                    {k: v for k, v in e.items() if k != "protect"}
                    for e in entries
                    if e["protect"] is protect
                ]
                if group:
                    _import(group, names, protect, scratch, cwd, environ, stack)
            for orphan in adopted:
                recovery.imported.append(orphan.resource.describe())
                orphans.remove(orphan)

    # 3. What is left is for a person.
    recovery.left = orphans
    return recovery


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/recover", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="the stack to recover, e.g. dev")
    parser.add_argument(
        "--cwd", type=Path, default=REPO, help="the Pulumi project (default: this repository)"
    )
    options = parser.parse_args(argv)
    try:
        recovery = recover(options.stack, options.cwd, os.environ)
    except RecoveryFailed as failure:
        print(f"recover: {failure}", file=sys.stderr)
        return EXIT_ERROR
    print(recovery.report(), end="")
    return EXIT_LEFT if recovery.left else EXIT_DONE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
