"""Checking stack config: every problem found, each naming its key and what it accepts.

`components/settings.py` calls these once, collects what they report and raises one
`ConfigError` with all of it before any resource is registered. `typed_values` reads each
declared key as its type; `check_platform` and `check_app` check what the values mean;
`check_capacity` whether the pods fit the node pool.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from components import capacity
from components.config_schema import KEYS, KEYS_BY_NAME, WORKLOADS, ConfigKey, ConfigValue
from model import catalog

PROJECT = "posts-infra"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_VERSION_PREFIX = re.compile(r"^1\.([0-9]{2})\.$")

TOKEN_KEY = "digitalocean:token"
TOKEN_ENV_VARS = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")


def digitalocean_token(
    values: Mapping[str, str], secret_keys: frozenset[str], auth: str, problems: list[str]
) -> pulumi.Output[str] | None:
    """The token the DigitalOcean provider itself uses: `digitalocean:token`, else the env."""
    token = values.get(TOKEN_KEY)
    if token is not None and TOKEN_KEY not in secret_keys:
        problems.append(
            f"{TOKEN_KEY}: stored in plain text; set it with `pulumi config set --secret"
            f" {TOKEN_KEY} ...` or export DIGITALOCEAN_TOKEN instead"
        )
    if token is None:
        token = next((os.environ[n] for n in TOKEN_ENV_VARS if os.environ.get(n)), None)
    if token is None:
        if auth == "token":
            problems.append(
                "kubernetesAuth: 'token' needs the DigitalOcean API token: export"
                f" DIGITALOCEAN_TOKEN or set {TOKEN_KEY} as a secret (or use 'doctl')"
            )
        return None
    return pulumi.Output.secret(token)


# -- reading: types ------------------------------------------------------------------------------


def typed_values(
    raw: Mapping[str, str], secret_keys: frozenset[str], problems: list[str]
) -> dict[str, ConfigValue]:
    """Each declared key's value converted to its type; unknown project keys are problems."""
    prefix = f"{PROJECT}:"
    for full_key in sorted(raw):
        if full_key.startswith(prefix) and full_key[len(prefix) :] not in KEYS_BY_NAME:
            name = full_key[len(prefix) :]
            problems.append(f"{name}: unknown key{_did_you_mean(name)}")

    values: dict[str, ConfigValue] = {}
    for key in KEYS:
        full_key = prefix + key.name
        text = raw.get(full_key)
        if text is None or (key.required and text == ""):
            if key.required and key.secret:
                problems.append(
                    f"{key.name}: required; {key.description} Set it with"
                    f" `pulumi config set --secret {key.name} ...`"
                )
            elif key.required:
                problems.append(f"{key.name}: required; {key.description}")
            values[key.name] = key.default
            continue
        # An optional secret left at its default ("") arrives in plain text from the CLI.
        if key.secret and text != "" and full_key not in secret_keys:
            problems.append(
                f"{key.name}: must be stored encrypted; set it with "
                f"`pulumi config set --secret {key.name} ...`"
            )
        values[key.name] = _convert(key, text, problems)
    return values


def _convert(key: ConfigKey, text: str, problems: list[str]) -> ConfigValue:
    if key.type == "string":
        return text
    if key.type == "integer":
        try:
            return int(text)
        except ValueError:
            problems.append(f"{key.name}: '{text}' is not a whole number")
            return key.default
    if key.type == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        problems.append(f"{key.name}: '{text}' is not true or false")
        return key.default
    # array of strings, passed by the engine as JSON
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        problems.append(f"{key.name}: expected a YAML list of strings, got '{text}'")
        return key.default
    return parsed


def _did_you_mean(name: str) -> str:
    lowered = name.lower()
    for known in KEYS_BY_NAME:
        if known.lower() == lowered or known.lower().startswith(lowered[:6]):
            return f" (did you mean '{known}'?)"
    return " (see docs/config-reference.md for the keys)"


# -- checking: meaning ---------------------------------------------------------------------------


def _one_of(name: str, value: str, accepted: tuple[str, ...] | list[str]) -> str | None:
    if value in accepted:
        return None
    return f"{name}: '{value}' is not one of: {', '.join(accepted)}"


def check_platform(get: Callable[[str], Any], problems: list[str]) -> None:
    def add(problem: str | None) -> None:
        if problem:
            problems.append(problem)

    add(_one_of("region", get("region"), list(catalog.REGIONS)))
    add(_one_of("nodeSize", get("nodeSize"), list(catalog.NODE_SIZES)))
    add(_one_of("mysqlSize", get("mysqlSize"), list(catalog.MYSQL_SIZES)))
    add(_one_of("mysqlVersion", get("mysqlVersion"), catalog.MYSQL_VERSIONS))
    add(_one_of("kubernetesAuth", get("kubernetesAuth"), ("token", "doctl")))

    engine = get("cacheEngine")
    if engine == "redis":
        problems.append(
            f"cacheEngine: DigitalOcean ended Managed Redis on {catalog.REDIS_END_OF_LIFE} and"
            " creates no new Redis clusters; use 'valkey' (Redis-compatible, same clients)"
        )
    else:
        add(_one_of("cacheEngine", engine, catalog.CACHE_ENGINES))
    add(_one_of("cacheVersion", get("cacheVersion"), catalog.VALKEY_VERSIONS))
    add(_one_of("cacheSize", get("cacheSize"), list(catalog.VALKEY_SIZES)))

    min_nodes, max_nodes = get("minNodes"), get("maxNodes")
    if min_nodes < 1:
        problems.append(f"minNodes: {min_nodes} is below 1; the pool needs at least one node")
    if max_nodes < min_nodes:
        problems.append(f"maxNodes: {max_nodes} is below minNodes ({min_nodes})")
    if max_nodes > capacity.DOKS_MAX_NODES_PER_POOL:
        problems.append(
            f"maxNodes: {max_nodes} is above {capacity.DOKS_MAX_NODES_PER_POOL},"
            " DOKS's limit per node pool"
        )

    prefix = get("kubernetesVersionPrefix")
    if not _VERSION_PREFIX.match(prefix):
        problems.append(
            f"kubernetesVersionPrefix: '{prefix}' is not of the form '1.NN.' "
            f"(e.g. '{catalog.DEFAULT_KUBERNETES_MINOR}.')"
        )

    for name, sizes in (("mysql", catalog.MYSQL_SIZES), ("cache", catalog.VALKEY_SIZES)):
        count = get(f"{name}NodeCount")
        if not 1 <= count <= 3:
            problems.append(f"{name}NodeCount: {count} is not 1, 2 or 3")
        size = sizes.get(get(f"{name}Size"))
        if size is not None and count > 1 and size.standby_monthly_usd is None:
            problems.append(
                f"{name}NodeCount: {size.slug} cannot have standby nodes; use 1 node or a"
                " larger size"
            )

    add(_one_of("maintenanceDay", get("maintenanceDay"), (*WEEKDAYS, "any")))
    add(_one_of("databaseMaintenanceDay", get("databaseMaintenanceDay"), WEEKDAYS))
    for name in ("maintenanceStartTime", "databaseMaintenanceHour"):
        if not _HH_MM.match(get(name)):
            problems.append(f"{name}: '{get(name)}' is not a 24-hour time HH:MM (e.g. 04:00)")

    networks: dict[str, ipaddress.IPv4Network] = {}
    for name in ("vpcIpRange", "clusterSubnet", "serviceSubnet"):
        network = _parse_network(name, get(name), problems)
        if network is not None:
            networks[name] = network
    vpc = networks.get("vpcIpRange")
    if vpc is not None and not 16 <= vpc.prefixlen <= 28:
        problems.append(f"vpcIpRange: /{vpc.prefixlen} is outside DigitalOcean's /16 to /28")
    names = list(networks)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if networks[first].overlaps(networks[second]):
                problems.append(
                    f"{second}: {networks[second]} overlaps {first} ({networks[first]});"
                    " the VPC, pod and service networks must be disjoint"
                )

    for source in get("databaseAdminSources"):
        try:
            admitted = ipaddress.IPv4Network(source, strict=True)
        except ValueError:
            problems.append(
                f"databaseAdminSources: '{source}' is not an IPv4 address or CIDR without host"
                " bits (e.g. 203.0.113.7 or 203.0.113.0/24)"
            )
            continue
        if admitted.prefixlen == 0:
            problems.append(
                f"databaseAdminSources: '{source}' would open the databases to the world"
            )


def _parse_network(name: str, value: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        problems.append(
            f"{name}: '{value}' is not an IPv4 CIDR with no host bits (e.g. 10.0.0.0/16)"
        )
        return None
    if not isinstance(network, ipaddress.IPv4Network) or not network.is_private:
        problems.append(f"{name}: '{value}' is not a private IPv4 range (RFC 1918)")
        return None
    return network


# -- checking: the application -------------------------------------------------------------------

_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REGISTRY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_IMAGE_NAME = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_MUTABLE_TAGS = ("latest", "stable", "main", "master", "edge", "dev")
SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE")
SECRET_ENV_NAMES = (
    "APP_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "ROLLBAR_TOKEN",
    "HEALTH_CHECK_EMAIL",
)


def looks_secret(env_name: str) -> bool:
    """Whether an environment variable name says it carries a credential."""
    upper = env_name.upper()
    return upper in SECRET_ENV_NAMES or any(word in upper for word in SECRET_WORDS)


def check_app(get: Callable[[str], Any], problems: list[str]) -> None:
    namespace = get("namespace")
    if not _DNS_LABEL.match(namespace) or namespace in ("default", "kube-system", "kube-public"):
        problems.append(
            f"namespace: '{namespace}' is not a DNS label of its own (lowercase letters, digits,"
            " '-'; not default or kube-*)"
        )
    registry = get("imageRegistry").rstrip("/")
    if not _REGISTRY.match(registry):
        problems.append(
            f"imageRegistry: '{registry}' is not a registry/repository prefix"
            " (e.g. docker.io/martinjoo or registry.digitalocean.com/posts)"
        )
    tag = get("imageTag")
    if tag:
        if tag.lower() in _MUTABLE_TAGS:
            problems.append(
                f"imageTag: '{tag}' is a moving tag; use the release's immutable tag, e.g. the"
                " commit SHA (`git rev-parse --short HEAD`)"
            )
        elif not _IMAGE_TAG.match(tag):
            problems.append(
                f"imageTag: '{tag}' is not a Docker tag (letters, digits, '_', '.', '-';"
                " at most 128)"
            )
    for item in get("imageNames"):
        workload, sep, name = item.partition("=")
        if not sep or workload not in WORKLOADS or not _IMAGE_NAME.match(name):
            problems.append(
                f"imageNames: '{item}' is not `workload=name` with a workload of"
                f" {', '.join(WORKLOADS)} and a lowercase image name"
            )
    for item in get("appSettings"):
        key, sep, _ = item.partition("=")
        key = key.strip()
        if not sep or not _ENV_NAME.match(key):
            problems.append(
                f"appSettings: '{item}' is not `KEY=value` with an upper-case variable name"
            )
        elif looks_secret(key):
            problems.append(
                f"appSettings: {key} looks like a credential; a ConfigMap is readable by anyone"
                " who can read the namespace. Secrets come from secret config keys"
                " (docs/operations.md)."
            )

    low, high = get("apiMinReplicas"), get("apiMaxReplicas")
    if low < 1:
        problems.append(f"apiMinReplicas: {low} is below 1")
    if high < low:
        problems.append(f"apiMaxReplicas: {high} is below apiMinReplicas ({low})")
    target = get("apiCpuTargetPercent")
    if not 10 <= target <= 100:
        problems.append(f"apiCpuTargetPercent: {target} is not between 10 and 100")
    for name in ("nginxReplicas", "frontendReplicas", "workerReplicas"):
        if get(name) < 1:
            problems.append(f"{name}: {get(name)} is below 1")
    for name in (
        "workerTries",
        "workerTimeoutSeconds",
        "workerMaxJobs",
        "workerMaxTimeSeconds",
        "migrateTimeoutSeconds",
    ):
        if get(name) < 1:
            problems.append(f"{name}: {get(name)} is below 1")
    if get("workerSleepSeconds") < 0:
        problems.append(f"workerSleepSeconds: {get('workerSleepSeconds')} is negative")
    queues = get("workerQueues")
    if not re.match(r"^[A-Za-z0-9_.:-]+(,[A-Za-z0-9_.:-]+)*$", queues):
        problems.append(f"workerQueues: '{queues}' is not a comma-separated list of queue names")

    for workload in (*WORKLOADS, "migrate"):
        name = f"{workload}Resources"
        parts = [part.strip() for part in get(name).split("/")]
        if len(parts) != 3:
            problems.append(
                f"{name}: '{get(name)}' is not `cpu/memory/memoryLimit` such as 250m/256Mi/512Mi"
            )
            continue
        cpu = capacity.cpu_millicores(parts[0])
        memory, limit = (capacity.memory_kib(part) for part in parts[1:])
        if cpu is None or memory is None or limit is None:
            problems.append(
                f"{name}: '{get(name)}' is not `cpu/memory/memoryLimit` such as 250m/256Mi/512Mi"
            )
        elif limit < memory:
            problems.append(f"{name}: memory limit {parts[2]} is below the request {parts[1]}")

    hostname, domain = get("hostname"), get("dnsDomain")
    labels = hostname.split(".") if hostname else []
    if hostname and (len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels)):
        problems.append(
            f"hostname: '{hostname}' is not a lowercase DNS name (e.g. posts.example.com)"
        )
    if domain and not hostname:
        problems.append("dnsDomain: needs hostname (the record to create in it)")
    elif domain and hostname != domain and not hostname.endswith(f".{domain}"):
        problems.append(f"dnsDomain: hostname '{hostname}' is not inside '{domain}'")
    if get("tls") and not hostname:
        problems.append("tls: needs hostname (the certificate's name)")
    if get("tls") and "@" not in get("tlsEmail"):
        problems.append("tlsEmail: an e-mail address is required with tls (Let's Encrypt account)")


# -- checking: will the pods fit? -----------------------------------------------------------------

CAPACITY_KEYS = (
    "nodeSize",
    "minNodes",
    "maxNodes",
    "apiMinReplicas",
    "apiMaxReplicas",
    "nginxReplicas",
    "workerReplicas",
    "frontendReplicas",
    *(f"{workload}Resources" for workload in (*WORKLOADS, "migrate")),
)


def check_capacity(get: Callable[[str], Any], problems: list[str]) -> capacity.Report | None:
    """Whether the pods fit the node pool (components/capacity.py). Pods that do not fit at
    their minimum even on maxNodes are a problem; the report carries the warnings. None when a
    key it reads already has a problem (its own message says what to fix first)."""
    if any(problem.split(":", 1)[0] in CAPACITY_KEYS for problem in problems):
        return None
    plan = capacity.plan_from_config(get)
    if plan is None:
        return None
    report = capacity.assess(plan)
    problems.extend(report.problems)
    return report
