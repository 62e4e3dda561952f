"""What the suites are given, and that they read it: the Gateway API CRDs as per-CRD files or as
a release's multi-document bundle."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import assets
from tests.crds import GATEWAY_API_KINDS, by_kind, gateway_api_crds, load_crds
from tests.e2e.engine.toolchain import pinned_plugin_versions
from tests.e2e.kube.cluster_setup import GATEWAY_API_CRDS

# Gateway API v1.4's standard-install.yaml also carries objects that are not CRDs.
NOT_A_CRD = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"},
}


def test_the_cluster_gets_gateway_class_gateway_and_httproute_from_what_the_suite_is_given():
    crds = gateway_api_crds(GATEWAY_API_CRDS)
    assert set(GATEWAY_API_KINDS) <= set(by_kind(crds))
    assert all(crd["spec"]["versions"] for crd in crds)
    json.dumps({"apiVersion": "v1", "kind": "List", "items": crds})  # what kubectl is sent


def test_a_release_bundle_is_read_as_well_as_per_crd_files(tmp_path: Path):
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    documents = [yaml.dump(crd, Dumper=dumper) for crd in load_crds(GATEWAY_API_CRDS)]
    documents.insert(1, yaml.dump(NOT_A_CRD, Dumper=dumper))
    (tmp_path / "standard-install.yaml").write_text("---\n".join(documents))
    bundled = gateway_api_crds(tmp_path)
    assert set(GATEWAY_API_KINDS) <= set(by_kind(bundled))
    assert by_kind(bundled) == by_kind(gateway_api_crds(GATEWAY_API_CRDS))
    assert all(crd["kind"] == "CustomResourceDefinition" for crd in bundled)


def test_a_folder_without_gateway_class_is_refused_by_name(tmp_path: Path):
    for path in GATEWAY_API_CRDS.glob("*.yaml"):
        if "gatewayclasses" not in path.name:
            shutil.copy(path, tmp_path / path.name)
    with pytest.raises(FileNotFoundError, match=r"of GatewayClass in .*\*\.yaml"):
        gateway_api_crds(tmp_path)


# --- the fetcher, against a server on 127.0.0.1 ------------------------------------------------


@dataclass
class Upstream:
    """Files served on 127.0.0.1, fetched as if from https://example.test/ (the fetcher's mirror
    setting points there), and every path asked for."""

    root: Path
    requested: list[str]

    def put(self, path: str, content: bytes) -> str:
        target = self.root / "example.test" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return f"https://example.test/{path}"


@pytest.fixture
def upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    served = Upstream(tmp_path / "upstream", [])
    served.root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            served.requested.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served.root))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv(assets.MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def tarball(members: dict[str, tuple[bytes, int]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, (content, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


GROUPS = {
    "gateway-api": assets.Group("gateway-api", "Gateway API CRDs", "schemas/gw", "schemas/gw"),
    "toolchain": assets.Group("toolchain", "the toolchain", "toolchain/build", "toolchain"),
}
CRD = b"kind: CustomResourceDefinition\n"
CLI = tarball({"cli/cli": (b"#!/bin/sh\necho cli\n", 0o755), "cli/README": (b"read me", 0o644)})
PLUGIN = tarball({"pulumi-resource-x": (b"plugin binary", 0o755)})
KUBE = b"\x7fELF kube binary"


def pinned(upstream: Upstream, crd_sha256: str = "", plugin_sha1: str = "") -> assets.Pins:
    """One asset of each kind: a file pinned in the repo; an archive checked against published
    SHA-256 sums; a bare binary with a bare `.sha256` beside it; an archive checked against
    published SHA-1 sums (as Pulumi's plugin releases publish them)."""
    crd = upstream.put("gw/v1/gatewayclasses.yaml", CRD)
    cli = upstream.put("cli/cli-v1-linux-x64.tar.gz", CLI)
    cli_sums = upstream.put(
        "cli/cli-1-sums.txt", f"{sha256(CLI)}  cli-v1-linux-x64.tar.gz".encode()
    )
    kube = upstream.put("kube/v1/kube-thing", KUBE)
    upstream.put("kube/v1/kube-thing.sha256", sha256(KUBE).encode() + b"\n")
    plugin = upstream.put("plugins/resource-x-v2.tar.gz", PLUGIN)
    sha1 = plugin_sha1 or hashlib.sha1(PLUGIN).hexdigest()
    plugin_sums = upstream.put("plugins/x_2_sums.txt", f"{sha1}  ./resource-x-v2.tar.gz\n".encode())
    return assets.Pins(
        GROUPS,
        [
            assets.Asset(
                "GatewayClass CRD", "gateway-api", crd, crd_sha256 or sha256(CRD), "test",
                path="schemas/gw/gatewayclasses.yaml",
            ),
            assets.Asset(
                "CLI 1", "toolchain", cli, "", "test",
                extract={"cli/cli": "toolchain/bin/cli"}, checksum_url=cli_sums,
            ),
            assets.Asset(
                "kube-thing", "toolchain", kube, "", "test", path="toolchain/kube/bin/kube-thing",
                checksum_url=f"{kube}.sha256", executable=True,
            ),
            assets.Asset(
                "plugin x 2", "toolchain", plugin, "", "test", checksum_url=plugin_sums,
                extract={"pulumi-resource-x": "toolchain/plugins/resource-x-v2/pulumi-resource-x"},
            ),
        ],
    )  # fmt: skip


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_pinned_files_land_where_the_suites_read_them(upstream: Upstream, tmp_path: Path):
    cache, no_shared = tmp_path / "cache", tmp_path / "nowhere"
    assets.ensure(pinned(upstream), cache, no_shared, log=lambda line: None)
    landed = files(cache)
    assert landed["schemas/gw/gatewayclasses.yaml"] == CRD
    assert landed["toolchain/bin/cli"] == b"#!/bin/sh\necho cli\n"
    assert landed["toolchain/kube/bin/kube-thing"] == KUBE
    assert landed["toolchain/plugins/resource-x-v2/pulumi-resource-x"] == b"plugin binary"
    for executable in ("bin/cli", "kube/bin/kube-thing", "plugins/resource-x-v2/pulumi-resource-x"):
        assert os.access(cache / "toolchain" / executable, os.X_OK), executable
    assert not os.access(cache / "schemas/gw/gatewayclasses.yaml", os.X_OK)
    # Those checked against a published checksum are remembered by SHA-256, for offline runs.
    assert json.loads(landed["verified.json"]) == {
        "downloads/cli-v1-linux-x64.tar.gz": sha256(CLI),
        "toolchain/kube/bin/kube-thing": sha256(KUBE),
        "downloads/resource-x-v2.tar.gz": sha256(PLUGIN),
    }
    assert not [name for name in landed if ".partial" in name or ".build" in name]


def test_a_group_that_shared_provides_is_not_fetched(upstream: Upstream, tmp_path: Path):
    shared = tmp_path / "shared"
    (shared / "toolchain").mkdir(parents=True)
    (shared / "toolchain" / "build").write_text("#!/bin/sh\n")
    assets.ensure(pinned(upstream), tmp_path / "cache", shared, log=lambda line: None)
    assert set(files(tmp_path / "cache")) == {"schemas/gw/gatewayclasses.yaml"}
    assert all("gw/" in path for path in upstream.requested)


def test_a_pinned_checksum_mismatch_is_refused_and_nothing_is_kept(
    upstream: Upstream, tmp_path: Path
):
    wrong = sha256(b"another file")
    with pytest.raises(assets.ChecksumMismatch) as refused:
        assets.ensure(pinned(upstream, crd_sha256=wrong), tmp_path / "cache", tmp_path / "none")
    message = str(refused.value)
    assert "refused GatewayClass CRD from https://example.test/gw/v1/gatewayclasses.yaml" in message
    assert f"its SHA-256 is {sha256(CRD)}, tests/assets.toml pins {wrong}" in message
    assert "Nothing was kept." in message
    assert files(tmp_path / "cache") == {}


def test_a_published_checksum_mismatch_is_refused_and_nothing_is_kept(
    upstream: Upstream, tmp_path: Path
):
    cache = tmp_path / "cache"
    pins = pinned(upstream, plugin_sha1=hashlib.sha1(b"another plugin").hexdigest())
    with pytest.raises(assets.ChecksumMismatch, match=r"refused plugin x 2 from .* publishes"):
        assets.ensure(pins, cache, tmp_path / "none", log=lambda line: None)
    assert not [name for name in files(cache) if "resource-x" in name]
    assert "downloads/resource-x-v2.tar.gz" not in json.loads((cache / "verified.json").read_text())
    assert not list(cache.rglob(".partial*"))


def test_valid_cached_files_are_not_fetched_again_even_offline(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cache, none = tmp_path / "cache", tmp_path / "none"
    pins = pinned(upstream)
    assets.ensure(pins, cache, none, log=lambda line: None)
    fetched = len(upstream.requested)
    assert fetched == 7  # four files, three published checksums
    assets.ensure(pins, cache, none, log=lambda line: None)
    assert len(upstream.requested) == fetched
    # The server gone: still nothing to fetch, the unpinned ones checked against verified.json.
    monkeypatch.setenv(assets.MIRROR_ENV, f"http://127.0.0.1:{closed_port()}")
    assets.ensure(pins, cache, none, log=lambda line: None)
    assert assets.missing(pins, cache, none) == []


def test_a_changed_cached_file_is_fetched_again(upstream: Upstream, tmp_path: Path):
    cache, none = tmp_path / "cache", tmp_path / "none"
    pins = pinned(upstream)
    assets.ensure(pins, cache, none, log=lambda line: None)
    (cache / "toolchain/kube/bin/kube-thing").write_bytes(b"tampered")
    (cache / "toolchain/bin/cli").unlink()  # unpacked again from the kept archive
    before = list(upstream.requested)
    assets.ensure(pins, cache, none, log=lambda line: None)
    # The changed one alone, checked against its published checksum again.
    again = ["/example.test/kube/v1/kube-thing", "/example.test/kube/v1/kube-thing.sha256"]
    assert upstream.requested[len(before) :] == again
    assert (cache / "toolchain/kube/bin/kube-thing").read_bytes() == KUBE
    assert (cache / "toolchain/bin/cli").read_bytes() == b"#!/bin/sh\necho cli\n"


def test_a_built_asset_is_checked_after_it_is_built(upstream: Upstream, tmp_path: Path):
    spec = b"openapi: 3.0.0\n"
    source = tarball({"openapi-7c1300c/specification/spec.yaml": (spec, 0o644)})
    url = upstream.put("archive/7c1300c.tar.gz", source)
    copy = "import shutil, sys; shutil.copy('specification/spec.yaml', sys.argv[1])"
    build = (sys.executable, "-c", copy, "{output}")
    group = assets.Group("openapi", "the description", "schemas/do", "schemas/do")

    def pins(pinned_sha256: str) -> assets.Pins:
        asset = assets.Asset(
            "bundle", "openapi", url, pinned_sha256, "test", path="schemas/do/b.yaml", build=build
        )
        return assets.Pins({"openapi": group}, [asset])

    cache, none = tmp_path / "cache", tmp_path / "none"
    with pytest.raises(assets.ChecksumMismatch, match=r"refused bundle built by .* its SHA-256 is"):
        assets.ensure(pins(sha256(b"other")), cache, none, log=lambda line: None)
    assert files(cache) == {}
    assets.ensure(pins(sha256(spec)), cache, none, log=lambda line: None)
    assert files(cache) == {"schemas/do/b.yaml": spec}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_with_neither_shared_nor_network_one_message_names_what_is_missing_and_both_ways(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    pins = pinned(upstream)
    monkeypatch.setenv(assets.MIRROR_ENV, f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    with pytest.raises(assets.AssetError) as stopped:
        assets.ensure(pins, tmp_path / "cache", tmp_path / "none", log=lambda line: None)
    assert time.monotonic() - started < 5
    message = str(stopped.value)
    assert f"not in {tmp_path / 'none'}, not in {tmp_path / 'cache'}" in message
    assert "Gateway API CRDs: GatewayClass CRD" in message
    assert "the toolchain: CLI 1, kube-thing, plugin x 2" in message
    assert "Fetching them failed: https://example.test/gw/v1/gatewayclasses.yaml:" in message
    assert "offline: put shared/ beside the repository" in message
    assert "online: run this again with internet access" in message


def test_the_pin_file_says_where_each_checksum_comes_from():
    pins = assets.load()
    assert {a.group for a in pins.assets} == set(pins.groups)
    for asset in pins.assets:
        assert asset.url.startswith("https://"), asset.name
        assert asset.origin, asset.name
        if asset.sha256:
            assert len(asset.sha256) == 64 and int(asset.sha256, 16) >= 0, asset.name
        else:
            assert asset.checksum_url.startswith("https://"), asset.name
            assert asset.origin.startswith("not pinned"), asset.name
    targets = [target for asset in pins.assets for target in asset.targets()]
    assert len(targets) == len(set(targets))


def test_the_plugins_fetched_are_the_versions_requirements_pins():
    names = {asset.name for asset in assets.load().of("toolchain")}
    for name, version in pinned_plugin_versions().items():
        label = {"digitalocean": "DigitalOcean", "kubernetes": "Kubernetes"}[name]
        assert f"{label} provider plugin {version}" in names


def test_what_the_suites_read_is_the_pinned_files():
    """../shared's copies where it is beside the repo, else the cache's: the pinned bytes."""
    pins = assets.load()
    crds = {asset.path.rsplit("/", 1)[-1]: asset.sha256 for asset in pins.of("gateway-api")}
    given = {p.name: assets.sha256_of(p) for p in assets.gateway_api_crds_dir().glob("*.yaml")}
    assert given == crds
    (bundle,) = pins.of("digitalocean-openapi")
    assert assets.sha256_of(assets.digitalocean_openapi()) == bundle.sha256
