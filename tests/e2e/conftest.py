"""Fixtures of the end-to-end suite: the real engine, one environment per stack.

Every test under tests/e2e is marked `e2e` (the fast suite runs `-m "not e2e"`). A missing tool
fails the suite: nothing here skips or xfails. Scenarios share one deployed stack per stack name
and run in file order; each asks for the state it needs (`deployed`), so `./scripts/e2e -k NAME`
runs one scenario with what it needs set up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.digitalocean.faults import DOMAIN, CloudStack
from tests.e2e.digitalocean.prism import PrismProxy
from tests.e2e.digitalocean.server import StandIn
from tests.e2e.engine.environment import Environments, StackEnvironment
from tests.e2e.engine.toolchain import Toolchain, ToolchainMissing, locate

E2E_DIR = Path(__file__).resolve().parent
# The DigitalOcean-only scenarios' account (test_imperfect_cloud.py, test_restore_from_backup.py).
CLOUD_TOKEN = "dop_v1_" + "facade" * 10 + "0123"


# `./scripts/e2e` runs one worker (pytest-xdist) per group of work. Each test says which group it
# belongs to through the parameter of the fixture it uses, so its node id carries it: `[dev]` or
# `[prod]` (the stack's environment: `dev_env`, `prod_env`, or `env` over both); `[drift]` and
# `[rollouts]` (a dev and a prod stack of their own for the drift and failed-rollout scenarios,
# the longest of each stack's: on the stack's own environment they made its worker the last to
# finish; the restore drill runs on the drift group's stack for the same reason);
# `[digitalocean]` (the DigitalOcean-only fault scenarios, on their own stand-in); `[pools]`
# (day-2 changes on a dev stack of their own, deployed from an earlier revision); anything else
# brings its own pieces (contract, control plane, capacity, order check). Each group is one unit
# of work for one worker, so its tests run alone and in file order, as in one process. xdist's
# own `xdist_group` marks cannot do this with pytest 9 (xdist 3.8.0 renames
# `item._nodeid`, which pytest 9 no longer reads); this scheduler reads the node id's parameter.
GROUPS = ("dev", "prod", "drift", "rollouts", "digitalocean", "pools")
SELF_CONTAINED = "self-contained"
_PARAMETERS = re.compile(r"\[([^\]]*)\]$")


def worker_group(nodeid: str) -> str:
    """The group a test's node id declares: the first of GROUPS among its parameter's parts."""
    found = _PARAMETERS.search(nodeid)
    parts = found.group(1).split("-") if found else []
    return next((part for part in parts if part in GROUPS), SELF_CONTAINED)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class StackGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return StackGroups(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    try:
        return locate()
    except ToolchainMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")
def environments(
    toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Environments]:
    registry = Environments(toolchain, tmp_path_factory.mktemp("e2e"))
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture(scope="session", params=["dev"])
def dev_env(request: pytest.FixtureRequest, environments: Environments) -> StackEnvironment:
    """The dev stack's environment (its parameter puts the test in the dev group)."""
    return environments.get(request.param)


@pytest.fixture(scope="session", params=["prod"])
def prod_env(request: pytest.FixtureRequest, environments: Environments) -> StackEnvironment:
    """The prod stack's environment (its parameter puts the test in the prod group)."""
    return environments.get(request.param)


@pytest.fixture(scope="session", params=["drift"])
def drift_env(request: pytest.FixtureRequest, environments: Environments) -> StackEnvironment:
    """A dev stack's environment of its own for the drift scenarios and the restore drill
    (group `drift`)."""
    return environments.get("dev", name=request.param)


@pytest.fixture(scope="session", params=["rollouts"])
def rollouts_env(request: pytest.FixtureRequest, environments: Environments) -> StackEnvironment:
    """A prod stack's environment of its own for the failed-rollout scenarios (group `rollouts`)."""
    return environments.get("prod", name=request.param)


@pytest.fixture(params=["dev", "prod"])
def env(request: pytest.FixtureRequest, environments: Environments) -> StackEnvironment:
    """The environment of each stack in turn (the test runs once per stack)."""
    return environments.get(request.param)


@pytest.fixture(scope="session", params=["digitalocean"])
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """The stand-in of the DigitalOcean-only scenarios, one for all of them (its parameter puts
    them in the digitalocean group); test_digitalocean_contract.py has its own."""
    with StandIn(
        tmp_path_factory.mktemp("cloud-standin"), token=CLOUD_TOKEN, domains=[DOMAIN]
    ) as api:
        yield api


@pytest.fixture(scope="session")
def prism(standin: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismProxy]:
    with PrismProxy(standin.url, tmp_path_factory.mktemp("cloud-prism") / "prism.log") as proxy:
        yield proxy


@pytest.fixture
def cloud(
    toolchain: Toolchain, standin: StandIn, prism: PrismProxy, tmp_path: Path
) -> Iterator[Any]:
    """A factory of stacks of the DigitalOcean-only program (tests/e2e/digitalocean/faults.py); the
    stand-in back to its normal behaviour afterwards; and no request or answer of the scenario
    broke DigitalOcean's contract (mark taken first)."""
    mark = prism.mark()
    standin.behaviour(
        cluster_provisioning_polls=0, database_creating_polls=0, deleting_reads=2, unique_names=True
    )

    def stack(name: str) -> CloudStack:
        return CloudStack.create(name, tmp_path, toolchain, standin, prism.url)

    yield stack
    prism.check(mark)


@pytest.fixture(autouse=True)
def _contract_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: no request or response of its own broke DigitalOcean's API contract.
    The marks are taken before it runs, so nothing before it counts (an environment the test
    starts begins at nothing)."""
    if "environments" not in request.fixturenames:
        yield
        return
    registry: Environments = request.getfixturevalue("environments")
    marks = registry.contract_marks()
    yield
    problems = registry.contract_violations_since(marks)
    assert not problems, "DigitalOcean API contract violations (Prism):\n" + "\n".join(problems)
