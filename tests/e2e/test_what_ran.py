"""Be sure of what ran: the engine loads exactly the plugins the toolchain built (or the pinned
released ones), from PULUMI_HOME, never one found on PATH."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from tests.e2e.engine.toolchain import REPO, Toolchain, pinned_plugin_versions


def _preview_with_decoys(toolchain: Toolchain, root: Path, ignore_ambient: bool) -> str:
    """`pulumi preview` of a one-resource DigitalOcean program, with a decoy
    `pulumi-resource-digitalocean` (it fails at once) first on PATH; what it printed."""
    project = root / "project"
    project.mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(
        "name: what-ran\nruntime:\n  name: python\n  options:\n"
        f"    toolchain: pip\n    virtualenv: {REPO / '.venv'}\n"
    )
    (project / "__main__.py").write_text(
        'import pulumi_digitalocean as digitalocean\n\ndigitalocean.Tag("what-ran")\n'
    )
    decoys = root / "decoys"
    decoys.mkdir()
    for plugin in toolchain.plugins:
        decoy = decoys / f"pulumi-resource-{plugin.name}"
        decoy.write_text("#!/bin/sh\necho 'decoy plugin from PATH' >&2\nexit 1\n")
        decoy.chmod(decoy.stat().st_mode | stat.S_IEXEC)
    home = root / "pulumi-home"
    toolchain.prepare_pulumi_home(home)
    (root / "state").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "DIGITALOCEAN"))},
        **toolchain.environment(home),
        "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "x",
        "DIGITALOCEAN_TOKEN": "dop_v1_" + "0" * 64,
    }
    env["PATH"] = f"{decoys}{os.pathsep}{env['PATH']}"
    if not ignore_ambient:
        del env["PULUMI_IGNORE_AMBIENT_PLUGINS"]
    for argv in (["stack", "init", "check"], ["preview", "--non-interactive"]):
        done = subprocess.run(
            ["pulumi", *argv], cwd=project, env=env, capture_output=True, text=True, check=False
        )
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def test_the_engine_loads_the_toolchains_plugins_never_one_on_path(
    toolchain: Toolchain, tmp_path: Path
) -> None:
    guarded = _preview_with_decoys(toolchain, tmp_path / "guarded", ignore_ambient=True)
    assert guarded.startswith("exit 0"), guarded
    assert "decoy" not in guarded and "from $PATH" not in guarded
    # The check can fail: without the guard the CLI takes the decoy on PATH.
    unguarded = _preview_with_decoys(toolchain, tmp_path / "unguarded", ignore_ambient=False)
    assert not unguarded.startswith("exit 0") or "$PATH" in unguarded, unguarded

    # And what the engine has installed: exactly the pinned plugins, the toolchain's binaries.
    home = tmp_path / "guarded" / "pulumi-home"
    env = {**os.environ, **toolchain.environment(home)}
    listed = subprocess.run(
        ["pulumi", "plugin", "ls", "--json"], env=env, capture_output=True, text=True, check=True
    )
    plugins = {(p["name"], p["kind"], p["version"]) for p in json.loads(listed.stdout)}
    assert plugins == {
        (name, "resource", version) for name, version in pinned_plugin_versions().items()
    }
    for plugin in toolchain.plugins:
        binary = plugin.directory / f"pulumi-resource-{plugin.name}"
        installed = home / "plugins" / plugin.directory.name / binary.name
        assert installed.read_bytes() == binary.read_bytes(), plugin.name
