"""Diff what stacks would deploy at two git revisions, offline: Kubernetes objects, DigitalOcean
resources, monthly cost and whether the pods fit, as Markdown fit for a pull-request comment.

    ./scripts/diff [stack ...] [--base main] [--head REV] [--output FILE]

The base is the merge base of the head with `--base` (default `main`, else `origin/main`), so
the diff shows what the change itself does. The head is the working tree (uncommitted changes
included) unless `--head` names a revision. Each side is rendered by that revision's own
`offline/render.py` in a clean export of it (`git archive`), with this environment's packages.
Objects are matched by their Pulumi resource, so a renamed object (the `migrate-<tag>` Job of a
new release) shows as a change, not as one removal and one addition. Output is stable: sorted,
no timestamps, no temporary paths. Secret values are `[secret]` on both sides.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import yaml

from offline.render import HEADER_PREFIX
from offline.simulate import REPO, stack_names

MARKER = "<!-- posts-infra:render-diff -->"
COMMENT_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
TOTAL_ROW = re.compile(r"^\|\s*\*\*total\*\*\s*\|\s*\*\*([\d.,]+)\*\*\s*\|\s*\*\*([\d.,]+)\*\*")


class DiffError(Exception):
    """A problem the user can fix (an unknown revision, a render that fails); no traceback."""


@dataclass
class Item:
    label: str  # what a reader sees: `Deployment posts/api`, `DatabaseCluster mysql-cluster`
    text: str  # the YAML compared


@dataclass
class Render:
    """One stack rendered at one revision; `exists` is False where the stack file is absent."""

    exists: bool
    items: dict[str, Item] = field(default_factory=dict)  # by Pulumi resource
    by_resource: bool = True  # False for renders from before objects named their resource
    error: str | None = None  # why this side could not be rendered
    cost: tuple[str, str] | None = None  # the monthly total at min and max nodes
    capacity: str | None = None  # capacity.md (None: a revision from before it)


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def merge_base(base: str | None, head: str | None) -> tuple[str, str]:
    """(commit, description) of the merge base of the head with the base branch."""
    if git("rev-parse", "--is-shallow-repository") == "true":
        raise DiffError(
            "this clone is shallow, so the merge base may be missing: `git fetch --unshallow`"
            " (in GitHub Actions: actions/checkout with fetch-depth: 0)"
        )
    candidates = [base] if base else ["main", "origin/main"]
    for candidate in candidates:
        try:
            git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        except DiffError:
            continue
        commit = git("merge-base", head or "HEAD", candidate)
        return commit, f"merge base with `{candidate}`"
    raise DiffError(f"no revision {' or '.join(candidates)} here; pass --base <branch or commit>")


def export(revision: str, into: Path) -> Path:
    """A clean copy of the repository at a revision (no build/, no .venv)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision], cwd=REPO, capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise DiffError(f"git archive {revision}: {archive.stderr.decode().strip()}")
    into.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def render_at(tree: Path, stack: str, out: Path) -> Render:
    """Render a stack with the tree's own `offline/render.py` (an export's into its own build/;
    the working tree's into `out`, leaving the user's build/ alone)."""
    if not (tree / f"Pulumi.{stack}.yaml").exists():
        return Render(exists=False)
    if not (tree / "offline" / "render.py").exists():
        return Render(exists=True, error="this revision has no offline/render.py")
    command = [sys.executable, "-m", "offline.render", stack]
    if tree == REPO:
        command[-1:-1] = ["--out", str(out)]
    result = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        return Render(exists=True, error=f"the render failed: {last}")
    return read_render((out if tree == REPO else tree / "build") / stack)


def read_render(folder: Path) -> Render:
    render = Render(exists=True)
    for path in sorted((folder / "kubernetes").glob("*.yaml")):
        text = path.read_text()
        obj = yaml.safe_load(text)
        metadata = obj.get("metadata") or {}
        where = "/".join(p for p in (metadata.get("namespace"), metadata.get("name")) if p)
        first, _, body = text.partition("\n")
        if first.startswith(HEADER_PREFIX):  # match on the Pulumi resource
            key = first.removeprefix(HEADER_PREFIX)
        else:  # renders from before the header: match on kind and name
            key, body, render.by_resource = f"{obj['kind']} {where}", text, False
        render.items[f"kubernetes {key}"] = Item(f"{obj['kind']} {where}", body)
    inventory = yaml.safe_load((folder / "digitalocean.yaml").read_text()) or []
    for resource in inventory:
        text = yaml.safe_dump(resource, sort_keys=True, width=100)
        label = f"{resource['type']} {resource['name']}"
        render.items[f"resource {label}"] = Item(label, text)
    for line in (folder / "cost.md").read_text().splitlines():
        match = TOTAL_ROW.match(line)
        if match:
            render.cost = (match.group(1), match.group(2))
    capacity = folder / "capacity.md"
    if capacity.exists():
        render.capacity = capacity.read_text()
    return render


def capacity_verdicts(text: str | None) -> str:
    """`no / only largest first / no`: the fits column of capacity.md's scenario table, in
    its order (minimum, api maximum, release); "" when there is none."""
    if text is None:
        return ""
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("| scenario |")), None)
    if header is None:
        return ""
    names = [cell.strip() for cell in lines[header].strip("|").split("|")]
    verdicts = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(names, (c.strip() for c in line.strip("|").split("|")), strict=False))
        verdicts.append(cells.get("fits", "?"))
    return " / ".join(verdicts)


def by_label(render: Render) -> dict[str, Item]:
    return {f"{key.split(' ', 1)[0]} {item.label}": item for key, item in render.items.items()}


def object_diff(before: Item | None, after: Item | None) -> str:
    old = before.text.splitlines(keepends=True) if before else []
    new = after.text.splitlines(keepends=True) if after else []
    lines = difflib.unified_diff(old, new, "base", "head", n=3)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass
class StackDiff:
    stack: str
    base: Render
    head: Render
    added: list[str]
    changed: list[str]
    removed: list[str]

    @property
    def headline(self) -> str:
        """`new stack, 36 added, 0 changed, 0 removed`, or why there is no diff."""
        for side, render in (("base", self.base), ("head", self.head)):
            if render.error:
                return f"not rendered at the {side}: {render.error}"
        if not self.base.exists and not self.head.exists:
            return "not a stack at either revision"
        status = (
            "new stack, "
            if not self.base.exists
            else "removed stack, "
            if not self.head.exists
            else ""
        )
        counts = (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"
        )
        return status + counts

    @property
    def capacity(self) -> str:
        """Whether the pods fit (minimum / api maximum / release), and its change."""
        old, new = self.base.capacity, self.head.capacity
        after = capacity_verdicts(new) or "none"
        if old == new:
            return after if new else ""
        before = capacity_verdicts(old) or "none"
        if before == after:
            return f"{after} (figures changed)"
        return f"{before} → **{after}**"

    @property
    def cost(self) -> str:
        old, new = self.base.cost, self.head.cost
        if old == new:
            return f"${new[0]} to ${new[1]}" if new else ""
        before = f"${old[0]} to ${old[1]}" if old else "none"
        after = f"${new[0]} to ${new[1]}" if new else "none"
        return f"{before} → **{after}**"


def compare(stack: str, base: Render, head: Render) -> StackDiff:
    if not (base.by_resource and head.by_resource):  # match on what both sides have
        base.items, head.items = by_label(base), by_label(head)
    keys = sorted(set(base.items) | set(head.items))
    changed = [
        k
        for k in keys
        if k in base.items and k in head.items and base.items[k].text != head.items[k].text
    ]
    added = [k for k in keys if k not in base.items]
    removed = [k for k in keys if k not in head.items]
    return StackDiff(stack, base, head, added, changed, removed)


def summary(diffs: list[StackDiff]) -> list[str]:
    rows = [
        "| stack | objects and resources | monthly cost at min and max nodes |"
        " pods fit: minimum / api maximum / release |",
        "|---|---|---|---|",
    ]
    rows += [f"| `{d.stack}` | {d.headline} | {d.cost} | {d.capacity} |" for d in diffs]
    return [*rows, ""]


def stack_section(stack: str, base: Render, head: Render) -> str:
    return section(compare(stack, base, head))


def section(diff: StackDiff) -> str:
    base, head = diff.base, diff.head
    added, changed, removed = diff.added, diff.changed, diff.removed
    lines = [f"### `{diff.stack}`: {diff.headline}", ""]
    if base.error or head.error or not (base.exists or head.exists):
        return "\n".join(lines)
    if diff.cost:
        lines += [f"Monthly cost at min and max nodes: {diff.cost}", ""]
    if diff.capacity:
        lines += [f"Pods fit (minimum / api maximum / release): {diff.capacity}", ""]
    if base.capacity != head.capacity:
        lines += [
            "<details><summary><code>~ capacity.md</code> (will the pods fit?)</summary>",
            "",
            "```diff",
            object_diff(
                Item("capacity.md", base.capacity or ""), Item("capacity.md", head.capacity or "")
            ).rstrip("\n"),
            "```",
            "</details>",
            "",
        ]
    if not (added or changed or removed):
        lines += ["No change to any Kubernetes object or DigitalOcean resource.", ""]
    for sign, group in (("+", added), ("~", changed), ("-", removed)):
        for key in group:
            before, after = base.items.get(key), head.items.get(key)
            label = (after or before).label  # type: ignore[union-attr]
            if before and after and before.label != after.label:
                label = f"{after.label} (was {before.label.split(' ', 1)[1]})"
            kind = (
                "Kubernetes"
                if key.startswith("kubernetes ")
                else "Helm"
                if label.startswith("Release ")
                else "DigitalOcean"
            )
            lines += [
                f"<details><summary><code>{sign} {label}</code> ({kind})</summary>",
                "",
                "```diff",
                object_diff(before, after).rstrip("\n"),
                "```",
                "</details>",
                "",
            ]
    return "\n".join(lines)


def report(stacks: list[str], base: str | None, head: str | None) -> str:
    """The Markdown diff of these stacks (all stacks of either revision when empty)."""
    base_commit, base_description = merge_base(base, head)
    head_label = git("rev-parse", "--short", head) if head else "the working tree"
    if head is None and git("status", "--porcelain", "--untracked-files=no"):
        head_label += " (with uncommitted changes)"
    short_base = git("rev-parse", "--short", base_commit)
    with tempfile.TemporaryDirectory(prefix="posts-infra-diff-") as temp:
        base_tree = export(base_commit, Path(temp) / "base")
        head_tree = export(head, Path(temp) / "head") if head else REPO
        diffs = [
            compare(
                stack,
                render_at(base_tree, stack, Path(temp) / "base-build"),
                render_at(head_tree, stack, Path(temp) / "head-build"),
            )
            for stack in stacks or stack_names(base_tree, head_tree)
        ]
    text = "\n".join(
        [
            MARKER,
            "## Offline render diff",
            "",
            f"Base `{short_base}` ({base_description}) → head {head_label}. Rendered under"
            " Pulumi's mocks without credentials (`./scripts/render`); secret values are"
            " `[secret]`. The live `pulumi preview` shows what the cloud side will do.",
            "",
            *summary(diffs),
            *[section(diff) for diff in diffs],
        ]
    )
    return fit_comment(text)


def fit_comment(text: str, limit: int = COMMENT_LIMIT) -> str:
    """Cut before the first object diff that would pass the limit; the summary is at the top."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit("\n<details>", 1)[0]
    return cut + "\n\n*(truncated: run `./scripts/diff` locally for the whole diff)*\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/diff", description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", help="default: every stack of either revision")
    parser.add_argument("--base", help="branch or commit to compare with (default: main)")
    parser.add_argument("--head", help="revision to show (default: the working tree)")
    parser.add_argument("--output", type=Path, help="write the Markdown here, not to stdout")
    options = parser.parse_args(argv)
    try:
        text = report(options.stacks, options.base, options.head)
    except DiffError as error:
        print(f"diff: {error}", file=sys.stderr)
        return 2
    if options.output:
        options.output.write_text(text)
        print(f"diff: wrote {options.output}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
