"""Run the Pulumi program for a stack offline under Pulumi's mocks; capture what it would create.

No Pulumi CLI, no cloud credentials, no network: `pulumi.runtime.set_mocks` stands in for the
engine and the providers. The stack's config comes from `Pulumi.<stack>.yaml` (encrypted values
become placeholders that stay marked secret), handed to the program as the engine hands it: in
the environment variables PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS. The result lists every
resource registration as the engine would receive it (type, name, parent, inputs with their
secret markers, dependencies, protect, ignoreChanges, provider, aliases), the stack outputs, and
the warnings the program logged.

The tests and the render tool both use this module.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import json
import logging
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from config.cloud import Cloud, OfflineCloud, installed

if TYPE_CHECKING:
    from components.platform.live import Reader

REPO = Path(__file__).resolve().parent.parent
PROJECT = "posts-infra"
PLACEHOLDER_TOKEN = "offline-placeholder-digitalocean-token"
MOCK_GATEWAY_IP = "203.0.113.10"  # TEST-NET-3: documentation only


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret. `str()` never shows it."""

    value: Any

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]  # secret values wrapped in `Secret`
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]  # input name -> URNs its value came from
    protect: bool
    ignore_changes: list[str]
    provider: str
    delete_before_replace: bool
    replace_on_changes: list[str]
    # Whether the program set delete_before_replace at all (an explicit False overrides a
    # provider's request to delete first).
    delete_before_replace_set: bool = False
    custom_timeouts: dict[str, str] = field(default_factory=dict)  # create/update/delete -> "90s"
    # As the program gave them: {"urn": ...}, or a spec with any of name, type, parent (a URN),
    # noParent (offline/registrations.py resolves them to URNs).
    aliases: list[dict[str, Any]] = field(default_factory=list)

    def value(self, path: str) -> Any:
        """An input by dotted path (`nodePool.maxNodes`), secrets unwrapped."""
        current: Any = reveal(self.inputs)
        for part in path.split("."):
            if isinstance(current, list):
                current = current[int(part)]
            elif isinstance(current, dict):
                current = current.get(part)
            else:
                return None
        return current


@dataclass
class StackOutput:
    value: Any
    secret: bool


@dataclass
class Simulation:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, StackOutput]
    warnings: list[str]
    program: dict[str, Any] = field(default_factory=dict)  # __main__'s globals: the components
    context: contextvars.Context | None = None
    notices: list[str] = field(default_factory=list)  # what the program logged as info

    def resolve(self, value: Any) -> StackOutput:
        """The value of an Output of this run, and whether it is secret."""
        if self.context is None:
            raise RuntimeError("this simulation kept no context")
        return self.context.run(_resolve, value)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_} named {name!r}; have {names}")
        return found[0]

    @functools.cached_property
    def _by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}

    def by_urn(self, urn: str) -> Registration | None:
        return self._by_urn.get(urn)

    def depends_on(self, dependent: Registration, dependency: Registration) -> bool:
        """Whether `dependent` waits for `dependency`, directly or through other resources."""
        seen: set[str] = set()
        stack = list(dependent.dependencies)
        while stack:
            urn = stack.pop()
            if urn == dependency.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            known = self.by_urn(urn)
            if known is not None:
                stack.extend(known.dependencies)
                stack.extend(_children_urns(self.registrations, urn))
        return False


def _children_urns(registrations: list[Registration], urn: str) -> Iterator[str]:
    return (r.urn for r in registrations if r.parent == urn)


# -- secrets --------------------------------------------------------------------------------------


def _wrap_secrets(value: Any) -> Any:
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return Secret(_wrap_secrets(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: _wrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap_secrets(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the engine's protobuf Struct carries every number as a double
    return value


def reveal(value: Any) -> Any:
    """The value with every `Secret` unwrapped (for assertions, never for printing)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def redact(value: Any, placeholder: str = "[secret]") -> Any:
    """The value with every `Secret` replaced by a placeholder (safe to print or write)."""
    if isinstance(value, Secret):
        inner = value.value
        if isinstance(inner, dict):  # keep the keys of a secret map (e.g. a Secret's data)
            return {k: placeholder for k in inner}
        return placeholder
    if isinstance(value, dict):
        return {k: redact(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, placeholder) for v in value]
    return value


def secret_paths(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the `Secret` values inside `value`."""
    if isinstance(value, Secret):
        return [prefix or "."]
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += secret_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += secret_paths(v, f"{prefix}.{i}" if prefix else str(i))
    return found


# -- config ---------------------------------------------------------------------------------------


def stack_names(*roots: Path) -> list[str]:
    """The stacks of this repository (or of these checkouts): one per `Pulumi.<stack>.yaml`."""
    return sorted(
        {
            p.name[len("Pulumi.") : -len(".yaml")]
            for r in roots or (REPO,)
            for p in r.glob("Pulumi.*.yaml")
        }
    )


def stack_config(stack: str) -> tuple[dict[str, str], list[str]]:
    """`Pulumi.<stack>.yaml` as the engine passes it: strings (JSON for lists), secret keys."""
    path = REPO / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise UnknownStackError(stack)
    document = yaml.safe_load(path.read_text()) or {}
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = _full_key(key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full_key] = f"offline-placeholder-{full_key.split(':', 1)[1]}"
            secret_keys.append(full_key)
        else:
            values[full_key] = _engine_string(value)
    return values, secret_keys


def _full_key(key: str) -> str:
    """`key` means the project's own `posts-infra:key`; namespaced keys stay as they are."""
    return key if ":" in key else f"{PROJECT}:{key}"


def _engine_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


class UnknownStackError(Exception):
    def __init__(self, stack: str) -> None:
        known = ", ".join(stack_names()) or "none"
        super().__init__(f"unknown stack '{stack}': no Pulumi.{stack}.yaml (stacks: {known})")


# -- mocks ----------------------------------------------------------------------------------------

MOCK_CA = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n"
).decode()


def _mock_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What a provider would return beyond the inputs, for the types whose outputs we read."""
    if type_ == "digitalocean:index/kubernetesCluster:KubernetesCluster":
        return {
            "endpoint": f"https://{name}.k8s.ondigitalocean.com",
            "kubeConfigs": [
                {"clusterCaCertificate": MOCK_CA, "rawConfig": "mock", "token": "mock-7-day-token"}
            ],
            "urn": "",
        }
    if type_ == "digitalocean:index/databaseCluster:DatabaseCluster":
        port = 25060 if inputs.get("engine") == "mysql" else 25061
        host = f"{inputs.get('name', name)}-do-user-0-0.db.ondigitalocean.com"
        return {
            "host": host,
            "privateHost": f"private-{host}",
            "port": port,
            "password": f"mock-admin-password-{name}",
            "user": "doadmin" if inputs.get("engine") == "mysql" else "default",
        }
    if type_ == "kubernetes:gateway.networking.k8s.io/v1:Gateway":
        # what Cilium reports once DigitalOcean's load balancer is up
        return {"status": {"addresses": [{"type": "IPAddress", "value": MOCK_GATEWAY_IP}]}}
    if type_ == "digitalocean:index/databaseUser:DatabaseUser":
        return {"password": f"mock-p@ss/word+{name}"}
    return {}


def _mock_call(token: str, args: dict[str, Any]) -> dict[str, Any]:
    if token == "digitalocean:index/getKubernetesCluster:getKubernetesCluster":
        name = args.get("name")
        return {
            "name": name,
            "endpoint": f"https://{name}.k8s.ondigitalocean.com",
            "kubeConfigs": [{"clusterCaCertificate": MOCK_CA, "rawConfig": "mock", "token": "x"}],
        }
    if token == "digitalocean:index/getDatabaseCa:getDatabaseCa":
        return {"clusterId": args.get("clusterId"), "certificate": "-----BEGIN CERTIFICATE-----"}
    if token == "digitalocean:index/getDatabaseUser:getDatabaseUser":
        # A restored cluster's user, as the backup brought it.
        return {"name": args.get("name"), "password": "mock-restored-p@ssword", "role": "normal"}
    if token == "digitalocean:index/getKubernetesVersions:getKubernetesVersions":
        prefix = args.get("versionPrefix") or ""
        if prefix in ("1.35.", "1.36.", "1.37."):
            latest = f"{prefix}2-do.0"
            return {"latestVersion": latest, "validVersions": [latest, f"{prefix}1-do.0"]}
        return {"latestVersion": "", "validVersions": []}
    return {}


def _make_mocks() -> Any:
    import pulumi

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            inputs = reveal(_wrap_secrets(args.inputs))
            state = {**inputs, **_mock_outputs(args.typ, args.name, inputs)}
            return f"{args.name}-id", state

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
            return _mock_call(args.token, reveal(_wrap_secrets(args.args))), []

    return Mocks()


def _make_monitor(mocks: Any, registrations: list[Registration]) -> Any:
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                registrations.append(
                    Registration(
                        urn=response.urn,
                        type=request.type,
                        name=request.name,
                        parent=request.parent,
                        custom=request.custom,
                        inputs=_wrap_secrets(rpc.deserialize_properties(request.object)),
                        dependencies=list(request.dependencies),
                        property_dependencies={
                            key: list(value.urns)
                            for key, value in request.propertyDependencies.items()
                        },
                        protect=bool(request.protect),
                        ignore_changes=list(request.ignoreChanges),
                        provider=request.provider,
                        delete_before_replace=request.deleteBeforeReplace,
                        replace_on_changes=list(request.replaceOnChanges),
                        delete_before_replace_set=request.deleteBeforeReplaceDefined,
                        custom_timeouts={
                            kind: getattr(request.customTimeouts, kind)
                            for kind in ("create", "update", "delete")
                            if request.HasField("customTimeouts")
                            and getattr(request.customTimeouts, kind)
                        },
                        aliases=[_alias(alias) for alias in request.aliases]
                        + [{"urn": urn} for urn in request.aliasURNs],
                    )
                )
            return response

    return RecordingMonitor(mocks)


def _alias(alias: Any) -> dict[str, Any]:
    """An `alias_pb2.Alias` as a dict: its URN, or the fields of its spec that are set."""
    if alias.WhichOneof("alias") == "urn":
        return {"urn": alias.urn}
    spec = alias.spec
    found: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", spec.name),
            ("type", spec.type),
            ("stack", spec.stack),
            ("project", spec.project),
            ("parent", spec.parentUrn),
        )
        if value
    }
    if spec.noParent:
        found["noParent"] = True
    return found


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []  # warnings and errors
        self.notices: list[str] = []  # info

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())
        else:
            self.notices.append(record.getMessage())


class OfflineDoks:
    """DigitalOcean's API as offline runs see it (`components/platform/live.py`'s reader): no
    cluster, unless a test gives one (a running stack), with the upgrades DigitalOcean offers
    it. An upgrade it is asked to wait for is over at once (`cluster` answers `upgraded`)."""

    def __init__(
        self,
        cluster: Any = None,
        upgrades: tuple[str, ...] = (),
        upgraded: Any = None,
    ) -> None:
        self.live_cluster = cluster
        self.offered = upgrades
        self.upgraded = upgraded
        self.reads: list[str] = []

    def cluster_named(self, name: str) -> Any:
        self.reads.append(f"cluster_named {name}")
        found = self.live_cluster
        return found if found is not None and found.name == name else None

    def cluster(self, cluster_id: str) -> Any:
        self.reads.append(f"cluster {cluster_id}")
        return self.upgraded or self.live_cluster

    def upgrades(self, cluster_id: str) -> tuple[str, ...]:
        self.reads.append(f"upgrades {cluster_id}")
        return self.offered


def run_stack(
    stack: str,
    overrides: Mapping[str, str | None] | None = None,
    secret_overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    cloud: Cloud | None = None,
    doks: Reader | None = None,
) -> Simulation:
    """Run `__main__.py` for `stack` under mocks and return what it registered.

    `overrides` sets (or, with None, removes) plain config keys (`key` means `posts-infra:key`);
    `secret_overrides` sets secret ones. `environ` replaces the DigitalOcean token variables.
    `cloud` answers what the config check asks DigitalOcean (`restoreFrom`); by default an
    offline account where the source and its backup exist as asked (config/cloud.py).
    `doks`: what DigitalOcean says of the stack's cluster (default: there is none yet; any
    reader of components/platform/live.py).
    Raises the program's own errors (e.g. `ConfigError`) unchanged.
    """
    values, secret_keys = stack_config(stack)
    # Operators set secrets with `pulumi config set --secret`; offline, required ones that the
    # stack file lacks get placeholders, still marked secret.
    from config.schema import KEYS

    for declared in KEYS:
        full_key = f"{PROJECT}:{declared.name}"
        if declared.secret and declared.required and full_key not in values:
            values[full_key] = f"offline-placeholder-{declared.name}"
            secret_keys.append(full_key)
    if "digitalocean:token" not in values:
        values["digitalocean:token"] = PLACEHOLDER_TOKEN
        secret_keys.append("digitalocean:token")
    for key, value in (overrides or {}).items():
        full_key = _full_key(key)
        secret_keys = [k for k in secret_keys if k != full_key]
        if value is None:
            values.pop(full_key, None)
        else:
            values[full_key] = value
    for key, value in (secret_overrides or {}).items():
        full_key = _full_key(key)
        values[full_key] = value
        secret_keys.append(full_key)
    if cloud is None:
        from config.sections import RestoreRequest

        cloud = OfflineCloud.assuming(
            RestoreRequest(
                source=values.get(f"{PROJECT}:restoreFrom", ""),
                backup=values.get(f"{PROJECT}:restoreBackup", ""),
            )
        )
    context = contextvars.Context()
    with installed(cloud):
        simulation = context.run(_run, stack, values, secret_keys, environ, doks or OfflineDoks())
    simulation.context = context
    return simulation


def run_function(
    stack: str,
    project: str,
    function: Callable[[], None],
    config: Mapping[str, str] | None = None,
) -> Simulation:
    """Run another Pulumi program (`function`, e.g. the restore drill's) of `project` under the
    same mocks; `config` holds its plain config (`key` means `<project>:key`)."""
    values = {(k if ":" in k else f"{project}:{k}"): v for k, v in (config or {}).items()}
    context = contextvars.Context()
    simulation = context.run(_run, stack, values, [], None, OfflineDoks(), function, project)
    simulation.context = context
    return simulation


def _run(
    stack: str,
    values: dict[str, str],
    secret_keys: list[str],
    environ: Mapping[str, str] | None,
    doks: Reader,
    function: Callable[[], None] | None = None,
    project: str = PROJECT,
) -> Simulation:
    import pulumi
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from components.platform import live

    registrations: list[Registration] = []
    collector = _WarningCollector()
    logger = logging.getLogger(f"posts-infra.offline.{stack}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers = [collector]

    mocks = _make_mocks()
    pulumi.runtime.set_mocks(
        mocks,
        project=project,
        stack=stack,
        preview=False,
        logger=logger,
        monitor=_make_monitor(mocks, registrations),
    )

    saved_env = {
        k: os.environ.pop(k)
        for k in (
            "DIGITALOCEAN_TOKEN",
            "DIGITALOCEAN_ACCESS_TOKEN",
            "PULUMI_CONFIG",
            "PULUMI_CONFIG_SECRET_KEYS",
        )
        if k in os.environ
    }
    # The config as the engine hands it to a program: every value (secrets decrypted) in
    # PULUMI_CONFIG, the names of the encrypted ones in PULUMI_CONFIG_SECRET_KEYS.
    os.environ["PULUMI_CONFIG"] = json.dumps(values)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(sorted(set(secret_keys)))
    os.environ.update(environ or {})
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    try:
        program_globals: dict[str, Any] = {}

        def program() -> None:
            if function is not None:
                function()
            else:
                program_globals.update(runpy.run_path(str(REPO / "__main__.py")))

        with live.use(doks):
            _sync_await(run_pulumi_func(program))
            outputs = _resolve_outputs()
    finally:
        for key in (*(environ or {}), "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS"):
            os.environ.pop(key, None)
        os.environ.update(saved_env)
    return Simulation(
        stack,
        registrations,
        outputs,
        collector.messages,
        program_globals,
        notices=collector.notices,
    )


def _resolve_outputs() -> dict[str, StackOutput]:
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    exported: dict[str, Any] = getattr(root, "outputs", {})
    return {name: _resolve(value) for name, value in exported.items()}


def _resolve(value: Any) -> StackOutput:
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    output = pulumi.Output.from_input(value)
    return StackOutput(
        value=_sync_await(output.future()), secret=bool(_sync_await(output.is_secret()))
    )
