"""The config a user reads (Pulumi.yaml, docs/) is the config the program reads."""

from __future__ import annotations

import ipaddress
import itertools
import json
import re

import pytest
import yaml

from config.schema import KEYS
from config.settings import ConfigError, RawConfig, parse_settings
from offline.config_reference import REFERENCE, page
from offline.simulate import REPO, stack_config, stack_names


def test_pulumi_yaml_declares_every_key_with_the_programs_type_default_and_text() -> None:
    """Regenerate with `.venv/bin/python -m offline.config_reference --write`."""
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert list(declared) == [key.name for key in KEYS]
    for key in KEYS:
        entry = declared[key.name]
        assert entry["type"] == key.type, key.name
        assert entry.get("default") == key.default, key.name
        assert entry["description"] == key.description, key.name
        assert entry.get("secret", False) == key.declared_secret, key.name


def test_the_cli_demands_exactly_the_keys_the_program_requires() -> None:
    """The CLI refuses to run a stack lacking any declared key without a default; a `secret:
    true` key with a default is refused too (the default is plain text). So a key the CLI would
    demand must be one the program requires, and every optional key has a default."""
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    demanded = {name for name, entry in declared.items() if "default" not in entry}
    assert demanded == {key.name for key in KEYS if key.required}
    secret_with_default = [n for n, e in declared.items() if e.get("secret") and "default" in e]
    assert secret_with_default == []


def test_operations_secret_table_marks_required_exactly_what_the_cli_demands() -> None:
    """docs/operations.md, "Secrets": the table operators follow to set up a stack."""
    operations = (REPO / "docs" / "operations.md").read_text()
    section = operations[operations.index("\n## Secrets\n") :]
    table = section[section.index("| secret | how |") :].split("\n\n", 1)[0]
    marked: dict[str, set[str]] = {"required": set(), "optional": set()}
    for row in table.splitlines()[2:]:
        first_cell = row.split("|")[1]
        for mark in marked:
            if f"({mark})" in first_cell:
                marked[mark] |= set(re.findall(r"`([A-Za-z]+)`", first_cell))
    secrets = [key for key in KEYS if key.secret]
    assert marked["required"] == {key.name for key in secrets if key.declared_secret}
    assert marked["optional"] == {key.name for key in secrets if not key.declared_secret}


def test_an_optional_secret_left_unset_is_accepted_and_set_in_plain_text_is_not() -> None:
    """The CLI passes the "" default of an optional secret in plain text: that is no value."""
    required = {f"posts-infra:{k.name}": "x" for k in KEYS if k.required}
    secrets = frozenset({"digitalocean:token", *required})
    defaults = {"digitalocean:token": "t", **required, "posts-infra:rollbarToken": ""}
    parse_settings("scratch", RawConfig(values=defaults, secret_keys=secrets))
    plain = {**defaults, "posts-infra:rollbarToken": "plain-text-token"}
    with pytest.raises(ConfigError, match="rollbarToken: must be stored encrypted"):
        parse_settings("scratch", RawConfig(values=plain, secret_keys=secrets))


def test_defaults_alone_make_valid_settings() -> None:
    """A stack with no config at all (as under the CLI with Pulumi.yaml's defaults) is valid,
    given a token."""
    required = {f"posts-infra:{k.name}": "x" for k in KEYS if k.required}
    raw = RawConfig(
        values={"digitalocean:token": "t", **required},
        secret_keys=frozenset({"digitalocean:token", *required}),
    )
    settings = parse_settings("scratch", raw)
    assert settings.cluster.min_nodes == 1 and settings.cluster.max_nodes == 2


def test_the_config_reference_page_is_the_generated_one() -> None:
    """Regenerate with `.venv/bin/python -m offline.config_reference --write`."""
    committed = REFERENCE.read_text()
    assert committed == page()
    # The committed page lists exactly the keys Pulumi.yaml declares, in its order.
    listed = [line.split("`")[1] for line in committed.splitlines() if line.startswith("| `")]
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert listed == list(declared)


def test_every_stack_in_the_repo_has_real_stack_files() -> None:
    assert {"dev", "prod"} <= set(stack_names())


def test_stacks_networks_do_not_overlap_each_other() -> None:
    """DigitalOcean refuses VPC-native subnets overlapping any VPC or cluster in the team."""
    networks: list[tuple[str, ipaddress.IPv4Network]] = []
    for stack in stack_names():
        values, _ = stack_config(stack)
        for key in ("vpcIpRange", "clusterSubnet", "serviceSubnet"):
            default = next(k.default for k in KEYS if k.name == key)
            text = values.get(f"posts-infra:{key}", default)
            assert isinstance(text, str)
            networks.append((f"{stack}:{key}", ipaddress.IPv4Network(text)))
    for (name_a, a), (name_b, b) in itertools.combinations(networks, 2):
        assert not a.overlaps(b), f"{name_a} {a} overlaps {name_b} {b}"


@pytest.mark.parametrize("stack", stack_names())
def test_stack_files_hold_no_plain_secret(stack: str) -> None:
    secret_names = {f"posts-infra:{k.name}" for k in KEYS if k.secret} | {"digitalocean:token"}
    document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    for key, value in (document.get("config") or {}).items():
        if key in secret_names:
            assert isinstance(value, dict) and set(value) == {"secure"}, key


def test_the_program_reads_the_config_as_the_engine_hands_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine passes every value in PULUMI_CONFIG and the names of the encrypted ones in
    PULUMI_CONFIG_SECRET_KEYS; a secret key missing from that list was set in plain text."""
    required = {f"posts-infra:{k.name}": "x" for k in KEYS if k.required}
    values = {"digitalocean:token": "t", **required}
    encrypted = sorted(values)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(encrypted))
    raw = RawConfig.from_engine()
    assert raw == RawConfig(values=values, secret_keys=frozenset(encrypted))
    parse_settings("scratch", raw)

    plain = [key for key in encrypted if key != "posts-infra:appKey"]
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(plain))
    with pytest.raises(ConfigError) as caught:
        parse_settings("scratch", RawConfig.from_engine())
    (problem,) = caught.value.problems
    assert problem.startswith("appKey: must be stored encrypted")
