"""Every documented entry command starts from a fresh clone, as a new user would run it.

The commands are those in the docs' `bash` blocks that the fast suite does not run for real
(tests/test_docs.py runs the offline ones): the test command, the end-to-end suite with each
documented selection, the benchmarks, the drift commands, the no-change check. Each runs in a
copy of this working tree with no ignored files (no `build/`, no caches), `../shared` beside it
as beside this checkout, and only what installs slowly shared with the checkout: the virtualenvs
and Prism's node_modules (installed by ./scripts/test and ./scripts/e2e before this runs). A
pytest command is started with `--setup-plan` (collection, selection, workers and their
temporary folders, no fixture run), any other with `--help`. The end-to-end suite's workers
start once, inside `./scripts/test`; each `./scripts/e2e` selection is checked in one process.

Here, not in the fast suite: starting the end-to-end suite needs its toolchain and Prism, which
./scripts/e2e ensures before this suite runs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests import assets
from tests.e2e.engine.toolchain import REPO
from tests.test_docs import CHECKED, documented, scratch_copy

PYTEST_COMMANDS = ("./scripts/test", "./scripts/e2e")
# What installs slowly, shared with this checkout as scratch_copy shares .venv.
INSTALLED = (".venv-checkov", "policy/venv", "tests/e2e/digitalocean/prism/node_modules")


def started(command: str) -> list[str]:
    """The command as documented, made to start and stop: `--setup-plan` or `--help`."""
    words = shlex.split(command, comments=True)
    if words[0] == "./scripts/e2e":
        # In one process: `./scripts/test --setup-plan` already starts the end-to-end suite's
        # seven workers, each collecting the whole suite (about 2.6 CPU-s each, measured with
        # `pytest -m e2e tests/e2e --setup-plan -n 0`).
        return [*words, "--setup-plan", "-n", "0"]
    if words[0] in PYTEST_COMMANDS:
        return [*words, "--setup-plan"]
    if words[0] == ".venv/bin/python":
        return [*words[: words.index("-m") + 2], "--help"]
    if words[:2] == ["./scripts/bench", "--engine"]:
        return [*words[:2], "--help"]
    return [words[0], "--help"]


def entry_commands() -> dict[tuple[str, ...], set[str]]:
    """Each command to start, and the pages that document it."""
    found: dict[tuple[str, ...], set[str]] = {}
    for command in CHECKED:
        found.setdefault(tuple(started(command)), set()).update(documented()[command])
    return found


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = scratch_copy(tmp_path_factory.mktemp("fresh") / "repo")
    if assets.shared_dir().is_dir():
        (clone.parent / "shared").symlink_to(assets.shared_dir())
    for path in INSTALLED:
        if (REPO / path).exists():
            (clone / path).symlink_to(REPO / path)
    return clone


def test_the_entry_commands_to_start_are_found():
    commands = entry_commands()
    assert ("./scripts/test", "--setup-plan") in commands
    assert ("./scripts/e2e", "-k", "release", "--setup-plan", "-n", "0") in commands
    assert ("./scripts/bench", "--engine", "--help") in commands
    assert len(commands) >= 8


def test_every_documented_entry_command_starts_from_a_fresh_clone(fresh_clone: Path):
    assert not (fresh_clone / "build").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    failures = []
    for command, pages in sorted(entry_commands().items()):
        done = subprocess.run(
            command,
            cwd=fresh_clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = done.stdout + done.stderr
        if done.returncode != 0 or "INTERNALERROR" in output or "Traceback" in output:
            failures.append(
                f"{', '.join(sorted(pages))}: `{shlex.join(command)}` exited {done.returncode}:"
                f"\n{output[-2500:]}"
            )
    assert failures == [], "\n\n".join(failures)
