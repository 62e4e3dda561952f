"""Opens, updates or closes the drift issue of one stack, from the result of `ops.drift --json`.

    python -m ops.drift_issue RESULT.json [--orphans ORPHANS.json] [--run-url URL]
                              [--repo OWNER/NAME]

One issue per stack, found among the open issues by its label `drift` and its title
`Drift: <stack>`:

- drift, no such issue: opens it (and creates the label if missing), the report in its body;
- drift, the issue open: rewrites its body with the latest report, and comments only when the
  report changed, so its subscribers hear of each new drift once, not every day;
- clean, the issue open: closes it with a comment;
- clean, none open: nothing;
- the check failed (no verdict): leaves the issue as it is; the workflow run fails instead.

With `--orphans`, the result of `ops.orphans --json` (resources DigitalOcean holds for the stack
that its state does not: they bill) goes into the same issue, after the drift report; a stack
with orphans is not clean even when nothing drifted.

Everything goes through the GitHub CLI, `gh`, which reads its token from GH_TOKEN and the
repository from GH_REPO (or `--repo`). The body is cut to GitHub's limit. The report is the
one ops.drift wrote, secrets already masked; credential values of this environment (GH_TOKEN)
and token-shaped strings are masked again. Exit status: 0 done, 2 when gh fails or the result
is missing or unreadable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ops.drift import DriftResult, Redactor

LABEL = "drift"
LABEL_COLOR = "d93f0b"
LABEL_DESCRIPTION = "A stack differs from what the program declares (ops/drift.py)"
BODY_LIMIT = 65_536  # GitHub refuses issue bodies and comments longer than this
MARKER = "<!-- posts-infra:drift -->"
DIGEST = re.compile(r"<!-- report-sha256: ([0-9a-f]{64}) -->")
TRUNCATED = "\n[truncated to GitHub's size limit: the whole report is in the run's log]\n"
GH_TIMEOUT_SECONDS = 120


class GhError(Exception):
    """A gh command failed; the message says which and why (never the body it was sent)."""


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str


@dataclass(frozen=True)
class Gh:
    """The `gh` CLI, for one repository (None: gh's own choice, GH_REPO or the git remote)."""

    repo: str | None = None
    executable: str = "gh"

    def run(self, *args: str, stdin: str | None = None) -> str:
        argv = [self.executable, *args, *(["--repo", self.repo] if self.repo else [])]
        what = f"gh {' '.join(args[:2])}"
        try:
            done = subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
                timeout=GH_TIMEOUT_SECONDS,
            )
        except FileNotFoundError as missing:
            raise GhError("the GitHub CLI (`gh`) is not on PATH") from missing
        except subprocess.TimeoutExpired as slow:
            raise GhError(f"`{what}` did not answer within {GH_TIMEOUT_SECONDS} s") from slow
        if done.returncode != 0:
            reason = (done.stderr.strip() or done.stdout.strip() or "no message")[-2000:]
            raise GhError(f"`{what}` failed (exit {done.returncode}): {reason}")
        return done.stdout


def title_for(stack: str) -> str:
    return f"Drift: {stack}"


def open_issues(gh: Gh, stack: str) -> list[Issue]:
    """The open drift issues of `stack`, oldest first."""
    listed = gh.run(
        "issue",
        "list",
        "--label",
        LABEL,
        "--state",
        "open",
        "--json",
        "number,title,body",
        "--limit",
        "200",
    )
    try:
        entries = json.loads(listed or "[]")
    except json.JSONDecodeError as bad:
        raise GhError(f"`gh issue list` printed no JSON: {listed[:200]!r}") from bad
    if not isinstance(entries, list):
        raise GhError(f"`gh issue list` printed {type(entries).__name__}, not a list")
    issues = [
        Issue(int(entry["number"]), str(entry.get("title", "")), str(entry.get("body") or ""))
        for entry in entries
        if isinstance(entry, dict) and entry.get("title") == title_for(stack)
    ]
    return sorted(issues, key=lambda issue: issue.number)


def digest(report: str) -> str:
    return hashlib.sha256(report.encode()).hexdigest()


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


@dataclass(frozen=True)
class Orphans:
    """The orphan report's result (`ops.orphans --json`): whether it found any, its text."""

    found: bool
    report: str

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> Orphans:
        return cls(found=document.get("status") == "orphans", report=str(document["report"]))


def body_for(result: DriftResult, report: str, checked: str, run_url: str | None) -> str:
    """The issue body: the report in a code block, cut so the body fits GitHub's limit."""
    where = f", [workflow run]({run_url})" if run_url else ""

    def render(text: str) -> str:
        fence = _fence(text)
        return (
            f"{MARKER}\n<!-- report-sha256: {digest(report)} -->\n"
            f"## Stack `{result.stack}` differs from the program\n\n"
            f"The drift check (`./scripts/drift {result.stack}`: `pulumi preview --refresh"
            " --expect-no-changes`) found resources that differ from what the program on the"
            " default branch declares. The next `pulumi up` reverts them without asking.\n\n"
            f"Last checked: {checked}{where}.\n\n"
            f"{fence}text\n{text}{fence}\n\n"
            "**What to do**: `docs/drift.md` in this repository (keep the change: put it in the"
            " program; undo it: `pulumi up --refresh`, except in the cases listed there); for"
            " orphans, `docs/when-things-go-wrong.md`. This issue is updated by each check and"
            " closed when the stack is clean again.\n"
        )

    body = render(report)
    room = len(report)
    while len(body) > BODY_LIMIT and room > 0:
        room = max(room - (len(body) - BODY_LIMIT) - len(TRUNCATED), 0)
        body = render(report[:room] + TRUNCATED)
    return body


def sync(
    gh: Gh,
    result: DriftResult,
    redact: Redactor,
    now: datetime,
    run_url: str | None = None,
    orphans: Orphans | None = None,
) -> str:
    """Brings the stack's drift issue in line with `result` (and `orphans`); what it did, in a
    sentence."""
    stack = result.stack
    if result.status == "error":
        return f"{stack}: the drift check failed, so its issue is left as it is"
    checked = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = f" ({run_url})" if run_url else ""
    issues = open_issues(gh, stack)
    if result.status == "clean" and not (orphans and orphans.found):
        for issue in issues:
            gh.run(
                "issue",
                "close",
                str(issue.number),
                "--reason",
                "completed",
                "--comment",
                f"Stack `{stack}` matches the program again (checked {checked}{where}).",
            )
        if not issues:
            return f"{stack}: clean, no drift issue open"
        return f"{stack}: clean, closed " + ", ".join(f"#{issue.number}" for issue in issues)

    report = redact(result.report() + (f"\n{orphans.report}" if orphans and orphans.found else ""))
    body = body_for(result, report, checked, run_url)
    if not issues:
        gh.run(
            "label",
            "create",
            LABEL,
            "--color",
            LABEL_COLOR,
            "--description",
            LABEL_DESCRIPTION,
            "--force",
        )
        created = gh.run(
            "issue",
            "create",
            "--title",
            title_for(stack),
            "--label",
            LABEL,
            "--body-file",
            "-",
            stdin=body,
        )
        return f"{stack}: drift, opened {created.strip() or 'an issue'}"

    issue = issues[0]  # the oldest; any later duplicate is left to a person
    previous = DIGEST.search(issue.body)
    changed = previous is None or previous.group(1) != digest(report)
    gh.run("issue", "edit", str(issue.number), "--body-file", "-", stdin=body)
    if changed:
        gh.run(
            "issue",
            "comment",
            str(issue.number),
            "--body-file",
            "-",
            stdin=f"The drift changed (checked {checked}{where}): the description holds the"
            " new report.\n",
        )
        return f"{stack}: drift changed, updated #{issue.number} and commented"
    return f"{stack}: same drift, updated #{issue.number}"


def default_run_url(environ: Mapping[str, str]) -> str | None:
    """The GitHub Actions run this is part of, from the variables Actions sets."""
    server = environ.get("GITHUB_SERVER_URL")
    repository = environ.get("GITHUB_REPOSITORY")
    run_id = environ.get("GITHUB_RUN_ID")
    if server and repository and run_id:
        return f"{server}/{repository}/actions/runs/{run_id}"
    return None


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.drift_issue", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("result", type=Path, help="the JSON `./scripts/drift --json` wrote")
    parser.add_argument(
        "--orphans", type=Path, help="the JSON `./scripts/orphans --json` wrote (optional)"
    )
    parser.add_argument("--run-url", help="link to the run (default: this GitHub Actions run)")
    parser.add_argument("--repo", help="OWNER/NAME (default: gh's, i.e. GH_REPO or the remote)")
    options = parser.parse_args(argv)
    path: Path = options.result
    try:
        result = DriftResult.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        print(f"drift-issue: no drift result at {path} (did the drift step run?)", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, ValueError, KeyError, TypeError) as bad:
        print(f"drift-issue: {path} is not a drift result: {bad}", file=sys.stderr)
        return 2
    orphans = None
    if options.orphans is not None:
        try:
            orphans = Orphans.from_json(json.loads(options.orphans.read_text()))
        except (OSError, json.JSONDecodeError, KeyError, AttributeError) as bad:
            print(f"drift-issue: {options.orphans} is not an orphan report: {bad}", file=sys.stderr)
            return 2
    run_url = options.run_url or default_run_url(os.environ)
    try:
        done = sync(
            Gh(repo=options.repo),
            result,
            Redactor.from_environment(os.environ),
            datetime.now(UTC),
            run_url,
            orphans,
        )
    except GhError as failed:
        print(f"drift-issue: {failed}", file=sys.stderr)
        return 2
    print(f"drift-issue: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
