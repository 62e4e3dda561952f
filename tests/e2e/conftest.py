"""Fixtures of the end-to-end suite: the real engine, one environment per stack.

Every test under tests/e2e is marked `e2e` (the fast suite runs `-m "not e2e"`). A missing tool
fails the suite: nothing here skips or xfails. Scenarios share one deployed stack per stack name
and run in file order; each asks for the state it needs (`deployed`), so `./scripts/e2e -k NAME`
runs one scenario with what it needs set up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.environment import Environments, StackEnvironment
from tests.e2e.toolchain import Toolchain, ToolchainMissing, locate

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group(worker_group(item)))


def stack_of(item: pytest.Item) -> str | None:
    """The stack whose environment a test uses: `dev_env`, `prod_env`, or a parametrized `env`."""
    fixtures = getattr(item, "fixturenames", ())
    for stack in ("dev", "prod"):
        if f"{stack}_env" in fixtures:
            return stack
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "env" in callspec.params:
        return str(callspec.params["env"])
    return None


def worker_group(item: pytest.Item) -> str:
    """`./scripts/e2e` runs on two workers (`-n 2 --dist loadgroup`): one runs every scenario of
    the dev stack, in file order, on the dev stack's environment; the other the prod stack's
    scenarios, in file order too, and the tests that bring their own pieces (the contract check,
    the control plane, capacity on its own control planes, the order check). Each group is one
    unit of work, so a worker runs its group alone and in order, as one process did before."""
    return "dev-stack" if stack_of(item) == "dev" else "prod-stack-and-self-contained"


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


@pytest.fixture(scope="session")
def prod_env(environments: Environments) -> StackEnvironment:
    return environments.get("prod")


@pytest.fixture(autouse=True)
def _contract_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: no request or response of its own broke DigitalOcean's API contract."""
    yield
    if "environments" not in request.fixturenames:
        return
    registry: Environments = request.getfixturevalue("environments")
    problems = registry.new_contract_violations()
    assert not problems, "DigitalOcean API contract violations (Prism):\n" + "\n".join(problems)
