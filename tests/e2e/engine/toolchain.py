"""The real tools of the end-to-end suite: Pulumi CLI, provider plugins, a Kubernetes control plane.

    python -m tests.e2e.engine.toolchain [--ensure]

Pulumi comes from `PATH` when the CLI there has both provider plugins at the versions
`requirements.txt` pins (a machine with Pulumi's installer and plugin downloads); otherwise from
the toolchain folder (`TOOLCHAIN_DIR`). With `../shared` beside the repository that is the
offline toolchain `../shared/toolchain/build` makes (default `~/.cache/posts-infra-toolchain`),
built from the sources it has and stamped with the pinned versions; without it, the released
binaries `tests/assets.py` fetches, each checked against its SHA-256 (`python -m tests.assets`,
which ./scripts/e2e runs first). The control plane (etcd, kube-apiserver, controller-manager,
scheduler, kubectl, kwok, kwok's Stages and the Cilium CRDs) always comes from that folder.
`--ensure` builds what is missing (from ../shared) and installs Prism (npm, pinned); without it a
missing tool is an error (the suite fails, it never skips).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests import assets

REPO = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = assets.shared_dir() / "toolchain" / "build"
KUBE_BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
)
RELEASED = "Pulumi's released plugin binary, fetched by tests/assets.py"
# What ../shared/toolchain/build compiles each plugin from (its README, "Honest versions").
TOOLCHAIN_SOURCES = {
    "digitalocean": "pulumi-digitalocean v4.76.0 + terraform-provider-digitalocean v2.96.0",
    "kubernetes": "pulumi-kubernetes commit 94977969 (2026-07-01: 4.32.0 + 4.33.0's changes)",
}


class ToolchainMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Plugin:
    name: str  # digitalocean | kubernetes
    version: str  # the version the engine asks for (requirements.txt)
    directory: Path  # resource-<name>-v<version>
    source: str  # what the binary was built from


@dataclass(frozen=True)
class Toolchain:
    pulumi_bin_dir: Path  # holds `pulumi` and the Python language host
    cli_version: str
    cli_source: str
    plugins: tuple[Plugin, ...]
    kube_bin_dir: Path
    kwok_stages_dir: Path
    cilium_crds_dir: Path

    def describe(self) -> str:
        lines = [f"pulumi CLI {self.cli_version} ({self.cli_source}) in {self.pulumi_bin_dir}"]
        lines += [
            f"plugin {p.name} {p.version}: built from {p.source} ({p.directory})"
            for p in self.plugins
        ]
        versions = ", ".join(
            f"{name} {_binary_version(self.kube_bin_dir / name)}"
            for name in ("kube-apiserver", "etcd", "kwok")
        )
        lines.append(f"control plane: {versions} ({self.kube_bin_dir})")
        return "\n".join(lines)

    def environment(self, pulumi_home: Path) -> dict[str, str]:
        """Variables for running the CLI offline with these plugins (see `pulumi_home`)."""
        return {
            "PATH": f"{self.pulumi_bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(pulumi_home),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # Only the plugins in PULUMI_HOME: never a pulumi-resource-* found on PATH.
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            # The Python language host runs `python -m pip list` before every program run; pip's
            # weekly check for a newer pip would wait on the network (here: minutes, offline).
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }

    def prepare_pulumi_home(self, pulumi_home: Path) -> None:
        """`PULUMI_HOME/plugins/` with every plugin folder as a real folder of hard links: the CLI
        does not find plugins in symlinked folders."""
        plugins = pulumi_home / "plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        for plugin in self.plugins:
            target = plugins / plugin.directory.name
            if target.exists():
                continue
            target.mkdir()
            for item in plugin.directory.iterdir():
                if item.is_file():
                    _link_or_copy(item, target / item.name)
            lock = plugins / f"{plugin.directory.name}.lock"
            lock.touch()


def _binary_version(binary: Path) -> str:
    """What a control-plane binary says its version is (`--version`): v1.36.3, 3.6.16, v0.8.0."""
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as error:
        return f"(unknown: {error})"
    found = re.search(r"v?\d+\.\d+\.\d+", done.stdout + done.stderr)
    return found.group(0) if found else "(unknown)"


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def toolchain_dir() -> Path:
    if "TOOLCHAIN_DIR" in os.environ:
        return Path(os.environ["TOOLCHAIN_DIR"])
    if not BUILD_SCRIPT.exists():
        return assets.fetched_toolchain_dir()
    return Path.home() / ".cache" / "posts-infra-toolchain"


def fetched(root: Path) -> bool:
    """`root` holds the released binaries tests/assets.py fetched, not a build of ../shared's."""
    return root == assets.fetched_toolchain_dir()


def pinned_plugin_versions() -> dict[str, str]:
    """`pulumi-digitalocean==X` and `pulumi-kubernetes==Y` from requirements.txt."""
    text = (REPO / "requirements.txt").read_text()
    versions: dict[str, str] = {}
    for name in ("digitalocean", "kubernetes"):
        match = re.search(rf"^pulumi-{name}==([0-9][^\s#]*)", text, re.MULTILINE)
        if match is None:
            raise ToolchainMissing(f"requirements.txt pins no pulumi-{name}")
        versions[name] = match.group(1)
    return versions


def _cli_version(pulumi: Path) -> str:
    result = subprocess.run(
        [str(pulumi), "version"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
    )
    return result.stdout.strip()


def _from_path(versions: dict[str, str]) -> tuple[Path, tuple[Plugin, ...]] | None:
    """Pulumi and both pinned plugins as Pulumi's installer and plugin downloads leave them."""
    found = shutil.which("pulumi")
    if found is None or not shutil.which("pulumi-language-python"):
        return None
    home = Path(os.environ.get("PULUMI_HOME", Path.home() / ".pulumi"))
    plugins = []
    for name, version in versions.items():
        directory = home / "plugins" / f"resource-{name}-v{version}"
        if not (directory / f"pulumi-resource-{name}").exists():
            return None
        plugins.append(Plugin(name, version, directory, "Pulumi's released plugin binary"))
    return Path(found).resolve().parent, tuple(plugins)


def locate() -> Toolchain:
    """The tools, or `ToolchainMissing` naming what is missing and how to build it."""
    versions = pinned_plugin_versions()
    root = toolchain_dir()
    kube_bin = root / "kube" / "bin"
    missing = [name for name in KUBE_BINARIES if not (kube_bin / name).exists()]
    stages, crds = root / "kube" / "stages", root / "kube" / "crds"
    if not list(stages.glob("*.yaml")):
        missing.append("kwok stages")
    if not (crds / "ciliumnetworkpolicies.yaml").exists():
        missing.append("Cilium CRDs")

    on_path = _from_path(versions)
    if on_path is not None:
        bin_dir, plugins = on_path
        cli_source = "the Pulumi CLI on PATH"
    else:
        bin_dir = root / "bin"
        released = fetched(root)
        for tool in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec"):
            if not (bin_dir / tool).exists():
                missing.append(tool)
        plugins = tuple(
            Plugin(
                name,
                version,
                root / "plugins" / f"resource-{name}-v{version}",
                RELEASED if released else f"{TOOLCHAIN_SOURCES[name]}, stamped {version}",
            )
            for name, version in versions.items()
        )
        missing += [
            f"plugin {p.name} {p.version}"
            for p in plugins
            if not (p.directory / f"pulumi-resource-{p.name}").exists()
        ]
        cli_source = (
            "Pulumi's released CLI, fetched by tests/assets.py"
            if released
            else "built offline from github.com/pulumi/pulumi/pkg/v3 by ../shared/toolchain"
        )
    if missing:
        how = (
            f"build it with `{build_command(versions)}` (about 26 min cold on 2 cores)"
            if BUILD_SCRIPT.exists()
            else "fetch it with `python -m tests.assets`"
        )
        raise ToolchainMissing(
            f"the end-to-end toolchain lacks {', '.join(missing)} in {root}; {how} or run"
            " ./scripts/e2e, which does"
        )
    return Toolchain(
        pulumi_bin_dir=bin_dir,
        cli_version=_cli_version(bin_dir / "pulumi"),
        cli_source=cli_source,
        plugins=plugins,
        kube_bin_dir=kube_bin,
        kwok_stages_dir=stages,
        cilium_crds_dir=crds,
    )


def build_command(versions: dict[str, str]) -> str:
    return (
        f"{BUILD_SCRIPT} --digitalocean-version {versions['digitalocean']}"
        f" --kubernetes-version {versions['kubernetes']}"
    )


def ensure() -> Toolchain:
    """`locate()`, building the offline toolchain first if anything is missing."""
    try:
        return locate()
    except ToolchainMissing as missing:
        if not BUILD_SCRIPT.exists():
            raise  # fetched by tests/assets.py, which ./scripts/e2e runs first
        print(f"e2e: {missing}\ne2e: building it now", flush=True)
        versions = pinned_plugin_versions()
        subprocess.run(
            [
                str(BUILD_SCRIPT),
                "--digitalocean-version",
                versions["digitalocean"],
                "--kubernetes-version",
                versions["kubernetes"],
            ],
            check=True,
        )
        return locate()


def main(argv: list[str]) -> int:
    from tests.e2e.digitalocean.prism import ensure_installed

    try:
        toolchain = ensure() if "--ensure" in argv else locate()
        if "--ensure" in argv:
            ensure_installed()
    except (ToolchainMissing, subprocess.CalledProcessError) as error:
        print(f"e2e: {error}", file=sys.stderr)
        return 1
    print(toolchain.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
