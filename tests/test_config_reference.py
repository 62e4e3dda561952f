"""The config a user reads (Pulumi.yaml, README) is the config the program reads."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
import yaml

from components.config_schema import KEYS
from components.settings import RawConfig, parse_settings
from offline.config_reference import table
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
        assert entry.get("secret", False) == key.secret, key.name


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


def test_readme_config_reference_is_the_generated_table() -> None:
    """Regenerate with `.venv/bin/python -m offline.config_reference --write`."""
    readme = (REPO / "README.md").read_text()
    reference = readme[readme.index("## Stack config reference") :]
    assert table() in reference


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
