"""`scripts/render <stack>` shows what a stack would deploy, offline, with no secret in it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline import deploy_time
from offline.cost import estimate
from offline.dependencies import apply_order
from offline.simulate import REPO, Simulation, run_stack


@pytest.fixture(scope="module")
def rendered(renders: dict[str, Path]) -> Path:
    return renders["dev"]


def test_every_kubernetes_object_is_written_once_in_apply_order(
    rendered: Path, dev: Simulation
) -> None:
    files = sorted((rendered / "kubernetes").glob("*.yaml"))
    kubernetes = [r for r in dev.registrations if r.type.startswith("kubernetes:")]
    assert len(files) == len(kubernetes) == 27
    names = [f.name for f in files]
    position = {name.split("-", 1)[1]: i for i, name in enumerate(names)}
    assert position["namespace-posts.yaml"] == 0
    assert position["job-migrate-3f9c2e7.yaml"] < position["deployment-api.yaml"]
    assert position["gateway-posts.yaml"] < position["httproute-api.yaml"]
    for path in files:
        obj = yaml.safe_load(path.read_text())
        assert {"apiVersion", "kind", "metadata"} <= set(obj), path.name


def test_render_writes_no_secret(rendered: Path) -> None:
    text = "".join(p.read_text() for p in rendered.rglob("*") if p.is_file())
    for leaked in ("offline-placeholder", "mock-p@ss", "mock-admin-password", "mock-7-day"):
        assert leaked not in text
    (secret_file,) = (rendered / "kubernetes").glob("*-secret-posts.yaml")
    secret = yaml.safe_load(secret_file.read_text())
    assert secret["kind"] == "Secret"
    assert set(secret["stringData"].values()) == {"[secret]"}


def test_apply_order_puts_dependencies_first(dev: Simulation) -> None:
    ordered = apply_order(dev)
    seen: set[str] = set()
    for registration in ordered:
        for dependency in registration.dependencies:
            if any(r.urn == dependency for r in ordered):
                assert dependency in seen, f"{registration.name} before its dependency"
        seen.add(registration.urn)


def test_cost_at_min_and_max_nodes(dev: Simulation, prod: Simulation) -> None:
    # dev: the cluster's own pool 1 x $24, the app's 2..3 x $24, $15 MySQL, $15 Valkey,
    # $15 load balancer, $1 uptime check
    assert (estimate(dev).total_min, estimate(dev).total_max) == (118.0, 142.0)
    # prod: the cluster's own pool 1 x $48, the app's 2..5 x $48, HA $40, MySQL 2 x $60,
    # Valkey 2 x $30, LB $15, $1 uptime check
    assert (estimate(prod).total_min, estimate(prod).total_max) == (380.0, 524.0)
    lines = [line.item for line in estimate(dev).lines]
    assert lines[:2] == [
        "nodes, cluster's own pool: s-2vcpu-4gb x 1..1",
        "nodes, app's pool: s-2vcpu-4gb x 2..3",
    ]
    # A new stack's cluster gets the smallest size of its own pool: $12 a month.
    fresh = run_stack("dev", {"systemNodeSize": None})
    assert estimate(fresh).total_min == 106.0


def test_the_render_does_not_depend_on_the_order_resources_were_registered_in(
    dev: Simulation,
) -> None:
    """The engine receives registrations in whatever order their inputs resolve (MySQL and
    Valkey swapped places between runs); a render must not change with it."""
    reversed_order = dataclasses.replace(dev, registrations=list(reversed(dev.registrations)))
    assert estimate(reversed_order).markdown() == estimate(dev).markdown()
    assert [r.urn for r in apply_order(reversed_order)] == [r.urn for r in apply_order(dev)]


def test_first_deploy_estimate_has_no_wait_without_need(dev: Simulation, prod: Simulation) -> None:
    """Typical times: VPC 0.3, MySQL 8 (the slowest database, slower than the cluster's 7), the
    migration 1, a rollout 1; the Gateway's 2-minute load balancer starts with the namespace."""
    for simulation in (dev, prod):
        estimate = deploy_time.estimate(simulation)
        assert estimate.floor.minutes == estimate.critical_path.minutes == 10.3
        assert [name for name, minutes in estimate.floor.steps if minutes] == [
            "network-vpc",
            "mysql-cluster",
            "app-job-migrate",
            "app-deployment-api",
        ]


def test_first_deploy_estimate_shows_a_gateway_that_waits_for_the_rollout(
    dev: Simulation,
) -> None:
    """As the program was: the Gateway behind the whole app costs its 2 minutes on top."""
    api = next(r for r in dev.registrations if r.name == "app-deployment-api")
    waiting = [
        dataclasses.replace(r, dependencies=[*r.dependencies, api.urn])
        if r.name == "edge-gateway"
        else r
        for r in dev.registrations
    ]
    estimate = deploy_time.estimate(dataclasses.replace(dev, registrations=waiting))
    assert (estimate.critical_path.minutes, estimate.floor.minutes) == (12.3, 10.3)
    assert estimate.critical_path.steps[-1] == ("edge-gateway", 2.0)
    assert "waiting without need: 2.0 min" in estimate.markdown()


def test_unknown_stack_is_a_clear_error_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "offline.render", "staging"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown stack 'staging'" in result.stderr
    assert "Traceback" not in result.stderr
