"""Bad input at the real CLI: one clear error each, nothing created.

What the CLI validates before the program runs (types of declared keys, required keys) it
reports itself; the rest is the program's single message. Either way: no traceback, no request
that changes anything at DigitalOcean, no resource in the stack.
"""

from __future__ import annotations

import yaml

from tests.e2e.engine.environment import StackEnvironment
from tests.e2e.engine.workspace import REQUIRED_SECRETS, Run, Workspace


def edit_stack_file(workspace: Workspace, key: str, value: object) -> None:
    document = yaml.safe_load(workspace.stack_file.read_text())
    document["config"][f"posts-infra:{key}"] = value
    workspace.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


def up_creates_nothing(env: StackEnvironment, workspace: Workspace) -> Run:
    changed_before = len(env.standin.mutations())
    run = workspace.pulumi("up", "--yes", "--skip-preview", check=False)
    assert run.returncode != 0
    assert "Traceback" not in run.output
    assert len(env.standin.mutations()) == changed_before, "a request changed DigitalOcean"
    assert [r["type"] for r in workspace.resources()] in ([], ["pulumi:pulumi:Stack"])
    return run


def test_bad_input_a_wrong_type_in_the_stack_file_is_the_clis_own_error(
    dev_env: StackEnvironment,
) -> None:
    workspace = dev_env.new_workspace("bad-type")
    workspace.init_stack()
    edit_stack_file(workspace, "minNodes", "two")
    run = up_creates_nothing(dev_env, workspace)
    assert "Stack 'dev' with configuration key 'minNodes' must be of type 'integer'" in run.output


def test_bad_input_an_unknown_size_slug_is_the_programs_single_message(
    dev_env: StackEnvironment,
) -> None:
    workspace = dev_env.new_workspace("bad-size")
    workspace.init_stack()
    edit_stack_file(workspace, "nodeSize", "s-3vcpu-9gb")
    run = up_creates_nothing(dev_env, workspace)
    assert "stack 'dev' has 1 bad config value(s); nothing was changed" in run.output
    assert "nodeSize: 's-3vcpu-9gb' is not one of: s-1vcpu-2gb" in run.output


def test_bad_input_a_missing_required_secret_is_the_clis_own_error(
    dev_env: StackEnvironment,
) -> None:
    workspace = dev_env.new_workspace("missing-secret")
    workspace.init_stack({k: v for k, v in REQUIRED_SECRETS.items() if k != "appKey"})
    run = up_creates_nothing(dev_env, workspace)
    assert "Stack 'dev' is missing configuration value 'appKey'" in run.output
