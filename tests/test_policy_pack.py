"""The policy pack in policy/ (`pulumi preview --policy-pack policy`), fed offline with the
resources every stack registers under mocks: the stacks pass, and each rule catches the mistake
it exists for."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from offline.simulate import REPO, Registration, Simulation, reveal, stack_names
from policy.policies import POLICIES

POLICY = {policy.name: policy for policy in POLICIES}


def options(registration: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=registration.protect,
        ignore_changes=registration.ignore_changes,
        delete_before_replace=registration.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=registration.parent or None,
    )


def violations(
    policy_name: str,
    registrations: list[Registration],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """What one policy reports for these resources, as the engine would call it."""
    policy = POLICY[policy_name]
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    custom = [r for r in registrations if r.custom and not r.type.startswith("pulumi:providers:")]
    if isinstance(policy, ResourceValidationPolicy):
        for r in custom:
            args = ResourceValidationArgs(
                r.type, reveal(r.inputs), r.urn, r.name, options(r), None, config
            )
            policy.validate(args, report)
    else:
        assert isinstance(policy, StackValidationPolicy)
        resources = {
            r.urn: PolicyResource(
                r.type, reveal(r.inputs), r.urn, r.name, options(r), None, None, [], {}
            )
            for r in custom
        }
        for r in custom:
            resources[r.urn].property_dependencies = {
                key: [resources[urn] for urn in urns if urn in resources]
                for key, urns in r.property_dependencies.items()
            }
        policy.validate(StackValidationArgs(list(resources.values()), config), report)
    return found


def changed(registration: Registration, path: str, value: Any) -> Registration:
    """A copy of a registration with one input changed (`spec.template...`; `-` deletes)."""
    inputs = copy.deepcopy(reveal(registration.inputs))
    *parents, last = path.split(".")
    node: Any = inputs
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value == "-":
        del node[key]
    else:
        node[key] = value
    return dataclasses.replace(registration, inputs=inputs)


def one(simulation: Simulation, name: str) -> Registration:
    (found,) = [r for r in simulation.registrations if r.name == name]
    return found


# -- every stack passes ---------------------------------------------------------------------------


def test_the_pack_has_every_rule_the_stacks_need() -> None:
    assert set(POLICY) == {
        "no-moving-image-tags",
        "requests-and-limits",
        "no-secret-in-configmap",
        "database-firewalls-closed",
        "every-database-has-firewall",
        "databases-protected",
        "autoscaling-bounds",
    }


@pytest.mark.parametrize("stack", stack_names())
@pytest.mark.parametrize("policy_name", sorted(POLICY))
def test_every_stack_passes_every_policy(
    stack: str, policy_name: str, simulations: dict[str, Simulation]
) -> None:
    assert violations(policy_name, simulations[stack].registrations) == []


def test_the_pack_is_runnable_by_the_pulumi_cli() -> None:
    pack = yaml.safe_load((REPO / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
    assert "PolicyPack(" in (REPO / "policy" / "__main__.py").read_text()
    pins = {
        line.split("==")[0]: line
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line
    }
    for line in (REPO / "policy" / "requirements.txt").read_text().splitlines():
        if "==" in line:  # the pack's virtualenv gets the versions the tests ran with
            assert pins[line.split("==")[0]] == line


# -- each rule catches its mistake ----------------------------------------------------------------

API_CONTAINER = "spec.template.spec.containers.0"


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("docker.io/martinjoo/posts-api:latest", "moving tag 'latest'"),
        ("docker.io/martinjoo/posts-api", "has no tag"),
        ("registry.example.com:5000/posts-api", "has no tag"),  # a port is not a tag
    ],
)
def test_moving_or_missing_image_tags_are_violations(
    dev: Simulation, image: str, problem: str
) -> None:
    api = changed(one(dev, "app-deployment-api"), f"{API_CONTAINER}.image", image)
    (message,) = violations("no-moving-image-tags", [api])
    assert problem in message and "'api'" in message


def test_the_scheduler_cronjob_image_is_checked_too(dev: Simulation) -> None:
    path = "spec.jobTemplate.spec.template.spec.containers.0.image"
    scheduler = changed(one(dev, "app-cronjob-scheduler"), path, "martinjoo/posts-api:latest")
    assert len(violations("no-moving-image-tags", [scheduler])) == 1


def test_digest_pinned_images_pass(dev: Simulation) -> None:
    image = "docker.io/martinjoo/posts-api@sha256:" + "a" * 64
    api = changed(one(dev, "app-deployment-api"), f"{API_CONTAINER}.image", image)
    assert violations("no-moving-image-tags", [api]) == []


def test_missing_requests_or_memory_limit_are_violations(dev: Simulation) -> None:
    worker = changed(one(dev, "app-deployment-worker"), f"{API_CONTAINER}.resources", {})
    (message,) = violations("requests-and-limits", [worker])
    assert "requests.cpu, requests.memory, limits.memory" in message
    job = changed(one(dev, "app-job-migrate"), f"{API_CONTAINER}.resources.limits.memory", "-")
    assert "limits.memory" in violations("requests-and-limits", [job])[0]


def test_cpu_limits_are_required_only_when_configured(dev: Simulation) -> None:
    api = one(dev, "app-deployment-api")
    assert violations("requests-and-limits", [api]) == []
    (message,) = violations("requests-and-limits", [api], {"requireCpuLimit": True})
    assert "limits.cpu" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MAIL_PASSWORD", "hunter2"),
        ("STRIPE_SECRET", "sk_live_x"),
        ("ROLLBAR_TOKEN", "x"),
        ("APP_KEY", "base64:x"),
        ("QUEUE_CONNECTION_URL", "redis://default:pa55@cache:25061"),
    ],
)
def test_secret_looking_config_map_entries_are_violations(
    dev: Simulation, key: str, value: str
) -> None:
    config_map = changed(one(dev, "app-configmap"), f"data.{key}", value)
    (message,) = violations("no-secret-in-configmap", [config_map])
    assert key in message


def test_config_map_urls_without_passwords_pass(dev: Simulation) -> None:
    config_map = changed(one(dev, "app-configmap"), "data.APP_URL", "https://posts.example.com/")
    assert violations("no-secret-in-configmap", [config_map]) == []


@pytest.mark.parametrize(
    ("cidr", "why"),
    [
        ("0.0.0.0/0", "whole internet"),
        ("::/0", "whole internet"),
        ("8.0.0.0/7", "public addresses"),
    ],
)
def test_database_firewalls_open_to_the_world_are_violations(
    dev: Simulation, cidr: str, why: str
) -> None:
    firewall = one(dev, "mysql-firewall")
    rules = [*reveal(firewall.inputs)["rules"], {"type": "ip_addr", "value": cidr}]
    (message,) = violations("database-firewalls-closed", [changed(firewall, "rules", rules)])
    assert cidr in message and why in message


def test_an_admin_address_and_an_empty_rule_list(dev: Simulation) -> None:
    firewall = one(dev, "cache-firewall")
    office = [*reveal(firewall.inputs)["rules"], {"type": "ip_addr", "value": "198.51.100.7/32"}]
    assert violations("database-firewalls-closed", [changed(firewall, "rules", office)]) == []
    (message,) = violations("database-firewalls-closed", [changed(firewall, "rules", [])])
    assert "open to all" in message


def test_a_database_cluster_without_firewall_is_a_violation(dev: Simulation) -> None:
    without_cache_firewall = [r for r in dev.registrations if r.name != "cache-firewall"]
    (message,) = violations("every-database-has-firewall", without_cache_firewall)
    assert message.startswith("cache-cluster:")


def test_unprotected_databases_are_violations(dev: Simulation) -> None:
    for name in ("mysql-cluster", "cache-cluster", "mysql-db"):
        unprotected = dataclasses.replace(one(dev, name), protect=False)
        (message,) = violations("databases-protected", [unprotected])
        assert message.startswith(f"{name}:")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("nodePool.autoScale", False, "does not autoscale"),
        ("nodePool.minNodes", 0, "1 <= min"),
        ("nodePool.maxNodes", 40, "<= 20"),
        ("nodePool.maxNodes", "-", "needs minNodes and maxNodes"),
    ],
)
def test_node_pool_autoscaling_out_of_bounds_is_a_violation(
    dev: Simulation, path: str, value: Any, expected: str
) -> None:
    cluster = changed(one(dev, "cluster-doks"), path, value)
    (message,) = violations("autoscaling-bounds", [cluster])
    assert expected in message


def test_node_ceiling_is_configurable(prod: Simulation) -> None:
    cluster = changed(one(prod, "cluster-doks"), "nodePool.maxNodes", 40)
    assert violations("autoscaling-bounds", [cluster], {"maxNodesCeiling": 64}) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [("spec.minReplicas", 9), ("spec.maxReplicas", 500), ("spec.metrics", [])],
)
def test_hpa_out_of_bounds_or_without_metrics_is_a_violation(
    dev: Simulation, path: str, value: Any
) -> None:
    hpa = changed(one(dev, "app-hpa-api"), path, value)
    assert len(violations("autoscaling-bounds", [hpa])) == 1
