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
