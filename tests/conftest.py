"""One shared way to run the program: `offline.simulate.run_stack` under Pulumi's mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.render import render
from offline.simulate import Simulation, run_stack, stack_names


@pytest.fixture(scope="session")
def simulations() -> dict[str, Simulation]:
    """Every stack in the repo (each `Pulumi.<stack>.yaml`), evaluated once."""
    return {stack: run_stack(stack) for stack in stack_names()}


@pytest.fixture(scope="session")
def dev(simulations: dict[str, Simulation]) -> Simulation:
    return simulations["dev"]


@pytest.fixture(scope="session")
def prod(simulations: dict[str, Simulation]) -> Simulation:
    return simulations["prod"]


@pytest.fixture(scope="session")
def renders(
    simulations: dict[str, Simulation], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """`build/<stack>/` of every stack, written to a temporary folder."""
    root = tmp_path_factory.mktemp("build")
    return {stack: render(stack, root, simulation) for stack, simulation in simulations.items()}
