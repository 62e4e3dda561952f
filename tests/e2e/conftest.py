"""Fixtures of the end-to-end suite: the real engine, one environment per stack.

Every test under tests/e2e is marked `e2e` (the fast suite runs `-m "not e2e"`). A missing tool
fails the suite: nothing here skips or xfails. Scenarios share one deployed stack per stack name
and run in file order; each asks for the state it needs (`deployed`), so `./scripts/e2e -k NAME`
runs one scenario with what it needs set up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.environment import Environments, StackEnvironment
from tests.e2e.toolchain import Toolchain, ToolchainMissing, locate

E2E_DIR = Path(__file__).resolve().parent


# `./scripts/e2e` runs on two workers (pytest-xdist, `-n 2`): one runs every scenario of the dev
# stack on the dev stack's environment; the other the prod stack's scenarios and the tests that
# bring their own pieces (the contract check, the control plane, capacity on its own control
# planes, the order check). Each group is one unit of work for its worker, so it runs alone and
# in file order, as in one process. xdist's own `xdist_group` marks cannot do this with pytest 9
# (xdist 3.8.0 renames `item._nodeid`, which pytest 9 no longer reads), so the scheduler below
# groups by node id, and collection checks each test is in the group of the stack it uses.
DEV_STACK = "dev-stack"
OTHERS = "prod-stack-and-self-contained"
DEV_STACK_MODULES = frozenset(
    {
        "test_bad_input_cli.py",
        "test_drift.py",
        "test_failed_rollouts.py",
        "test_node_pool.py",
        "test_policy_pack_cli.py",
        "test_releases.py",
    }
)
# Modules whose tests take `env`, parametrized over both stacks: the `[dev]` ones go with dev.
BOTH_STACKS_MODULES = frozenset(
    {"test_first_deploy.py", "test_first_deploy_timing.py", "test_teardown.py"}
)


def worker_group(nodeid: str) -> str:
    module, _, name = nodeid.partition("::")
    module = Path(module).name
    if module in DEV_STACK_MODULES or (module in BOTH_STACKS_MODULES and name.endswith("[dev]")):
        return DEV_STACK
    return OTHERS


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class StackGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return StackGroups(config, log)


def stack_of(item: pytest.Item) -> str | None:
    """The stack whose environment a test uses: `dev_env`, or `env` parametrized over both."""
    if "dev_env" in getattr(item, "fixturenames", ()):
        return "dev"
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "env" in callspec.params:
        return str(callspec.params["env"])
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    misplaced = []
    for item in items:
        if E2E_DIR not in Path(str(item.path)).parents:
            continue
        item.add_marker(pytest.mark.e2e)
        wanted = DEV_STACK if stack_of(item) == "dev" else OTHERS
        if worker_group(item.nodeid) != wanted:
            misplaced.append(f"{item.nodeid}: uses the {stack_of(item)} stack's environment")
    if misplaced:
        raise pytest.UsageError(
            "tests/e2e/conftest.py: these tests are in the wrong worker's group; list their"
            " module in DEV_STACK_MODULES or BOTH_STACKS_MODULES:\n" + "\n".join(misplaced)
        )


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


@pytest.fixture(scope="session")
def dev_env(environments: Environments) -> StackEnvironment:
    return environments.get("dev")


@pytest.fixture(params=["dev", "prod"])
def env(request: pytest.FixtureRequest, environments: Environments) -> StackEnvironment:
    """The environment of each stack in turn (the test runs once per stack)."""
    return environments.get(request.param)


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
