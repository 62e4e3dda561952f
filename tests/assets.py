"""What the test suites need beyond the package registries, pinned: fetched once into a cache and
checked against a SHA-256 kept in the repository, or read from `../shared` as on the team's
offline machines.

    python -m tests.assets            # get what is missing; exit 1 with one message if it cannot
    python -m tests.assets --list     # every asset: where it comes from, whose checksum it is

The assets, in groups (`tests/assets.toml`, the one data file: URLs, SHA-256s and where each
SHA-256 came from): the Gateway API v1.4.1 CRDs; DigitalOcean's OpenAPI description (Prism
checks the DigitalOcean stand-in against it); the end-to-end toolchain (Pulumi CLI, both provider
plugins at the versions requirements.txt pins, Kubernetes v1.36.3's control plane, etcd, kwok and
its Stages, Cilium's network-policy CRDs).

A group comes from `../shared` when it is beside the repository (offline, as before: the schemas
as they are, the toolchain built by `../shared/toolchain/build`); otherwise from the cache
(`POSTS_INFRA_ASSETS_CACHE`, default `~/.cache/posts-infra-assets`), filled from the upstream
URLs. A download is kept only if its SHA-256 is the pinned one; where the pin file has none (no
published value could be read when it was written), it must match the upstream's published
checksum file, and its SHA-256 is then remembered in the cache (`verified.json`) so later runs,
offline included, check the file against it. Nothing that fails a check is left in the cache,
and a valid cached file is not fetched again. With neither `../shared` nor the network, it stops
at once with one message naming what is missing and both ways to get it.

`POSTS_INFRA_ASSETS_MIRROR=http://HOST:PORT` fetches `https://<host>/<path>` from
`http://HOST:PORT/<host>/<path>` instead (a mirror; the tests' local server).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
PINS_FILE = REPO / "tests" / "assets.toml"
CACHE_ENV = "POSTS_INFRA_ASSETS_CACHE"
MIRROR_ENV = "POSTS_INFRA_ASSETS_MIRROR"
DOWNLOADS = "downloads"  # archives, kept beside what is unpacked from them
VERIFIED = "verified.json"  # SHA-256s of files checked against a published checksum
TIMEOUT = 60.0  # seconds without a byte before a download is given up
_CHUNK = 1 << 20


class AssetError(RuntimeError):
    """Anything that stops the assets from being there; its text is for the user, whole."""


class ChecksumMismatch(AssetError):
    pass


class Unreachable(AssetError):
    pass


@dataclass(frozen=True)
class Group:
    name: str
    label: str  # what a person calls it
    shared: str  # what ../shared holds instead, relative to it
    cached: str  # its folder in the cache


@dataclass(frozen=True)
class Asset:
    """One download. `path`: where the file lands in the cache; or `extract`: archive member ->
    path in the cache; or `build`: a command that makes `path` from the unpacked archive
    (`{source}`: its top folder, `{output}`: the file to write), and `sha256` is the output's."""

    name: str
    group: str
    url: str
    sha256: str  # pinned, lower-case hex; "" where none could be pinned (see `origin`)
    origin: str  # where the pinned SHA-256 came from, or why there is none
    path: str = ""
    extract: Mapping[str, str] = field(default_factory=dict)
    build: tuple[str, ...] = ()
    checksum_url: str = ""  # the upstream's published checksum file (SHA-256 or SHA-1)
    executable: bool = False

    @property
    def download(self) -> str:
        """Where the downloaded file is kept, relative to the cache."""
        if self.extract:
            return f"{DOWNLOADS}/{self.url.rsplit('/', 1)[-1]}"
        return self.path

    def targets(self) -> list[str]:
        return list(self.extract.values()) if self.extract else [self.path]


@dataclass(frozen=True)
class Pins:
    groups: dict[str, Group]
    assets: list[Asset]

    def of(self, group: str) -> list[Asset]:
        return [asset for asset in self.assets if asset.group == group]


def load(path: Path = PINS_FILE) -> Pins:
    data = tomllib.loads(path.read_text())
    groups = {name: Group(name=name, **spec) for name, spec in data["groups"].items()}
    assets = []
    for spec in data["asset"]:
        spec = dict(spec)
        spec["build"] = tuple(spec.get("build", ()))
        asset = Asset(**spec)
        if asset.group not in groups:
            raise AssetError(f"{path}: {asset.name}: no group {asset.group!r}")
        if not (asset.sha256 or asset.checksum_url):
            raise AssetError(f"{path}: {asset.name}: neither a sha256 nor a checksum_url")
        if asset.build and not asset.sha256:
            raise AssetError(f"{path}: {asset.name}: a built file needs its sha256 pinned")
        if bool(asset.path) == bool(asset.extract):
            raise AssetError(f"{path}: {asset.name}: give either path or extract")
        assets.append(asset)
    return Pins(groups, assets)


def shared_dir() -> Path:
    """`../shared`: the repository's parent holds it on the team's machines."""
    return REPO.parent / "shared"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "posts-infra-assets"
    return Path(os.environ.get(CACHE_ENV) or default)


def from_shared(group: Group, shared: Path) -> bool:
    return (shared / group.shared).exists()


def group_dir(name: str, pins: Pins | None = None) -> Path:
    """Where the suites read a group: `../shared`'s copy if there is one, else the cache's."""
    group = (pins or load()).groups[name]
    shared = shared_dir()
    return shared / group.shared if from_shared(group, shared) else cache_dir() / group.cached


def gateway_api_crds_dir() -> Path:
    return group_dir("gateway-api")


def digitalocean_openapi() -> Path:
    return group_dir("digitalocean-openapi") / "DigitalOcean-public.v2.bundled.yaml"


def toolchain_from_shared() -> bool:
    """The toolchain is built from `../shared/toolchain/` (else fetched into the cache)."""
    pins = load()
    return from_shared(pins.groups["toolchain"], shared_dir())


def fetched_toolchain_dir() -> Path:
    return cache_dir() / load().groups["toolchain"].cached


# --- checking --------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Cache:
    """The cache folder and its record of SHA-256s checked against published checksums."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _record(self) -> dict[str, str]:
        record = self.root / VERIFIED
        return json.loads(record.read_text()) if record.exists() else {}

    def expected(self, asset: Asset) -> str:
        return asset.sha256 or self._record().get(asset.download, "")

    def remember(self, asset: Asset, sha256: str) -> None:
        record = self._record()
        record[asset.download] = sha256
        content = json.dumps(record, indent=1, sort_keys=True).encode()
        self.write(self.root / VERIFIED, io.BytesIO(content))

    def valid(self, asset: Asset) -> bool:
        """Downloaded (or built) and matching its SHA-256, with everything unpacked from it."""
        kept = self.root / asset.download
        expected = self.expected(asset)
        if not (expected and kept.is_file() and sha256_of(kept) == expected):
            return False
        return all((self.root / target).is_file() for target in asset.targets())

    def write(self, target: Path, source: IO[bytes]) -> None:
        """`target` from `source`, whole or not at all."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".partial-", delete=False) as f:
            try:
                shutil.copyfileobj(source, f, _CHUNK)
            except BaseException:
                os.unlink(f.name)
                raise
        os.replace(f.name, target)


# --- fetching --------------------------------------------------------------------------------


def mirrored(url: str) -> str:
    mirror = os.environ.get(MIRROR_ENV, "").rstrip("/")
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return f"{mirror}/{parts.netloc}{parts.path}"


@dataclass
class _Download:
    path: Path
    sha256: str
    sha1: str


def _download(url: str, into: Path) -> _Download:
    """`url` into a new temporary file in `into` (the caller keeps or deletes it)."""
    into.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(mirrored(url), headers={"User-Agent": "posts-infra-assets"})
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()  # what Pulumi's plugin releases publish
    handle, name = tempfile.mkstemp(dir=into, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT) as r:
            while chunk := r.read(_CHUNK):
                out.write(chunk)
                sha256.update(chunk)
                sha1.update(chunk)
    except urllib.error.HTTPError as error:
        os.unlink(name)
        raise Unreachable(f"{url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        os.unlink(name)
        reason = getattr(error, "reason", error)
        raise Unreachable(f"{url}: {reason}") from None
    return _Download(Path(name), sha256.hexdigest(), sha1.hexdigest())


def published_checksum(text: str, filename: str) -> str:
    """The checksum for `filename` in a checksum file: a bare digest (dl.k8s.io's `.sha256`),
    or `<digest>  <name>` lines (`SHA256SUMS`, `*_checksums.txt`, `shasum` output)."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0].lower()
    for row in rows:
        if len(row) >= 2 and row[-1].lstrip("*").removeprefix("./") == filename:
            return row[0].lower()
    raise AssetError(f"the published checksums list no {filename}")


class Fetcher:
    def __init__(self, cache: Path, log: Callable[[str], None] = print) -> None:
        self.cache = Cache(cache)
        self.log = log

    def fetch(self, asset: Asset) -> None:
        if asset.build:
            self._build(asset)
            return
        kept = self.cache.root / asset.download
        expected = self.cache.expected(asset)
        fresh = not (expected and kept.is_file() and sha256_of(kept) == expected)
        if fresh:
            self._download_checked(asset, kept)
        for member, target in asset.extract.items():
            if fresh or not (self.cache.root / target).is_file():
                self._unpack(kept, member, self.cache.root / target)
        if asset.executable:
            kept.chmod(0o755)

    def _download_checked(self, asset: Asset, kept: Path) -> None:
        self.log(f"assets: fetching {asset.name} ({asset.url})")
        got = _download(asset.url, self.cache.root)
        try:
            self._check(asset, got)
        except AssetError:
            got.path.unlink()
            raise
        kept.parent.mkdir(parents=True, exist_ok=True)
        got.path.chmod(0o644)
        os.replace(got.path, kept)

    def _check(self, asset: Asset, got: _Download) -> None:
        if asset.sha256:
            if got.sha256 != asset.sha256:
                raise ChecksumMismatch(
                    f"refused {asset.name} from {asset.url}: its SHA-256 is {got.sha256}, "
                    f"tests/assets.toml pins {asset.sha256} ({asset.origin}). Nothing was kept."
                )
            return
        listing = _download(asset.checksum_url, self.cache.root)
        try:
            published = published_checksum(listing.path.read_text(), asset.url.rsplit("/", 1)[-1])
        except AssetError as error:
            raise AssetError(f"{asset.checksum_url}: {error}") from None
        finally:
            listing.path.unlink()
        actual = {64: got.sha256, 40: got.sha1}.get(len(published))
        if actual != published:
            raise ChecksumMismatch(
                f"refused {asset.name} from {asset.url}: its checksum is {actual}, "
                f"{asset.checksum_url} publishes {published}. Nothing was kept."
            )
        self.cache.remember(asset, got.sha256)
        self.log(
            f"assets: {asset.name} matches {asset.checksum_url}; not pinned in"
            f' tests/assets.toml yet: sha256 = "{got.sha256}"'
        )

    def _unpack(self, archive: Path, member: str, target: Path) -> None:
        with tarfile.open(archive) as tar:
            try:
                info = tar.getmember(member)
            except KeyError:
                raise AssetError(f"{archive.name} holds no {member}") from None
            source = tar.extractfile(info)
            if source is None:
                raise AssetError(f"{archive.name}: {member} is not a file")
            self.cache.write(target, source)
        target.chmod(0o755 if info.mode & 0o111 else 0o644)

    def _build(self, asset: Asset) -> None:
        kept = self.cache.root / asset.path
        if kept.is_file() and sha256_of(kept) == asset.sha256:
            return
        self.log(f"assets: fetching the sources of {asset.name} ({asset.url})")
        got = _download(asset.url, self.cache.root)
        with tempfile.TemporaryDirectory(dir=self.cache.root, prefix=".build-") as work:
            try:
                with tarfile.open(got.path) as tar:
                    tar.extractall(work, filter="data")
            finally:
                got.path.unlink()
            (source,) = Path(work).iterdir()  # GitHub's archives hold one top folder
            output = Path(work) / "output"
            command = [part.format(source=source, output=output) for part in asset.build]
            self.log(f"assets: {' '.join(asset.build)}")
            done = subprocess.run(command, cwd=source, capture_output=True, text=True, check=False)
            if done.returncode != 0 or not output.is_file():
                raise AssetError(
                    f"building {asset.name} failed ({' '.join(command)}):"
                    f"\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
                )
            built = sha256_of(output)
            if built != asset.sha256:
                raise ChecksumMismatch(
                    f"refused {asset.name} built by `{' '.join(asset.build)}` from {asset.url}:"
                    f" its SHA-256 is {built}, tests/assets.toml pins {asset.sha256}"
                    f" ({asset.origin}). Nothing was kept."
                )
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(output, kept)
            kept.chmod(0o644)


# --- what the suites call --------------------------------------------------------------------


def missing(pins: Pins, cache: Path, shared: Path) -> list[Asset]:
    """The assets of every group `../shared` does not provide that are not valid in the cache."""
    store = Cache(cache)
    return [
        asset
        for asset in pins.assets
        if not from_shared(pins.groups[asset.group], shared) and not store.valid(asset)
    ]


def ensure(
    pins: Pins | None = None,
    cache: Path | None = None,
    shared: Path | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Everything the suites need, from `../shared` or the cache; fetches what is missing."""
    pins = pins or load()
    cache = cache or cache_dir()
    shared = shared or shared_dir()
    todo = missing(pins, cache, shared)
    if not todo:
        return
    if (platform.system(), platform.machine()) != ("Linux", "x86_64"):
        raise AssetError(
            f"{missing_message(pins, todo, cache, shared, None)}\n"
            f"The pinned binaries are linux-amd64; this machine is"
            f" {platform.system()} {platform.machine()}."
        )
    fetcher = Fetcher(cache, log)
    for index, asset in enumerate(todo):
        try:
            fetcher.fetch(asset)
        except Unreachable as error:
            raise AssetError(missing_message(pins, todo[index:], cache, shared, error)) from None


def missing_message(
    pins: Pins, todo: list[Asset], cache: Path, shared: Path, error: Exception | None
) -> str:
    lines = [f"The test suites' pinned assets are missing: not in {shared}, not in {cache}:"]
    for name, group in pins.groups.items():
        names = [asset.name for asset in todo if asset.group == name]
        if names:
            lines.append(f"  - {group.label}: {', '.join(names)}")
    if error is not None:
        lines.append(f"Fetching them failed: {error}")
    lines += [
        "Two ways to get them:",
        f"  - offline: put shared/ beside the repository ({shared}), as on the team's machines:"
        " the schemas are read from it and ../shared/toolchain/build makes the toolchain;",
        f"  - online: run this again with internet access: each file pinned in {PINS_FILE.name}"
        f" (tests/) is fetched into {cache} and checked against its SHA-256.",
    ]
    return "\n".join(lines)


def describe(pins: Pins, cache: Path, shared: Path) -> str:
    lines = []
    for name, group in pins.groups.items():
        where = shared / group.shared if from_shared(group, shared) else cache / group.cached
        lines.append(f"{group.label}: {where}")
        for asset in pins.of(name):
            check = (
                f"sha256 {asset.sha256}"
                if asset.sha256
                else f"checked against {asset.checksum_url}"
            )
            lines.append(f"  {asset.name}: {asset.url}\n    {check}\n    ({asset.origin})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.assets",
        description="Get the test suites' pinned assets (tests/assets.toml): from ../shared, or"
        " fetched into the cache and checked against their SHA-256s.",
    )
    parser.add_argument(
        "--list", action="store_true", help="print each asset, its source and its checksum's origin"
    )
    options = parser.parse_args(argv)
    pins = load()
    if options.list:
        print(describe(pins, cache_dir(), shared_dir()))
        return 0
    try:
        ensure(pins)
    except AssetError as error:
        print(f"assets: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
