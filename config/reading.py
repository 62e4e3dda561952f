"""Reading the stack config: every declared key once, as its type, against its schema entry.

What the engine hands the program is a string per key (`RawConfig`); this turns each into the
value the program uses (`config/schema.py`: type, limits, format) and collects every problem,
each naming its key and what it accepts. A key with a problem keeps its default, so the other
checks can still run; the key is reported as bad, and the checks that read it are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from config.digitalocean_api import api_url_from, token_from
from config.formats import BadValue
from config.schema import KEYS, KEYS_BY_NAME, ConfigKey

PROJECT = "posts-infra"
TOKEN_KEY = "digitalocean:token"
# Where the DigitalOcean provider sends its requests: its `apiEndpoint` setting, else
# DIGITALOCEAN_API_URL, else DigitalOcean's API (config/digitalocean_api.py).
API_ENDPOINT_KEY = "digitalocean:apiEndpoint"


@dataclass(frozen=True)
class RawConfig:
    """The stack's config as the engine hands it over: `project:key` -> string value, and which
    keys are stored encrypted."""

    values: Mapping[str, str]
    secret_keys: frozenset[str]

    @staticmethod
    def from_engine() -> RawConfig:
        """What the engine passes the program: `PULUMI_CONFIG` (every key's value, secrets
        decrypted) and `PULUMI_CONFIG_SECRET_KEYS` (the keys stored encrypted), read through
        Pulumi's public runtime functions. The offline runs (`offline/simulate.py`) set the same
        two variables."""
        return RawConfig(
            values=dict(pulumi.runtime.get_config_env()),
            secret_keys=frozenset(pulumi.runtime.get_config_secret_keys_env()),
        )


@dataclass
class Read:
    """Every declared key's value, and the keys whose value has a problem (they hold their
    default)."""

    values: dict[str, Any]
    bad: set[str]
    problems: list[str]

    def add(self, key: str, problem: str) -> None:
        self.bad.add(key)
        self.problems.append(f"{key}: {problem}")


def read(raw: RawConfig) -> Read:
    """Each declared key as its schema entry says; unknown project keys are problems."""
    found = Read(values={}, bad=set(), problems=[])
    prefix = f"{PROJECT}:"
    for full_key in sorted(raw.values):
        if full_key.startswith(prefix) and full_key[len(prefix) :] not in KEYS_BY_NAME:
            name = full_key[len(prefix) :]
            found.add(name, f"unknown key{_did_you_mean(name)}")

    for key in KEYS:
        full_key = prefix + key.name
        text = raw.values.get(full_key)
        found.values[key.name] = _typed_default(key)
        if text is None or (key.required and text == ""):
            if key.required and key.secret:
                found.add(
                    key.name,
                    f"required; {key.description} Set it with"
                    f" `pulumi config set --secret {key.name} ...`",
                )
            elif key.required:
                found.add(key.name, f"required; {key.description}")
            continue
        # An optional secret left at its default ("") arrives in plain text from the CLI.
        if key.secret and text != "" and full_key not in raw.secret_keys:
            found.add(
                key.name,
                "must be stored encrypted; set it with "
                f"`pulumi config set --secret {key.name} ...`",
            )
        try:
            found.values[key.name] = _value(key, text)
        except BadValue as bad:
            for problem in bad.problems:
                found.add(key.name, problem)
    return found


def _typed_default(key: ConfigKey) -> Any:
    if key.default is None or key.parse is None:
        return key.default
    return key.parse(key.default)


def _value(key: ConfigKey, text: str) -> Any:
    """The value of `text` as the key's type, within its limits, in its format."""
    value = _convert(key, text)
    if isinstance(value, str) and value in key.refused:
        raise BadValue(key.refused[value])
    if key.allowed and value not in key.allowed:
        raise BadValue(f"'{value}' is not one of: {', '.join(key.allowed)}")
    if isinstance(value, int) and not isinstance(value, bool):
        _within_limits(key, value)
    return key.parse(value) if key.parse is not None else value


def _within_limits(key: ConfigKey, value: int) -> None:
    low, high = key.minimum, key.maximum
    reason = f" ({key.limit_reason})" if key.limit_reason else ""
    if low is not None and high is not None and not low <= value <= high:
        if high - low <= 2:
            accepted = [str(n) for n in range(low, high + 1)]
            raise BadValue(f"{value} is not {', '.join(accepted[:-1])} or {accepted[-1]}{reason}")
        raise BadValue(f"{value} is not between {low} and {high}{reason}")
    if low is not None and value < low:
        below = "is negative" if low == 0 else f"is below {low}"
        raise BadValue(f"{value} {below}{reason}")
    if high is not None and value > high:
        raise BadValue(f"{value} is above {high}{reason}")


def _convert(key: ConfigKey, text: str) -> Any:
    if key.type == "string":
        return text
    if key.type == "integer":
        try:
            return int(text)
        except ValueError:
            raise BadValue(f"'{text}' is not a whole number") from None
    if key.type == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise BadValue(f"'{text}' is not true or false")
    # array of strings, passed by the engine as JSON
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise BadValue(f"expected a YAML list of strings, got '{text}'")
    return parsed


def _did_you_mean(name: str) -> str:
    lowered = name.lower()
    for known in KEYS_BY_NAME:
        if known.lower() == lowered or known.lower().startswith(lowered[:6]):
            return f" (did you mean '{known}'?)"
    return " (see docs/config-reference.md for the keys)"


def digitalocean_token(
    raw: RawConfig, auth_needs_token: bool, problems: list[str]
) -> pulumi.Output[str] | None:
    """The token the DigitalOcean provider itself uses: `digitalocean:token`, else the env."""
    if raw.values.get(TOKEN_KEY) is not None and TOKEN_KEY not in raw.secret_keys:
        problems.append(
            f"{TOKEN_KEY}: stored in plain text; set it with `pulumi config set --secret"
            f" {TOKEN_KEY} ...` or export DIGITALOCEAN_TOKEN instead"
        )
    token = token_text(raw)
    if token is None:
        if auth_needs_token:
            problems.append(
                "kubernetesAuth: 'token' needs the DigitalOcean API token: export"
                f" DIGITALOCEAN_TOKEN or set {TOKEN_KEY} as a secret (or use 'doctl')"
            )
        return None
    return pulumi.Output.secret(token)


def token_text(raw: RawConfig) -> str | None:
    """The DigitalOcean token as the provider finds it: `digitalocean:token`, else the env. Only
    for a request to DigitalOcean; everywhere else it travels as a Pulumi secret."""
    token = raw.values.get(TOKEN_KEY)
    if token is None:
        token = token_from(os.environ)
    return token


def digitalocean_api(raw: RawConfig) -> tuple[str, str | None]:
    """(API URL, token) as the DigitalOcean provider finds them: the program reads the stack's
    cluster from the same API with the same token (read-only). The token is None when neither
    `digitalocean:token` nor the environment has one (the provider then fails on its own)."""
    url = raw.values.get(API_ENDPOINT_KEY) or api_url_from(os.environ)
    return url.rstrip("/"), token_text(raw)
