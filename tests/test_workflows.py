"""The GitHub Actions workflows: which stack changes when, with which credentials, in which order.

Read as YAML, not run: these tests catch the mistakes that only show up in production (a prod
deploy on push, a secret handed to a fork's code, two `pulumi up` on one stack at once, a
comment bot that runs pull request code).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.simulate import REPO, stack_names
from ops.drift import preview_command

ROOT = REPO
GITHUB_DIR = ROOT / ".github"
WORKFLOWS_DIR = GITHUB_DIR / "workflows"

EXPECTED_WORKFLOWS = {
    "preview.yml",
    "render-diff.yml",
    "render-diff-comment.yml",
    "deploy-dev.yml",
    "deploy-prod.yml",
    "tests.yml",
    "drift.yml",
}
# The only jobs allowed to write anything: pull request comments, and the drift issues.
COMMENTING_JOBS = {("preview.yml", "preview"), ("render-diff-comment.yml", "comment")}
DRIFT_ISSUE_JOBS = {("drift.yml", "drift")}
# A step that checks a stack for drift: `./scripts/drift "$STACK" ...`, the stack in its env.
DRIFT_SCRIPT = "./scripts/drift"
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
RENDER_DIFF_MARKER = "<!-- posts-infra:render-diff -->"
# Environment variable of a Pulumi step -> the repository secret it must come from.
PULUMI_STEP_SECRETS = {
    "PULUMI_BACKEND_URL": "PULUMI_BACKEND_URL",
    "AWS_ACCESS_KEY_ID": "SPACES_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "SPACES_SECRET_ACCESS_KEY",
    "PULUMI_CONFIG_PASSPHRASE": "PULUMI_CONFIG_PASSPHRASE",
    "DIGITALOCEAN_TOKEN": "DIGITALOCEAN_TOKEN",
}
CREDENTIAL_LOOKALIKES = {
    "DigitalOcean token": re.compile(r"do[opr]_v1_[0-9a-f]{8,}"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Spaces access key": re.compile(r"\bDO[0-9]{2}[0-9A-Z]{16}\b"),
}
CREDENTIAL_NAME = re.compile(r"SECRET|TOKEN|PASSPHRASE|PASSWORD|KEY", re.IGNORECASE)
MATRIX_STACK = re.compile(r"\$\{\{\s*matrix\.stack\s*\}\}")
STATE_CHANGING = {"up", "update", "refresh", "destroy"}


def secret_expression(name: str) -> re.Pattern[str]:
    return re.compile(r"\$\{\{\s*secrets\." + re.escape(name) + r"\s*\}\}")


@cache
def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS_DIR / name).read_text())
    assert isinstance(data, dict), f"{name}: not a YAML mapping"
    return data


def workflow_names() -> list[str]:
    return sorted(p.name for p in WORKFLOWS_DIR.glob("*.y*ml"))


def triggers(wf: dict[Any, Any]) -> dict[str, Any]:
    """`on:` as a mapping. PyYAML (YAML 1.1) reads the bare key `on` as the boolean True."""
    on = wf["on"] if "on" in wf else wf.get(True)
    assert on is not None, "workflow without `on:`"
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def jobs(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return wf.get("jobs") or {}


def action(step: dict[str, Any]) -> str:
    """`owner/repo` of a `uses:` step, '' for a `run:` step."""
    return str(step.get("uses", "")).split("@")[0]


def strings(node: Any) -> list[str]:
    """Every string in a parsed YAML tree, keys included."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [*strings(k), *strings(v)]]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def squeeze(expression: Any) -> str:
    return " ".join(str(expression or "").split())


def concurrency(node: dict[str, Any]) -> dict[str, Any]:
    value = node.get("concurrency")
    return {"group": value} if isinstance(value, str) else dict(value or {})


def environment_name(job: dict[str, Any]) -> str | None:
    env = job.get("environment")
    return env.get("name") if isinstance(env, dict) else env


def write_grants(permissions: Any) -> set[str]:
    if permissions == "write-all":
        return {"*"}
    if isinstance(permissions, dict):
        return {scope for scope, level in permissions.items() if level == "write"}
    return set()


def stack_files() -> set[str]:
    return set(stack_names())


def drift_stack(step: dict[str, Any]) -> str | None:
    """The stack a `./scripts/drift` step checks (its STACK variable); None for other steps."""
    if not squeeze(step.get("run")).startswith(f"{DRIFT_SCRIPT} "):
        return None
    return str((step.get("env") or {}).get("STACK", ""))


def requirement_pin(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.lower() == package:
            return version
    raise AssertionError(f"{package} is not pinned in requirements.txt")


@dataclass(frozen=True)
class StackOperation:
    """One `pulumi/actions` step with a command, or one drift check (`command` "drift"), for one
    stack (matrix jobs: one per stack)."""

    workflow: str
    job_id: str
    stack: str
    command: str
    step_index: int

    @property
    def wf(self) -> dict[str, Any]:
        return workflow(self.workflow)

    @property
    def job(self) -> dict[str, Any]:
        return jobs(self.wf)[self.job_id]

    @property
    def step(self) -> dict[str, Any]:
        return self.job["steps"][self.step_index]

    @property
    def inputs(self) -> dict[str, Any]:
        return self.step.get("with") or {}

    def render(self, text: Any) -> str:
        """`text` with this operation's `${{ matrix.stack }}` filled in."""
        return MATRIX_STACK.sub(self.stack, str(text))

    def __str__(self) -> str:
        return f"{self.workflow}:{self.job_id}[{self.stack}] pulumi {self.command}"


@cache
def stack_operations() -> tuple[StackOperation, ...]:
    operations = []
    for name in workflow_names():
        for job_id, job in jobs(workflow(name)).items():
            matrix = (job.get("strategy") or {}).get("matrix") or {}
            for index, step in enumerate(job.get("steps") or []):
                inputs = step.get("with") or {}
                checked = drift_stack(step)
                if action(step) == "pulumi/actions" and "command" in inputs:
                    stack, command = str(inputs.get("stack-name", "")), str(inputs["command"])
                elif checked is not None:
                    stack, command = checked, "drift"
                else:
                    continue
                stacks = matrix.get("stack", []) if MATRIX_STACK.fullmatch(stack) else [stack]
                operations += [StackOperation(name, job_id, str(s), command, index) for s in stacks]
    return tuple(operations)


def operations(*commands: str, stack: str | None = None) -> list[StackOperation]:
    return [
        op
        for op in stack_operations()
        if op.command in commands and (stack is None or op.stack == stack)
    ]


def test_every_workflow_of_the_delivery_pipeline_exists():
    assert set(workflow_names()) >= EXPECTED_WORKFLOWS


def test_every_stack_is_previewed_on_pull_requests_to_main():
    previews = operations("preview")
    assert {op.stack for op in previews} == stack_files(), (
        "the preview matrix must list exactly the stacks that have a Pulumi.<stack>.yaml"
    )
    for op in previews:
        assert (triggers(op.wf)["pull_request"] or {}).get("branches") == ["main"], op


def test_a_preview_shows_the_refreshed_diff_with_policies_in_one_comment_per_stack():
    for op in operations("preview"):
        inputs = op.inputs
        assert inputs.get("diff") is True, op
        assert inputs.get("refresh") is True, op
        assert "policy" in lines(inputs.get("policyPacks")), op
        assert inputs.get("comment-on-pr") is True, op
        assert inputs.get("edit-pr-comment") is True, f"{op}: a new comment on every push"


def test_previews_are_skipped_for_forks_which_get_no_secrets():
    for op in operations("preview"):
        assert FORK_GUARD in squeeze(op.job.get("if")), op


def test_dev_is_deployed_on_every_push_to_main():
    deploys = operations("up", "update", stack="dev")
    assert deploys, "no workflow runs `pulumi up` on dev"
    for op in deploys:
        assert (triggers(op.wf).get("push") or {}).get("branches") == ["main"], op
        assert op.inputs.get("refresh") is True, op
        assert environment_name(op.job) == "dev", op


def test_prod_changes_only_by_hand_from_main_through_its_protected_environment():
    changes = [op for op in operations(*STATE_CHANGING) if op.stack == "prod"]
    assert operations("up", "update", stack="prod"), "no workflow runs `pulumi up` on prod"
    for op in changes:
        assert set(triggers(op.wf)) == {"workflow_dispatch"}, op
        assert "github.ref == 'refs/heads/main'" in squeeze(op.job.get("if")), op
        assert op.inputs.get("refresh") is True, op
        # The approval waits in a job of its own, outside the stack's concurrency group (a job
        # waiting for reviewers holds its group, which would stall every prod preview).
        needs = op.job.get("needs")
        gates = [needs] if isinstance(needs, str) else list(needs or [])
        approvals = [jobs(op.wf)[gate] for gate in gates]
        assert any(environment_name(gate) == "prod" for gate in approvals), op
        for gate in approvals:
            assert "concurrency" not in gate, op
            assert "github.ref == 'refs/heads/main'" in squeeze(gate.get("if")), op
        assert environment_name(op.job) is None, f"{op}: a second approval would be asked"


def test_no_workflow_that_runs_for_a_pull_request_changes_a_stack():
    for op in operations(*STATE_CHANGING):
        assert not {"pull_request", "pull_request_target"} & set(triggers(op.wf)), op


def test_ci_never_creates_a_stack():
    # A misspelt stack name with upsert would silently build a whole new environment.
    for op in stack_operations():
        assert op.inputs.get("upsert") in (None, False), op


def test_operations_on_one_stack_run_one_at_a_time_in_arrival_order_across_workflows():
    groups: dict[str, set[str]] = {}
    for op in stack_operations():
        settings = concurrency(op.job)
        group = op.render(settings.get("group", ""))
        assert op.stack in group, f"{op}: concurrency group {group!r} does not name the stack"
        assert "${{" not in group, f"{op}: group {group!r} differs between workflows"
        assert settings.get("cancel-in-progress") is False, f"{op}: may be cancelled half-way"
        assert settings.get("queue") == "max", f"{op}: a newer run would cancel a pending one"
        workflow_level = concurrency(op.wf)
        assert workflow_level.get("cancel-in-progress") in (None, False), op
        groups.setdefault(op.stack, set()).add(group)
    assert set(groups) == stack_files()
    for stack, names in groups.items():
        assert len(names) == 1, f"{stack}: workflows use different groups {sorted(names)}"
    assert len({next(iter(names)) for names in groups.values()}) == len(groups)
    for stack in stack_files():
        shared = {op.workflow for op in stack_operations() if op.stack == stack}
        assert len(shared) >= 2, f"{stack}: preview and deploy should share the group"


def test_pulumi_steps_use_the_self_managed_backend_and_repository_secrets():
    for op in stack_operations():
        env = {
            **(op.wf.get("env") or {}),
            **(op.job.get("env") or {}),
            **(op.step.get("env") or {}),
        }
        for variable, secret in PULUMI_STEP_SECRETS.items():
            assert secret_expression(secret).fullmatch(str(env.get(variable, ""))), (
                f"{op}: {variable} must be ${{{{ secrets.{secret} }}}}"
            )
        if op.command == "drift":  # the CLI itself, in the repository's root
            assert "working-directory" not in op.step, op
            continue
        assert secret_expression("PULUMI_BACKEND_URL").fullmatch(str(op.inputs.get("cloud-url"))), (
            op
        )
        assert op.inputs.get("work-dir") in (".", "./"), op


def test_pulumi_cli_version_is_the_sdk_version_in_requirements():
    pin = requirement_pin("pulumi")
    steps = [
        (name, step)
        for name in workflow_names()
        for job in jobs(workflow(name)).values()
        for step in job.get("steps") or []
        if action(step) == "pulumi/actions"
    ]
    assert steps
    for name, step in steps:
        assert str((step.get("with") or {}).get("pulumi-version")) == pin, name


def test_the_program_and_policy_pack_are_installed_before_pulumi_runs():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    venv = project["runtime"]["options"]["virtualenv"]
    for op in stack_operations():
        before = op.job["steps"][: op.step_index]
        scripts = [squeeze(step.get("run")) for step in before]
        # scripts/bootstrap (also run by ./.ci/run) builds .venv from requirements.txt
        bootstrap = (REPO / "scripts" / "bootstrap").read_text()
        assert f'"$repo/{venv}" "$repo/requirements.txt"' in bootstrap
        assert any(s in ("bash scripts/bootstrap", "./.ci/run") for s in scripts), (
            f"{op}: {venv} is not built from requirements.txt before Pulumi runs"
        )
        if op.command == "drift":  # a drift check runs no policies: it compares, nothing more
            continue
        assert any(
            step.get("working-directory") == "policy"
            and squeeze(step.get("run")) == "pulumi install"
            for step in before
        ), f"{op}: the policy pack's dependencies are not installed"
        assert "policy" in lines(op.inputs.get("policyPacks")), op


def test_the_policy_pack_the_workflows_run_exists():
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def test_every_job_sets_up_the_project_python_with_pip_cached_on_requirements():
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["target-version"]
    version = f"{target[2]}.{target[3:]}"  # "py311" -> "3.11"
    for name in workflow_names():
        for job_id, job in jobs(workflow(name)).items():
            steps = job.get("steps") or []
            setups = [i for i, step in enumerate(steps) if action(step) == "actions/setup-python"]
            runs = [i for i, step in enumerate(steps) if "run" in step]
            checks_out = any(action(step) == "actions/checkout" for step in steps)
            if runs and checks_out:  # a job with the project's code runs the project's Python
                assert setups and setups[0] < runs[0], f"{name}:{job_id}: runs the runner's python"
            for i in setups:
                inputs = steps[i].get("with") or {}
                # Quoted: unquoted 3.10 would be read as the number 3.1.
                assert inputs.get("python-version") == version, f"{name}:{job_id}"
                assert inputs.get("cache") == "pip", f"{name}:{job_id}"
                assert "requirements.txt" in lines(inputs.get("cache-dependency-path")), (
                    f"{name}:{job_id}: pip cache not keyed on requirements.txt"
                )


def test_workflows_grant_nothing_by_default():
    for name in workflow_names():
        wf = workflow(name)
        assert "permissions" in wf, f"{name}: no top-level permissions (the token's defaults apply)"
        assert wf["permissions"] in ({}, {"contents": "read"}), name


def test_only_the_commenting_and_drift_issue_jobs_can_write_and_only_there():
    writers = {
        (name, job_id): write_grants(job.get("permissions"))
        for name in workflow_names()
        for job_id, job in jobs(workflow(name)).items()
        if write_grants(job.get("permissions"))
    }
    assert writers == {
        **{job: {"pull-requests"} for job in COMMENTING_JOBS},
        **{job: {"issues"} for job in DRIFT_ISSUE_JOBS},
    }
    preview = workflow("preview.yml")["jobs"]["preview"]
    assert any((s.get("with") or {}).get("comment-on-pr") is True for s in preview["steps"])


def test_jobs_that_check_out_can_read_the_repository():
    for name in workflow_names():
        wf = workflow(name)
        for job_id, job in jobs(wf).items():
            if any(action(step) == "actions/checkout" for step in job.get("steps") or []):
                permissions = job.get("permissions", wf.get("permissions"))
                assert isinstance(permissions, dict), f"{name}:{job_id}"
                assert permissions.get("contents") in ("read", "write"), f"{name}:{job_id}"


def test_no_secret_reaches_a_job_that_runs_for_a_fork():
    for name in workflow_names():
        on = triggers(workflow(name))
        assert "pull_request_target" not in on, f"{name}: runs fork code with secrets"
        if "pull_request" not in on:
            continue
        for job_id, job in jobs(workflow(name)).items():
            if any("secrets." in s for s in strings(job)):
                assert FORK_GUARD in squeeze(job.get("if")), f"{name}:{job_id}"


def test_render_diff_runs_pull_request_code_with_nothing_to_steal():
    wf = workflow("render-diff.yml")
    assert "pull_request" in triggers(wf)
    assert not any("secrets." in s for s in strings(wf))
    for job_id, job in jobs(wf).items():
        assert job.get("permissions") == {"contents": "read"}, job_id
        for step in job.get("steps") or []:
            if action(step) == "actions/checkout":
                assert (step.get("with") or {}).get("persist-credentials") is False, job_id


def test_render_diff_diffs_against_the_base_branch_and_uploads_what_the_commenter_reads():
    (render,) = jobs(workflow("render-diff.yml")).values()
    checkout = next(s for s in render["steps"] if action(s) == "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0, "the base revision is not fetched"
    diff = next(squeeze(s["run"]) for s in render["steps"] if "./scripts/diff" in str(s.get("run")))
    assert re.search(r"--base \"?origin/", diff), diff
    assert "--output render-diff.md" in diff, diff
    upload = next(s for s in render["steps"] if action(s) == "actions/upload-artifact")
    assert set(lines(upload["with"]["path"])) == {"render-diff.md", "pr-number.txt"}

    (comment,) = jobs(workflow("render-diff-comment.yml")).values()
    download = next(s for s in comment["steps"] if action(s) == "actions/download-artifact")
    assert download["with"]["name"] == upload["with"]["name"]
    assert squeeze(download["with"]["run-id"]) == "${{ github.event.workflow_run.id }}"
    assert download["with"].get("github-token"), "another run's artifact needs a token"


def test_the_render_diff_commenter_never_checks_out_or_runs_pull_request_code():
    wf = workflow("render-diff-comment.yml")
    on = triggers(wf)
    assert set(on) == {"workflow_run"}
    assert on["workflow_run"]["workflows"] == [workflow("render-diff.yml")["name"]]
    assert on["workflow_run"]["types"] == ["completed"]
    for job_id, job in jobs(wf).items():
        assert job.get("permissions") == {"pull-requests": "write", "actions": "read"}, job_id
        assert "github.event.workflow_run.conclusion == 'success'" in squeeze(job.get("if"))
        for step in job.get("steps") or []:
            assert "run" not in step, f"{job_id}: a shell step could run the artifact"
            assert action(step) in {"actions/download-artifact", "actions/github-script"}, step


def test_the_commenter_edits_one_marked_comment_for_a_validated_pull_request_number():
    (comment,) = jobs(workflow("render-diff-comment.yml")).values()
    script = next(s for s in comment["steps"] if action(s) == "actions/github-script")
    code = script["with"]["script"]
    assert RENDER_DIFF_MARKER in code
    assert "/^[1-9][0-9]{0,9}$/.test(" in code, "the PR number from the artifact is not checked"
    assert "head_sha" in code, "a forged number could make the bot comment on another PR"
    assert "updateComment" in code and "createComment" in code
    assert "github-actions[bot]" in code, "the bot could edit someone else's comment"


def test_the_test_suite_runs_on_pull_requests_and_main_and_before_every_deploy():
    wf = workflow("tests.yml")
    on = triggers(wf)
    assert "pull_request" in on
    assert (on.get("push") or {}).get("branches") == ["main"]
    assert any(
        squeeze(step.get("run")) == "./.ci/run"
        for job in jobs(wf).values()
        for step in job.get("steps") or []
    )
    for op in operations("up", "update"):
        before = op.job["steps"][: op.step_index]
        assert any(squeeze(step.get("run")) == "./.ci/run" for step in before), op


def test_the_test_suite_gets_what_it_needs_itself_with_no_fetching_of_the_workflows():
    """./.ci/run fetches and checks its pinned assets (tests/assets.py); before it, a job only
    checks out and sets up Python. A download step there would be a second, unchecked source."""
    runs = 0
    for name in workflow_names():
        for job_name, job in jobs(workflow(name)).items():
            steps = job.get("steps") or []
            ci = [i for i, step in enumerate(steps) if squeeze(step.get("run")) == "./.ci/run"]
            if not ci:
                continue
            runs += 1
            before = [action(step) or squeeze(step.get("run")) for step in steps[: ci[0]]]
            assert before == ["actions/checkout", "actions/setup-python"], (name, job_name, before)
    assert runs == 3  # tests, deploy-dev, deploy-prod
    fetching = re.compile(r"\b(curl|wget)\b|e2e-tools-online|\.\./shared")
    for name in workflow_names():
        for job in jobs(workflow(name)).values():
            for step in job.get("steps") or []:
                assert not fetching.search(str(step.get("run", ""))), (name, step)


def drift_job() -> dict[str, Any]:
    (job,) = jobs(workflow("drift.yml")).values()
    return job


def test_every_stack_is_checked_for_drift_daily_and_by_hand():
    wf = workflow("drift.yml")
    on = triggers(wf)
    assert set(on) == {"schedule", "workflow_dispatch"}, "never for pull requests or pushes"
    (schedule,) = on["schedule"]
    minute, hour, day, month, weekday = str(schedule["cron"]).split()
    assert minute.isdigit() and hour.isdigit(), f"not once a day: {schedule['cron']}"
    assert (day, month, weekday) == ("*", "*", "*"), f"not every day: {schedule['cron']}"
    checks = operations("drift")
    assert {op.stack for op in checks} == stack_files(), (
        "the drift matrix must list exactly the stacks that have a Pulumi.<stack>.yaml"
    )
    assert {op.workflow for op in checks} == {"drift.yml"}
    assert (drift_job().get("strategy") or {}).get("fail-fast") is False, (
        "one stack's drift would cancel the other stack's check"
    )


def test_the_drift_check_is_a_refreshing_preview_that_changes_nothing():
    command = preview_command("dev")
    assert command[:2] == ["pulumi", "preview"]
    assert {"--refresh", "--expect-no-changes", "--diff", "--json"} <= set(command)
    assert "--yes" not in command and "--show-secrets" not in command
    script = (ROOT / "scripts" / "drift").read_text()
    assert "exec python -m ops.drift" in script
    job = drift_job()
    for step in job["steps"]:
        inputs = step.get("with") or {}
        assert not (action(step) == "pulumi/actions" and "command" in inputs), (
            "drift.yml runs a Pulumi command other than the drift check"
        )
        assert not re.search(r"\bpulumi (up|refresh|destroy|import)\b", squeeze(step.get("run")))
    (check,) = [step for step in job["steps"] if drift_stack(step) is not None]
    assert squeeze(check["run"]).startswith(f'{DRIFT_SCRIPT} "$STACK"'), check["run"]
    assert MATRIX_STACK.fullmatch(drift_stack(check) or ""), "STACK is not the matrix stack"
    steps = job["steps"]
    cli = next(i for i, step in enumerate(steps) if action(step) == "pulumi/actions")
    assert cli < steps.index(check), "the Pulumi CLI is installed after the drift check"


def test_the_drift_issue_step_reads_the_checks_result_with_only_the_jobs_token():
    job = drift_job()
    assert job.get("permissions") == {"contents": "read", "issues": "write"}
    steps = job["steps"]
    (check,) = [step for step in steps if drift_stack(step) is not None]
    (issue,) = [step for step in steps if "ops.drift_issue" in squeeze(step.get("run"))]
    assert steps.index(issue) > steps.index(check)
    # The check's result reaches the issue step whatever it was (clean, drift, no verdict)...
    assert check.get("continue-on-error") is True, "on drift the issue step would be skipped"
    assert "if" not in issue, issue.get("if")
    result = re.search(r"--json (\S+)", squeeze(check["run"]))
    assert result, "the drift check writes no result for the issue step"
    assert f" {result.group(1)} " in f"{squeeze(issue['run'])} ", issue["run"]
    # The orphan report's result goes into the same issue.
    (orphans,) = [step for step in steps if "scripts/orphans" in squeeze(step.get("run"))]
    assert orphans.get("continue-on-error") is True and steps.index(orphans) < steps.index(issue)
    orphan_result = re.search(r"--json (\S+)", squeeze(orphans["run"]))
    assert orphan_result and f"--orphans {orphan_result.group(1)}" in squeeze(issue["run"])
    # ...which gets the job's own token and no cloud credential,
    env = issue.get("env") or {}
    assert re.fullmatch(r"\$\{\{\s*github\.token\s*\}\}", str(env.get("GH_TOKEN"))), env
    assert not any("secrets." in s for s in strings(issue))
    # ...and the run still fails when the check did.
    (last,) = steps[steps.index(issue) + 1 :]
    assert squeeze(last.get("if")) == (
        f"steps.{check['id']}.outcome == 'failure' || steps.{orphans['id']}.outcome == 'failure'"
    )
    assert lines(last["run"])[-1] == "exit 1"


def test_no_workflow_clears_a_lock_and_a_failed_deploy_says_what_a_person_must_do():
    """A lock may belong to a deploy from a laptop, outside the workflows' concurrency groups,
    or to one still running: clearing it is a person's decision."""
    for name in workflow_names():
        for job in workflow(name).get("jobs", {}).values():
            for step in job.get("steps", []):
                assert (step.get("with") or {}).get("command") != "cancel", name
                commands = [line.strip() for line in str(step.get("run") or "").splitlines()]
                assert not any(line.startswith("pulumi cancel") for line in commands), name
    for stack in ("dev", "prod"):
        steps = workflow(f"deploy-{stack}.yml")["jobs"]["up"]["steps"]
        up = next(
            i for i, step in enumerate(steps) if (step.get("with") or {}).get("command") == "up"
        )
        up_id = steps[up]["id"]
        (advice,) = [
            step
            for step in steps[up + 1 :]
            if squeeze(step.get("if")) == f"failure() && steps.{up_id}.outcome == 'failure'"
        ]
        text = squeeze(advice["run"])
        assert "the stack is currently locked" in text and "docs/when-things-go-wrong.md" in text
        assert "./scripts/recover $STACK" in text and lines(advice["run"])[-1] == "exit 1"


def test_every_deploy_asks_the_cluster_whether_each_deployment_rolled_out():
    """The Kubernetes provider can end a Deployment's update before its rollout (docs/e2e.md):
    after `up`, scripts/rollout-status, with what a pulumi command of the stack needs."""
    for stack in ("dev", "prod"):
        steps = workflow(f"deploy-{stack}.yml")["jobs"]["up"]["steps"]
        up = next(
            i for i, step in enumerate(steps) if (step.get("with") or {}).get("command") == "up"
        )
        (check,) = [s for s in steps if "scripts/rollout-status" in str(s.get("run") or "")]
        assert steps.index(check) > up and "if" not in check, stack
        assert lines(check["run"]) == [f"./scripts/rollout-status {stack}"]
        for variable, secret in PULUMI_STEP_SECRETS.items():
            assert secret_expression(secret).fullmatch(str(check["env"].get(variable, ""))), (
                f"{stack}: {variable}"
            )


def test_actions_are_pinned_to_a_major_version_or_a_commit():
    for name in workflow_names():
        for job_id, job in jobs(workflow(name)).items():
            for step in job.get("steps") or []:
                if "uses" in step:
                    assert re.fullmatch(
                        r"[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})", str(step["uses"])
                    ), f"{name}:{job_id}: {step['uses']}"


def test_no_credential_is_written_into_the_workflows():
    for path in sorted(p for p in GITHUB_DIR.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        for kind, pattern in CREDENTIAL_LOOKALIKES.items():
            assert not pattern.search(text), f"{path.relative_to(ROOT)}: looks like a {kind}"
    for name in workflow_names():
        wf = workflow(name)
        envs = [wf.get("env") or {}]
        for job in jobs(wf).values():
            envs += [job.get("env") or {}]
            envs += [step.get("env") or {} for step in job.get("steps") or []]
        for env in envs:
            for variable, value in env.items():
                if CREDENTIAL_NAME.search(variable):
                    assert re.fullmatch(
                        r"\$\{\{\s*(secrets\.\w+|github\.token)\s*\}\}", str(value)
                    ), f"{name}: {variable} is not taken from a secret"


def check_jsonschema() -> str:
    beside = Path(sys.executable).parent / "check-jsonschema"
    found = str(beside) if beside.is_file() else shutil.which("check-jsonschema")
    if found is None:
        pytest.fail(
            "check-jsonschema is missing: it is pinned in requirements.txt (./scripts/test)"
        )
    return found


def test_workflows_are_valid_for_github():
    files = [str(WORKFLOWS_DIR / name) for name in workflow_names()]
    assert files
    result = subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_job_that_runs_the_tests_checks_out_the_whole_history():
    """The end-to-end suite deploys the program of an earlier revision (`git archive`) and moves
    that stack onto this one: a shallow checkout would fail it."""
    checked = 0
    for name in workflow_names():
        for job_id, job in jobs(workflow(name)).items():
            steps = job.get("steps") or []
            if not any(squeeze(step.get("run")) == "./.ci/run" for step in steps):
                continue
            checkout = next(s for s in steps if action(s) == "actions/checkout")
            assert (checkout.get("with") or {}).get("fetch-depth") == 0, f"{name}:{job_id}"
            checked += 1
    assert checked >= 3
