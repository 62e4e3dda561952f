"""The policy pack through the real CLI (`--policy-pack policy`), as the workflows run it."""

from __future__ import annotations

import re

from tests.e2e.engine.environment import StackEnvironment

# The CLI hangs without policy/venv; a hang fails here instead of stalling the suite.
POLICY_TIMEOUT = 300


def test_the_policy_pack_passes_the_deployed_stack(dev_env: StackEnvironment) -> None:
    dev_env.ensure_deployed()
    run = dev_env.workspace.pulumi(
        "preview", "--policy-pack", "policy", "--diff", timeout=POLICY_TIMEOUT
    )
    assert re.search(
        r"Policy Packs run:\s+Name\s+Version\s+posts-infra\|local\|policy\s+1\.0\.0", run.output
    )
    assert "[mandatory]" not in run.output


def test_the_policy_pack_refuses_unprotected_resources_as_mandatory(
    dev_env: StackEnvironment,
) -> None:
    """`protectResources: false` is valid config for the program; the pack forbids it."""
    dev_env.ensure_deployed()
    dev_env.workspace.set_config("protectResources", "false")
    try:
        run = dev_env.workspace.pulumi(
            "preview", "--policy-pack", "policy", check=False, timeout=POLICY_TIMEOUT
        )
    finally:
        dev_env.workspace.remove_config("protectResources")
    assert run.returncode != 0
    assert "[mandatory]" in run.output
    assert "databases-protected" in run.output
