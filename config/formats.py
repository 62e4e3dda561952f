"""What one key's value must look like: each function reads a value of its key's type into the
value the program uses, or raises `BadValue` saying what is wrong and what is accepted.

A key names its format on its schema entry (`config/schema.py`, `parse=`); `config/reading.py`
calls it once. Checks that need more than one key are in `config/checks.py`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime

from config.values import Cidr, Cpu, Memory, Resources, cpu_millicores, memory_bytes
from model import catalog

# The seed's long-running workloads (each has an image and `<workload>Resources`; the migrate Job
# runs the api image and has `migrateResources`).
WORKLOADS = ("api", "nginx", "worker", "scheduler", "frontend")


class BadValue(ValueError):
    """One or more problems of a value, each as it follows `<key>: ` in the error."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_VERSION_PREFIX = re.compile(r"^1\.([0-9]{2})\.$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REGISTRY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_IMAGE_NAME = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_QUEUES = re.compile(r"^[A-Za-z0-9_.:-]+(,[A-Za-z0-9_.:-]+)*$")
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


# -- the cluster and the network ------------------------------------------------------------------


def version_prefix(text: str) -> str:
    if not _VERSION_PREFIX.match(text):
        raise BadValue(
            f"'{text}' is not of the form '1.NN.' (e.g. '{catalog.DEFAULT_KUBERNETES_MINOR}.')"
        )
    return text


def hh_mm(text: str) -> str:
    if not _HH_MM.match(text):
        raise BadValue(f"'{text}' is not a 24-hour time HH:MM (e.g. 04:00)")
    return text


def private_range(text: str) -> Cidr:
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise BadValue(
            f"'{text}' is not an IPv4 CIDR with no host bits (e.g. 10.0.0.0/16)"
        ) from None
    if not isinstance(network, ipaddress.IPv4Network) or not network.is_private:
        raise BadValue(f"'{text}' is not a private IPv4 range (RFC 1918)")
    return Cidr(network, text)


def vpc_range(text: str) -> Cidr:
    cidr = private_range(text)
    if not 16 <= cidr.network.prefixlen <= 28:
        raise BadValue(f"/{cidr.network.prefixlen} is outside DigitalOcean's /16 to /28")
    return cidr


def admin_sources(items: Sequence[str]) -> tuple[str, ...]:
    problems = []
    for source in items:
        try:
            admitted = ipaddress.IPv4Network(source, strict=True)
        except ValueError:
            problems.append(
                f"'{source}' is not an IPv4 address or CIDR without host bits"
                " (e.g. 203.0.113.7 or 203.0.113.0/24)"
            )
            continue
        if admitted.prefixlen == 0:
            problems.append(f"'{source}' would open the databases to the world")
    if problems:
        raise BadValue(*problems)
    return tuple(items)


# -- the application ------------------------------------------------------------------------------


def namespace(text: str) -> str:
    if not _DNS_LABEL.match(text) or text in ("default", "kube-system", "kube-public"):
        raise BadValue(
            f"'{text}' is not a DNS label of its own (lowercase letters, digits, '-';"
            " not default or kube-*)"
        )
    return text


def registry(text: str) -> str:
    """The registry and repository prefix of the images, without a trailing `/`."""
    prefix = text.rstrip("/")
    if not _REGISTRY.match(prefix):
        raise BadValue(
            f"'{prefix}' is not a registry/repository prefix"
            " (e.g. docker.io/martinjoo or registry.digitalocean.com/posts)"
        )
    return prefix


def image_tag(text: str) -> str:
    if text.lower() in _MUTABLE_TAGS:
        raise BadValue(
            f"'{text}' is a moving tag; use the release's immutable tag, e.g. the"
            " commit SHA (`git rev-parse --short HEAD`)"
        )
    if not _IMAGE_TAG.match(text):
        raise BadValue(
            f"'{text}' is not a Docker tag (letters, digits, '_', '.', '-'; at most 128)"
        )
    return text


def _pair(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key.strip(), value


def image_names(items: Sequence[str]) -> dict[str, str]:
    """Every workload's image name: the seed's `posts-<workload>`, or the override."""
    problems = []
    for item in items:
        workload, sep, name = item.partition("=")
        if not sep or workload not in WORKLOADS or not _IMAGE_NAME.match(name):
            problems.append(
                f"'{item}' is not `workload=name` with a workload of"
                f" {', '.join(WORKLOADS)} and a lowercase image name"
            )
    if problems:
        raise BadValue(*problems)
    return {**{workload: f"posts-{workload}" for workload in WORKLOADS}, **dict(map(_pair, items))}


def app_settings(items: Sequence[str]) -> dict[str, str]:
    """`KEY=value` items as a mapping; no credential in them."""
    problems = []
    for item in items:
        key, sep, _ = item.partition("=")
        key = key.strip()
        if not sep or not _ENV_NAME.match(key):
            problems.append(f"'{item}' is not `KEY=value` with an upper-case variable name")
        elif looks_secret(key):
            problems.append(
                f"{key} looks like a credential; a ConfigMap is readable by anyone who can read"
                " the namespace. Secrets come from secret config keys (docs/operations.md)."
            )
    if problems:
        raise BadValue(*problems)
    return dict(map(_pair, items))


def queues(text: str) -> str:
    if not _QUEUES.match(text):
        raise BadValue(f"'{text}' is not a comma-separated list of queue names")
    return text


def resources(text: str) -> Resources:
    """`cpu/memory/memoryLimit`, such as `250m/256Mi/512Mi`."""
    parts = [part.strip() for part in text.split("/")]
    shape = f"'{text}' is not `cpu/memory/memoryLimit` such as 250m/256Mi/512Mi"
    if len(parts) != 3:
        raise BadValue(shape)
    cpu = cpu_millicores(parts[0])
    memory, limit = (memory_bytes(part) for part in parts[1:])
    if cpu is None or memory is None or limit is None:
        raise BadValue(shape)
    if limit < memory:
        raise BadValue(f"memory limit {parts[2]} is below the request {parts[1]}")
    return Resources(Cpu(cpu, parts[0]), Memory(memory, parts[1]), Memory(limit, parts[2]))


def hostname(text: str) -> str:
    """A lowercase DNS name, or "" for none."""
    labels = text.split(".") if text else []
    if text and (len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels)):
        raise BadValue(f"'{text}' is not a lowercase DNS name (e.g. posts.example.com)")
    return text


# -- alerting --------------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SLACK_CHANNEL = re.compile(r"^#?[^\s#][^\n\r]{0,79}$")


def emails(items: Sequence[str]) -> tuple[str, ...]:
    """E-mail addresses, each once."""
    problems = [f"'{item}' is not an e-mail address (e.g. oncall@example.com)" for item in items
                if not _EMAIL.match(item)]  # fmt: skip
    seen: set[str] = set()
    for item in items:
        if item.lower() in seen:
            problems.append(f"'{item}' is listed twice")
        seen.add(item.lower())
    if problems:
        raise BadValue(*problems)
    return tuple(items)


def slack_channel(text: str) -> str:
    """A Slack channel's name as DigitalOcean sends it (e.g. `#posts-alerts`), or "" for none."""
    if text and not _SLACK_CHANNEL.match(text):
        raise BadValue(f"'{text}' is not a Slack channel name (e.g. #posts-alerts)")
    return text


def https_url(text: str) -> str:
    """An https URL with a host, or "" for none. Never repeats the value: it is a secret."""
    if not text:
        return text
    scheme, separator, rest = text.partition("://")
    host = rest.split("/", 1)[0]
    if scheme.lower() != "https" or not separator or not host or " " in text:
        raise BadValue(
            "is not an https URL (a Slack incoming webhook: https://hooks.slack.com/services/...);"
            " the value is not shown, it is a secret"
        )
    return text


def uptime_regions(items: Sequence[str]) -> tuple[str, ...]:
    """At least two of DigitalOcean Uptime's regions, each once."""
    unknown = [item for item in items if item not in catalog.UPTIME_REGIONS]
    if unknown:
        raise BadValue(
            f"{', '.join(repr(u) for u in unknown)} is not an Uptime region; accepted:"
            f" {', '.join(catalog.UPTIME_REGIONS)}"
        )
    if len(set(items)) != len(items):
        raise BadValue("a region is listed twice")
    if len(items) < 2:
        raise BadValue(
            "needs at least two regions, so that one region's network trouble is not an outage"
            f" (accepted: {', '.join(catalog.UPTIME_REGIONS)})"
        )
    return tuple(items)


# -- backups and restores --------------------------------------------------------------------------

_DATABASE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def database_cluster_name(text: str) -> str:
    """A DigitalOcean database cluster's name, or "" for none."""
    if text and not _DATABASE_NAME.match(text):
        raise BadValue(
            f"'{text}' is not a database cluster name (lowercase letters, digits and '-',"
            " 3 to 63, e.g. posts-prod-mysql)"
        )
    return text


def backup_time(text: str) -> str:
    """A backup's `created_at` as DigitalOcean lists it (UTC, seconds), or "" for the latest."""
    if not text:
        return text
    try:
        if not _TIMESTAMP.match(text):
            raise ValueError(text)
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise BadValue(
            f"'{text}' is not a backup's time as DigitalOcean lists it: UTC, e.g."
            " 2026-12-05T03:30:12Z (`doctl databases backups <id>`)"
        ) from None
    return text
