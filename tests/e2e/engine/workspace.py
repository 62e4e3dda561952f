"""One stack of the program as a user runs it: a copy of the project, a file backend, the CLI.

The project is copied into a temporary folder (the program, `Pulumi.yaml`, the stack file and
the policy pack; `.venv` and `policy/venv` are linked), so `pulumi stack init` and `pulumi config
set` write into the copy's stack file, never into the repository's.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.engine.toolchain import REPO, Toolchain

PASSPHRASE = "e2e-passphrase"  # the stack's secrets provider; a throwaway stack
# The secrets the CLI demands (declared `secret: true` without a default in Pulumi.yaml).
REQUIRED_SECRETS = {
    "appKey": "base64:ZTJlLWFwcC1rZXktMzItYnl0ZXMtbG9uZy0tLS0tLS0=",
    "awsAccessKeyId": "AKIAE2ETESTKEY000000",
    "awsSecretAccessKey": "e2e-aws-secret-access-key-not-real",
}
PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt")
PROGRAM_DIRS = ("components", "config", "model", "policy")  # those the checkout has


class PulumiFailed(AssertionError):
    pass


@dataclass
class Run:
    """One CLI command: what it printed, how long it took, its engine events if asked for."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    events: list[dict[str, Any]] = field(default_factory=list)
    # CPU time of the command's whole process tree (CLI, plugins, language host, program), as
    # the test process's reaped children account it.
    cpu_seconds: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self, limit: int | None = 8000) -> str:
        """The command, its exit code and time, and the end of what it printed (all of it with
        `limit=None`)."""
        out = self.stdout if limit is None else self.stdout[-limit:]
        err = self.stderr if limit is None else self.stderr[-limit:]
        return (
            f"`pulumi {' '.join(self.argv)}` exited {self.returncode} after {self.seconds:.1f} s"
            f" ({self.cpu_seconds:.1f} CPU-s)\n"
            f"--- stdout\n{out}\n--- stderr\n{err}"
        )


@dataclass
class Command:
    """One run of an operator's command (scripts/orphans, scripts/recover, scripts/drift)."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # as Run's

    def describe(self) -> str:
        return (
            f"`{' '.join(self.argv)}` exited {self.returncode} ({self.cpu_seconds:.1f} CPU-s)"
            f"\n--- stdout\n{self.stdout}"
            f"\n--- stderr\n{self.stderr}"
        )


def copy_program(source: Path, target: Path) -> None:
    """The program and its policy pack from a checkout `source` into `target`, replacing what is
    there (the stack files stay). Both virtualenvs are the repository's, linked."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROGRAM_FILES:
        shutil.copy2(source / name, target / name)
    for name in PROGRAM_DIRS:
        shutil.rmtree(target / name, ignore_errors=True)
        if not (source / name).is_dir():  # a revision from before that folder
            continue
        shutil.copytree(
            source / name,
            target / name,
            ignore=shutil.ignore_patterns("venv", "__pycache__", "*.pyc"),
        )
    (target / "policy" / "venv").symlink_to(REPO / "policy" / "venv")
    if not (target / ".venv").is_symlink():
        (target / ".venv").symlink_to(REPO / ".venv")


def copy_project(target: Path, stack: str, source: Path = REPO, program: str | None = None) -> None:
    """The project as a user's checkout (`source`) has it, in `target`; with `program` (a module
    with a `declare()` function, e.g. tests.e2e.digitalocean.program), that program runs in
    place of `__main__.py`, with this project's config schema."""
    copy_program(source, target)
    stack_file = source / f"Pulumi.{stack}.yaml"
    if stack_file.exists():
        shutil.copy2(stack_file, target / stack_file.name)
    if program is not None:
        (target / "__main__.py").write_text(f"from {program} import declare\n\ndeclare()\n")


class Workspace:
    """A project copy with its own backend, and the environment the CLI runs in."""

    def __init__(
        self,
        root: Path,
        stack: str,
        toolchain: Toolchain,
        environment: Mapping[str, str],
        source: Path = REPO,
        program: str | None = None,
    ) -> None:
        self.root = root
        self.stack = stack
        self.toolchain = toolchain
        self.environment = dict(environment)  # what this workspace adds to the CLI's environment
        self.program = program
        self.project = root / "project"
        self.backend = root / "state"
        self.home = root / "pulumi-home"
        self.logs = root / "logs"
        for directory in (self.backend, self.logs):
            directory.mkdir(parents=True, exist_ok=True)
        if not self.project.exists():
            copy_project(self.project, stack, source, program)
        toolchain.prepare_pulumi_home(self.home)
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "DIGITALOCEAN"))
        }
        self.env = {
            **inherited,
            **toolchain.environment(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            # Engine events (`--event-log`) are offered only with debug commands on.
            "PULUMI_DEBUG_COMMANDS": "true",
            "NO_COLOR": "1",
            **({"PYTHONPATH": str(REPO)} if program is not None else {}),
            **environment,
        }
        self._runs = 0

    @property
    def stack_file(self) -> Path:
        return self.project / f"Pulumi.{self.stack}.yaml"

    def pulumi(
        self,
        *argv: str,
        check: bool = True,
        events: bool = False,
        timeout: float = 600,
        env: Mapping[str, str] | None = None,
    ) -> Run:
        """`pulumi <argv> -s <stack>` in the project copy; with `events`, the engine's events;
        `env`: variables added for this command only."""
        self._runs += 1
        args = [*argv, "--stack", self.stack, "--non-interactive"]
        event_log = self.logs / f"events-{self._runs:03d}.jsonl"
        if events:
            args += ["--event-log", str(event_log)]
        started, cpu_before = time.monotonic(), _children_cpu()
        result = subprocess.run(
            ["pulumi", *args],
            cwd=self.project,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        run = Run(
            argv=args,
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
            seconds=time.monotonic() - started,
            events=list(read_events(event_log)) if events else [],
            cpu_seconds=_children_cpu() - cpu_before,
        )
        (self.logs / f"run-{self._runs:03d}.log").write_text(run.describe(limit=None))
        if check and run.returncode != 0:
            raise PulumiFailed(run.describe())
        return run

    def start(self, *argv: str) -> subprocess.Popen[str]:
        """`pulumi <argv> -s <stack>` in the background, in its own process group, as a CI
        runner's job is (so that a test can kill the whole group, as a dying runner does)."""
        return subprocess.Popen(
            ["pulumi", *argv, "--stack", self.stack, "--non-interactive"],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def operator(self, script: str, *argv: str) -> Command:
        """`scripts/<script> <stack> ...` as an operator runs it, against this project."""
        command = [str(REPO / "scripts" / script), self.stack, *argv]
        cpu_before = _children_cpu()
        completed = subprocess.run(
            [*command, "--cwd", str(self.project)],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        run = Command(
            command,
            completed.returncode,
            completed.stdout,
            completed.stderr,
            _children_cpu() - cpu_before,
        )
        self._runs += 1
        (self.logs / f"{script}-{self._runs:03d}.log").write_text(run.describe())
        return run

    def init_stack(self, secrets: Mapping[str, str] = REQUIRED_SECRETS) -> None:
        """`pulumi stack init` with the passphrase provider and the given secrets, as "First
        deploy" in docs/delivery.md says."""
        self.pulumi("stack", "init", "--secrets-provider", "passphrase")
        self.set_configs(secrets, secret=True)

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        self.pulumi("config", "set", *(["--secret"] if secret else []), key, value)

    def set_configs(self, values: Mapping[str, str], *, secret: bool = False) -> None:
        """Several keys in one command (`pulumi config set-all`): what as many `config set`
        would write, for one start of the CLI instead of one per key."""
        flag = "--secret" if secret else "--plaintext"
        pairs = [argument for key, value in values.items() for argument in (flag, f"{key}={value}")]
        if pairs:
            self.pulumi("config", "set-all", *pairs)

    def remove_config(self, key: str) -> None:
        self.pulumi("config", "rm", key)

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        argv = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        parsed: dict[str, Any] = json.loads(self.pulumi(*argv).stdout)
        return parsed

    def state(self) -> dict[str, Any]:
        """`pulumi stack export`: the deployment as the engine recorded it."""
        exported: dict[str, Any] = json.loads(self.pulumi("stack", "export").stdout)
        return exported

    def resources(self) -> list[dict[str, Any]]:
        deployment = self.state().get("deployment") or {}
        return list(deployment.get("resources") or [])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        if line.strip():
            yield json.loads(line)
