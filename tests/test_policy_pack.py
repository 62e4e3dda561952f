"""The policy pack in policy/ (`pulumi preview --policy-pack policy`), fed offline with the
resources every stack registers under mocks: the stacks pass, and each rule catches the mistake
it exists for.

The pack runs as the Pulumi CLI runs it: `policy/__main__.py` in its own process, serving the
analyzer gRPC protocol. Each resource goes to it as the engine sends it (a protobuf Struct, so
every number is a float, secrets in Pulumi's secret envelope), one `Analyze` call per resource
and one `AnalyzeStack` call per stack.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.simulate import REPO, Registration, Secret, Simulation, reveal, stack_names

POLICY_NAMES = {
    "no-moving-image-tags",
    "requests-and-limits",
    "no-secret-in-configmap",
    "database-firewalls-closed",
    "every-database-has-firewall",
    "databases-protected",
    "autoscaling-bounds",
}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The policy pack, started as the Pulumi CLI starts it; it prints the port it serves on."""
    process = subprocess.Popen(
        [sys.executable, "__main__.py"],
        cwd=REPO / "policy",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            raise AssertionError(f"the policy pack did not start: {process.communicate()[1]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait(timeout=10)


def engine_value(value: Any) -> Any:
    """An input as the engine sends it: secrets in Pulumi's secret envelope."""
    if isinstance(value, Secret):
        return {rpc._special_sig_key: rpc._special_secret_sig, "value": engine_value(value.value)}
    if isinstance(value, dict):
        return {k: engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    return value


def properties(registration: Registration) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(engine_value(registration.inputs))
    return struct


def options(registration: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=registration.protect,
        ignoreChanges=registration.ignore_changes,
        parent=registration.parent,
    )


def analyze(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
    policy_name: str,
    registrations: list[Registration],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """What one policy of the running pack reports for these resources."""
    if config is not None:
        settings = struct_pb2.Struct()
        settings.update(dict(config))
        level = analyzer_pb2.EnforcementLevel.MANDATORY
        analyzer.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={
                    policy_name: analyzer_pb2.PolicyConfig(
                        enforcementLevel=level, properties=settings
                    )
                }
            )
        )
    custom = [r for r in registrations if r.custom and not r.type.startswith("pulumi:providers:")]
    diagnostics = []
    try:
        for r in custom:
            request = analyzer_pb2.AnalyzeRequest(
                type=r.type, properties=properties(r), urn=r.urn, name=r.name, options=options(r)
            )
            diagnostics += analyzer.Analyze(request).diagnostics
        resources = [
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=properties(r),
                urn=r.urn,
                name=r.name,
                options=options(r),
                parent=r.parent,
                dependencies=r.dependencies,
                propertyDependencies={
                    key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                    for key, urns in r.property_dependencies.items()
                },
            )
            for r in custom
        ]
        stack = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
        diagnostics += stack.diagnostics
    finally:
        if config is not None:
            analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest())
    found = [d for d in diagnostics if d.policyName == policy_name]
    assert all(d.enforcementLevel == analyzer_pb2.EnforcementLevel.MANDATORY for d in found)
    return [d.message.removeprefix(d.description + "\n") for d in found]


Violations = Callable[..., list[str]]


@pytest.fixture
def violations(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> Violations:
    """`violations(policy_name, registrations, config=None)`: the messages of one policy."""
    return functools.partial(analyze, analyzer)


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
    """A registration by its Pulumi name (the names are unique per stack)."""
    (found,) = [r for r in simulation.registrations if r.name == name]
    return found


# -- every stack passes ---------------------------------------------------------------------------


def test_the_pack_serves_every_rule_as_mandatory(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "posts-infra"
    assert {p.name for p in info.policies} == POLICY_NAMES
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.EnforcementLevel.MANDATORY}


@pytest.mark.parametrize("stack", stack_names())
@pytest.mark.parametrize("policy_name", sorted(POLICY_NAMES))
def test_every_stack_passes_every_policy(
    stack: str, policy_name: str, simulations: dict[str, Simulation], violations: Violations
) -> None:
    assert violations(policy_name, simulations[stack].registrations) == []


def test_the_pack_declares_its_python_runtime_and_the_tested_versions() -> None:
    pack = yaml.safe_load((REPO / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
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
        ("docker.io/martinjoo/posts-api:stable", "moving tag 'stable'"),
        ("docker.io/martinjoo/posts-api", "has no tag"),
        ("registry.example.com:5000/posts-api", "has no tag"),  # a port is not a tag
    ],
)
def test_moving_or_missing_image_tags_are_violations(
    dev: Simulation, image: str, problem: str, violations: Violations
) -> None:
    api = changed(one(dev, "app-deployment-api"), f"{API_CONTAINER}.image", image)
    (message,) = violations("no-moving-image-tags", [api])
    assert problem in message and "'api'" in message


def test_the_scheduler_cronjob_image_is_checked_too(
    dev: Simulation, violations: Violations
) -> None:
    path = "spec.jobTemplate.spec.template.spec.containers.0.image"
    scheduler = changed(one(dev, "app-cronjob-scheduler"), path, "martinjoo/posts-api:latest")
    assert len(violations("no-moving-image-tags", [scheduler])) == 1


def test_digest_pinned_images_pass(dev: Simulation, violations: Violations) -> None:
    image = "docker.io/martinjoo/posts-api@sha256:" + "a" * 64
    api = changed(one(dev, "app-deployment-api"), f"{API_CONTAINER}.image", image)
    assert violations("no-moving-image-tags", [api]) == []


def test_missing_requests_or_memory_limit_are_violations(
    dev: Simulation, violations: Violations
) -> None:
    worker = changed(one(dev, "app-deployment-worker"), f"{API_CONTAINER}.resources", {})
    (message,) = violations("requests-and-limits", [worker])
    assert "requests.cpu, requests.memory, limits.memory" in message
    job = changed(one(dev, "app-job-migrate"), f"{API_CONTAINER}.resources.limits.memory", "-")
    assert "limits.memory" in violations("requests-and-limits", [job])[0]


def test_cpu_limits_are_required_only_when_configured(
    dev: Simulation, violations: Violations
) -> None:
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
    dev: Simulation, key: str, value: str, violations: Violations
) -> None:
    config_map = changed(one(dev, "app-configmap"), f"data.{key}", value)
    (message,) = violations("no-secret-in-configmap", [config_map])
    assert key in message


def test_config_map_urls_without_passwords_pass(dev: Simulation, violations: Violations) -> None:
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
    dev: Simulation, cidr: str, why: str, violations: Violations
) -> None:
    firewall = one(dev, "mysql-firewall")
    rules = [*reveal(firewall.inputs)["rules"], {"type": "ip_addr", "value": cidr}]
    (message,) = violations("database-firewalls-closed", [changed(firewall, "rules", rules)])
    assert cidr in message and why in message


def test_an_admin_address_and_an_empty_rule_list(dev: Simulation, violations: Violations) -> None:
    firewall = one(dev, "cache-firewall")
    office = [*reveal(firewall.inputs)["rules"], {"type": "ip_addr", "value": "198.51.100.7/32"}]
    assert violations("database-firewalls-closed", [changed(firewall, "rules", office)]) == []
    (message,) = violations("database-firewalls-closed", [changed(firewall, "rules", [])])
    assert "open to all" in message


def test_a_database_cluster_without_firewall_is_a_violation(
    dev: Simulation, violations: Violations
) -> None:
    without_cache_firewall = [r for r in dev.registrations if r.name != "cache-firewall"]
    (message,) = violations("every-database-has-firewall", without_cache_firewall)
    assert message.startswith("cache-cluster:")


def test_unprotected_databases_are_violations(dev: Simulation, violations: Violations) -> None:
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
    dev: Simulation, path: str, value: Any, expected: str, violations: Violations
) -> None:
    cluster = changed(one(dev, "cluster-doks"), path, value)
    (message,) = violations("autoscaling-bounds", [cluster])
    assert expected in message


def test_node_ceiling_is_configurable(prod: Simulation, violations: Violations) -> None:
    cluster = changed(one(prod, "cluster-doks"), "nodePool.maxNodes", 40)
    assert violations("autoscaling-bounds", [cluster], {"maxNodesCeiling": 64}) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [("spec.minReplicas", 9), ("spec.maxReplicas", 500), ("spec.metrics", [])],
)
def test_hpa_out_of_bounds_or_without_metrics_is_a_violation(
    dev: Simulation, path: str, value: Any, violations: Violations
) -> None:
    hpa = changed(one(dev, "app-hpa-api"), path, value)
    assert len(violations("autoscaling-bounds", [hpa])) == 1
