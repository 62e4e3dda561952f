"""One shared way to run the program: `offline.simulate.run_stack` under Pulumi's mocks."""

from __future__ import annotations

import pytest

from offline.simulate import Simulation, run_stack


@pytest.fixture(scope="session")
def dev() -> Simulation:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod() -> Simulation:
    return run_stack("prod")
