"""Does a change of code change anything on a deployed stack? Asked of the real engine, offline.

    python -m tests.e2e.commands.no_change_check BASE [HEAD] [--stack dev]

Deploys the stack with the program as it is at git revision BASE (`pulumi up`, in one
environment of the end-to-end suite: local control plane, DigitalOcean stand-in behind Prism),
then puts the program of HEAD (default: the working tree) in its place and runs
`pulumi preview --expect-no-changes --diff`. Exit 0: a stack deployed from BASE sees no change,
no replacement, no renamed resource. For refactorings, whose proof is that nothing changes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tests.e2e.digitalocean.prism import ensure_installed
from tests.e2e.engine.environment import StackEnvironment
from tests.e2e.engine.toolchain import REPO, locate
from tests.e2e.engine.workspace import copy_program


def export(revision: str, target: Path) -> Path:
    """The files of `revision`, as `git archive` gives them."""
    archive = target.with_suffix(".tar")
    subprocess.run(["git", "archive", "--output", str(archive), revision], cwd=REPO, check=True)
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.commands.no_change_check")
    parser.add_argument("base", help="the revision the stack is deployed from")
    parser.add_argument("head", nargs="?", help="the revision to preview (default: working tree)")
    parser.add_argument("--stack", default="dev")
    options = parser.parse_args(argv)
    toolchain = locate()
    ensure_installed()
    print(toolchain.describe(), flush=True)
    with tempfile.TemporaryDirectory(prefix="posts-infra-no-change-") as tmp:
        root = Path(tmp)
        base = export(options.base, root / "base")
        head = export(options.head, root / "head") if options.head else REPO
        env = StackEnvironment(options.stack, root / "env", toolchain)
        try:
            workspace = env.new_workspace("deployed", source=base)
            workspace.init_stack()
            up = workspace.pulumi("up", "--yes", "--skip-preview")
            print(f"pulumi up at {options.base}: {up.seconds:.1f} s", flush=True)
            copy_program(head, workspace.project)
            preview = workspace.pulumi("preview", "--expect-no-changes", "--diff", check=False)
            print(preview.stdout)
            print(
                f"pulumi preview --expect-no-changes at {options.head or 'the working tree'}:"
                f" exit {preview.returncode}",
                flush=True,
            )
            return preview.returncode
        finally:
            env.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
