"""The drift command (ops/drift.py) and its issue (ops/drift_issue.py), fast and offline.

The preview documents below have the shape `pulumi preview --refresh --json` printed on the real
engine for each out-of-band change of tests/e2e/test_drift.py. The issue logic runs against a
stand-in `gh` first on PATH: it records every invocation and answers from a state file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ops.drift import (
    SECRET_SIGNATURE,
    Change,
    Drifted,
    DriftResult,
    Redactor,
    display_type,
    interpret,
    preview_command,
    split_path,
)
from ops.drift_issue import BODY_LIMIT, LABEL

REPO = Path(__file__).resolve().parents[1]
STACK_URN = "urn:pulumi:dev::posts-infra::pulumi:pulumi:Stack::posts-infra-dev"
APP = "urn:pulumi:dev::posts-infra::posts:app:Application"
NGINX = f"{APP}$kubernetes:apps/v1:Deployment::app-deployment-nginx"
CONFIG_MAP = f"{APP}$kubernetes:core/v1:ConfigMap::app-configmap"
SECRET = f"{APP}$kubernetes:core/v1:Secret::app-secret"
FIREWALL = (
    "urn:pulumi:dev::posts-infra::posts:platform:MysqlDatabase"
    "$digitalocean:index/databaseFirewall:DatabaseFirewall::mysql-firewall"
)
MYSQL = (
    "urn:pulumi:dev::posts-infra::posts:platform:MysqlDatabase"
    "$digitalocean:index/databaseCluster:DatabaseCluster::mysql-cluster"
)
CONFLICT = (
    'error: Preview failed: 1 error occurred:\n\t* the Kubernetes API server reported that "posts/'
    'nginx" failed to fully initialize or become live: server-side apply field conflict detected'
    '\nThe resource managed by field manager "pulumi-kubernetes-fad4ad03" had an apply conflict:'
    ' Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1:'
    " .spec.replicas\n\n\n"
)
# Values that must never reach a report, a result file or an issue.
PLAIN_SECRETS = {
    "app key": "base64:c2VjcmV0LWFwcC1rZXktbmV2ZXItcHJpbnRlZA==",
    "app key, base64 in a Secret's data": "YmFzZTY0OmMyVmpjbVYwTFdGd2NDMXJaWGs9",
    "database password": "s3cr3t-database-password",
    "DigitalOcean token": "dop_v1_" + "ab12" * 16,
    "passphrase": "correct-horse-battery-staple",
    "GitHub token": "ghs_" + "Z" * 36,
}


# -- preview documents -----------------------------------------------------------------------------


def step(
    op: str,
    urn: str,
    detailed: dict[str, Any] | None = None,
    old_inputs: dict[str, Any] | None = None,
    old_outputs: dict[str, Any] | None = None,
    new_inputs: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "op": op,
        "urn": urn,
        "detailedDiff": detailed,
        "oldState": {"urn": urn, "inputs": old_inputs or {}, "outputs": old_outputs or {}},
        "newState": {"urn": urn, "inputs": new_inputs or {}},
        **extra,
    }


def preview(*steps: dict[str, Any], diagnostics: list[dict[str, Any]] | None = None) -> str:
    unchanged = [step("refresh", STACK_URN), step("refresh", NGINX), step("same", STACK_URN)]
    document: dict[str, Any] = {
        "config": {"posts-infra:appKey": "[secret]", "posts-infra:region": "nyc3"},
        "steps": [*unchanged, *steps],
        "duration": 9000000000,
        "changeSummary": {"same": 46},
    }
    if diagnostics:
        document["diagnostics"] = diagnostics
    return json.dumps(document)


def managed(manager: str, operation: str, subresource: str | None, *fields: str) -> dict[str, Any]:
    """A `metadata.managedFields` entry owning `spec.<field>` for each field."""
    spec: dict[str, Any] = {f"f:{field}": {} for field in fields}
    return {
        "manager": manager,
        "operation": operation,
        "subresource": subresource,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": spec} if spec else {"f:status": {}},
    }


def scaled_nginx(*owners: dict[str, Any]) -> dict[str, Any]:
    """`kubectl scale deployment nginx --replicas=1`: kubectl owns spec.replicas through the
    scale subresource (unless `owners` says who else)."""
    live = {"spec": {"replicas": 1, "template": {"spec": {}}}}
    owners = owners or (managed("kubectl", "Update", "scale", "replicas"),)
    fields = [
        managed("pulumi-kubernetes-fad4ad03", "Apply", None, "selector", "template"),
        *owners,
        managed("kube-controller-manager", "Update", "status"),
    ]
    return step(
        "update",
        NGINX,
        {"spec.replicas": {"kind": "update", "inputDiff": False}},
        old_inputs=live,
        old_outputs={**live, "metadata": {"managedFields": fields}, "status": {"replicas": 1}},
        new_inputs={"spec": {"replicas": 2, "template": {"spec": {}}}},
    )


def edited_config_map() -> dict[str, Any]:
    return step(
        "replace",
        CONFIG_MAP,
        {"data.LOG_LEVEL": {"kind": "update-replace", "inputDiff": False}},
        old_inputs={"data": {"LOG_LEVEL": "debug", "APP_NAME": "posts"}},
        old_outputs={"data": {"LOG_LEVEL": "debug", "APP_NAME": "posts"}},
        new_inputs={"data": {"LOG_LEVEL": "error", "APP_NAME": "posts"}},
        replaceReasons=["data.LOG_LEVEL"],
    )


def widened_firewall() -> dict[str, Any]:
    declared = {"__defaults": [], "type": "k8s", "value": "c21bf3bb-eadf-5464-92a7-746c40437343"}
    return step(
        "update",
        FIREWALL,
        {"rules[1]": {"kind": "delete", "inputDiff": False}},
        old_inputs={"rules": [declared]},
        old_outputs={
            "rules": [
                {**declared, "uuid": "d9d47a26", "createdAt": "2026-11-27T00:37:59Z"},
                {
                    "type": "ip_addr",
                    "value": "203.0.113.7",
                    "uuid": "3dc5fa0b",
                    "createdAt": "2026-11-27T00:42:22Z",
                },
            ]
        },
        new_inputs={"rules": [declared]},
        diffReasons=["rules"],
    )


def with_secrets() -> list[dict[str, Any]]:
    """Drift in secrets: as the CLI prints it ([secret]), and as it could be if a value were
    left unmarked (a Secret's data) or marked the way the state marks it."""
    marked = {SECRET_SIGNATURE: "1b47061264138c4ac30d75fd1eb44270"}
    return [
        step(
            "replace",
            SECRET,
            {
                "data.APP_KEY": {"kind": "update-replace", "inputDiff": False},
                "stringData": {"kind": "add-replace", "inputDiff": True},
            },
            old_inputs={"data": "[secret]"},
            old_outputs={"data": {"APP_KEY": PLAIN_SECRETS["app key, base64 in a Secret's data"]}},
            new_inputs={"stringData": {"APP_KEY": PLAIN_SECRETS["app key"]}},
        ),
        step(
            "update",
            MYSQL,
            {
                "password": {"kind": "update", "inputDiff": True},
                "tags[0]": {"kind": "update", "inputDiff": True},
            },
            old_inputs={
                "password": {**marked, "plaintext": json.dumps(PLAIN_SECRETS["database password"])},
                "tags": [PLAIN_SECRETS["DigitalOcean token"]],
            },
            new_inputs={"password": "[secret]", "tags": ["posts"]},
        ),
    ]


# -- the verdict -----------------------------------------------------------------------------------


def test_a_clean_preview_is_clean():
    result = interpret("dev", 0, preview(), "", {})
    assert (result.status, result.exit_code, result.resources) == ("clean", 0, ())
    assert "no drift" in result.report()


def scaling_api() -> dict[str, Any]:
    """What the engine plans for a Deployment the provider's refresh found not ready (the
    autoscaler adding pods that are not Ready yet): an update with no changed property, the
    read's reasons in the state as initErrors."""
    api = f"{APP}$kubernetes:apps/v1:Deployment::app-deployment-api"
    live: dict[str, Any] = {"spec": {"template": {"spec": {}}}}
    unready = step("update", api, None, old_inputs=live, old_outputs=live, new_inputs=live)
    unready["oldState"]["initErrors"] = [
        "Minimum number of Pods to consider the application live was not attained",
        "1 Pods failed to run because: [ContainerCreating]",
    ]
    return unready


def test_a_deployment_that_is_not_ready_is_not_drift_but_is_listed_apart():
    # `--expect-no-changes` fails (exit 255) on the empty update; the verdict is still clean.
    result = interpret("dev", 255, preview(scaling_api()), "error: no changes were expected", {})
    assert (result.status, result.exit_code, result.resources) == ("clean", 0, ())
    (unready,) = result.not_ready
    assert (unready.type, unready.name) == ("kubernetes:apps/v1:Deployment", "app-deployment-api")
    report = result.report()
    assert "no drift" in report and "Not ready at the time of the check" in report
    assert "app-deployment-api" in report and "ContainerCreating" in report
    again = DriftResult.from_json(json.loads(json.dumps(result.as_json())))
    assert again == result


def test_a_not_ready_resource_beside_drift_keeps_the_verdict_drift():
    result = interpret("dev", 255, preview(scaled_nginx(), scaling_api()), "", {})
    assert (result.status, result.exit_code) == ("drift", 1)
    assert [r.name for r in result.resources] == ["app-deployment-nginx"]
    assert [r.name for r in result.not_ready] == ["app-deployment-api"]
    assert "Not ready at the time of the check" in result.report()


def test_a_not_ready_resource_does_not_hide_a_failed_preview():
    diagnostics = [{"severity": "error", "message": "error: cannot reach the cluster"}]
    result = interpret("dev", 255, preview(scaling_api(), diagnostics=diagnostics), "", {})
    assert (result.status, result.exit_code) == ("error", 2)


def test_a_scaled_deployment_is_named_with_the_property_and_both_values():
    result = interpret("dev", 7, preview(scaled_nginx()), "error: no changes were expected", {})
    assert (result.status, result.exit_code) == ("drift", 1)
    (drifted,) = result.resources
    assert (drifted.type, drifted.name, drifted.op) == (
        "kubernetes:apps/v1:Deployment",
        "app-deployment-nginx",
        "update",
    )
    note = "owned by kubectl via the scale subresource: the apply conflicts"
    assert drifted.changes == (Change("spec.replicas", "update", "1", "2", note, True),)
    report = result.report()
    assert "~ kubernetes:apps/v1:Deployment app-deployment-nginx" in report
    assert f"spec.replicas: 1 -> 2 [{note}]" in report
    assert "server-side apply conflict): `pulumi up --refresh` stops on it" in report


def test_who_else_owns_a_drifted_kubernetes_field_says_whether_up_can_take_it_back():
    def change(*owners: dict[str, Any]) -> Change:
        (drifted,) = interpret("dev", 7, preview(scaled_nginx(*owners)), "", {}).resources
        (found,) = drifted.changes
        return found

    patched = change(managed("kubectl-patch", "Update", None, "replicas"))
    assert (patched.note, patched.conflict) == (
        "set by kubectl-patch: Pulumi takes the field back",
        False,
    )
    controller = change(managed("cluster-autoscaler", "Update", None, "replicas"))
    assert (controller.note, controller.conflict) == (
        "owned by cluster-autoscaler: the apply conflicts",
        True,
    )
    nobody = change(managed("kubectl-patch", "Update", None, "paused"))
    assert (nobody.note, nobody.conflict) == (None, False)
    unowned = interpret("dev", 7, preview(scaled_nginx(managed("x", "Update", None))), "", {})
    assert "updates it in place" in unowned.report()


def test_an_edited_config_map_value_is_a_replacement():
    report = interpret("dev", 7, preview(edited_config_map()), "", {}).report()
    assert "+- kubernetes:core/v1:ConfigMap app-configmap" in report
    assert 'data.LOG_LEVEL: "debug" -> "error" (forces replacement)' in report


def test_an_added_firewall_rule_shows_the_live_rule_and_no_declared_one():
    result = interpret("dev", 7, preview(widened_firewall()), "", {})
    (drifted,) = result.resources
    assert display_type(drifted.type) == "digitalocean:index:DatabaseFirewall"
    assert "~ digitalocean:index:DatabaseFirewall mysql-firewall" in result.report(), (
        result.report()
    )
    assert 'rules[1]: {"type": "ip_addr", "value": "203.0.113.7"} -> (absent)' in result.report()


def test_every_drifted_resource_is_listed_in_the_order_of_the_preview():
    result = interpret(
        "dev", 7, preview(widened_firewall(), edited_config_map(), scaled_nginx()), "", {}
    )
    assert [r.name for r in result.resources] == [
        "mysql-firewall",
        "app-configmap",
        "app-deployment-nginx",
    ]
    assert "drift in 3 resources" in result.report()


@pytest.mark.parametrize(
    "owner",
    [
        # as `kubectl scale` leaves it: the managed fields already show the conflict
        managed("kubectl", "Update", "scale", "replicas"),
        # managed fields that show none: the preview's conflict error alone must say it
        managed("kubectl-patch", "Update", None, "replicas"),
    ],
    ids=["scale-subresource", "error-only"],
)
def test_a_conflict_that_fails_the_preview_is_still_drift_and_the_report_says_so(
    owner: dict[str, Any],
):
    diagnostics = [
        {"urn": NGINX, "message": CONFLICT, "severity": "error"},
        {"message": "error: preview failed\n", "severity": "error"},
        {"message": "error: Resource monitor has terminated, shutting down\n", "severity": "error"},
    ]
    result = interpret("dev", 1, preview(scaled_nginx(owner), diagnostics=diagnostics), "", {})
    assert (result.status, result.exit_code) == ("drift", 1)
    (error,) = result.errors
    assert error.startswith("app-deployment-nginx: Preview failed")
    assert 'conflict with "kubectl" with subresource "scale"' in error
    report = result.report()
    assert (
        "~ kubernetes:apps/v1:Deployment app-deployment-nginx: differs from the program, and"
        " another field manager now owns the field (server-side apply conflict):"
        " `pulumi up --refresh` stops on it; see docs/drift.md\n"
    ) in report
    assert "may be incomplete" in report


def test_a_deleted_resource_is_missing_and_a_replacement_counts_once():
    halves = [
        step("create-replacement", CONFIG_MAP),
        edited_config_map(),
        step("delete-replaced", CONFIG_MAP),
    ]
    result = interpret("dev", 7, preview(step("create", NGINX), *halves), "", {})
    assert [(r.name, r.op) for r in result.resources] == [
        ("app-deployment-nginx", "create"),
        ("app-configmap", "replace"),
    ]
    assert "+ kubernetes:apps/v1:Deployment app-deployment-nginx: is missing" in result.report()


def test_a_change_without_a_detailed_diff_is_named_by_its_reasons():
    provider = (
        "urn:pulumi:dev::posts-infra::posts:platform:Cluster$pulumi:providers:kubernetes"
        "::cluster-k8s"
    )
    changed = step(
        "update",
        provider,
        None,
        old_inputs={"enablePatchForce": "true", "version": "4.34.2"},
        new_inputs={"version": "4.34.2"},
        diffReasons=["enablePatchForce"],
    )
    report = interpret("dev", 7, preview(changed), "", {}).report()
    assert "~ pulumi:providers:kubernetes cluster-k8s" in report
    assert 'enablePatchForce: "true" -> (absent)' in report


def test_no_secret_value_reaches_the_report_or_the_result_file():
    environ = {
        "PULUMI_CONFIG_PASSPHRASE": PLAIN_SECRETS["passphrase"],
        "NOT_A_CREDENTIAL": "plain-setting-value",
        "HOME": "/root",
    }
    message = (
        f"error: refusing {PLAIN_SECRETS['passphrase']} and {PLAIN_SECRETS['GitHub token']}"
        " for plain-setting-value\n"
    )
    diagnostics = [{"urn": MYSQL, "message": message, "severity": "error"}]
    result = interpret("dev", 1, preview(*with_secrets(), diagnostics=diagnostics), "", environ)
    assert result.status == "drift"
    written = result.report() + json.dumps(result.as_json())
    for what, value in PLAIN_SECRETS.items():
        assert value not in written, f"the {what} is in the report"
    assert "data.APP_KEY: [secret] -> (absent) (forces replacement)" in result.report()
    assert 'stringData: (absent) -> {"APP_KEY": "[secret]"}' in result.report()
    assert "password: [secret] -> [secret]" in result.report()
    assert 'tags[0]: "[secret]" -> "posts"' in result.report()
    # the passphrase by its variable, the GitHub token by its shape; an ordinary value stays
    assert "mysql-cluster: refusing [secret] and [secret] for plain-setting-value\n" in (
        result.report()
    )


def test_the_redactor_masks_credential_variables_and_token_shapes_only():
    redact = Redactor.from_environment(
        {"DIGITALOCEAN_TOKEN": "abcdefgh-1234", "APP_FLAG": "abcdefgh", "MY_KEY": "short"}
    )
    assert redact("x abcdefgh-1234 y") == "x [secret] y"
    assert redact("abcdefgh short") == "abcdefgh short"
    assert redact(f"token {PLAIN_SECRETS['GitHub token']}.") == "token [secret]."


def test_no_result_from_the_cli_is_an_error_with_its_message():
    result = interpret("nosuch", 6, "", "error: no stack named 'nosuch' found\n", {})
    assert (result.status, result.exit_code) == ("error", 2)
    assert "no stack named 'nosuch' found" in result.report()
    assert "drift check failed" in result.report()


def test_a_failed_preview_without_changes_is_an_error_not_a_clean_stack():
    diagnostics = [{"message": "error: getting stack: access denied\n", "severity": "error"}]
    result = interpret("dev", 1, preview(diagnostics=diagnostics), "", {})
    assert (result.status, result.exit_code, result.errors) == (
        "error",
        2,
        ("getting stack: access denied",),
    )
    assert interpret("dev", 255, preview(), "", {}).status == "error"


def test_property_paths_are_split_as_the_engine_writes_them():
    assert split_path("spec.replicas") == ["spec", "replicas"]
    assert split_path("rules[1]") == ["rules", 1]
    assert split_path('metadata.labels["app.kubernetes.io/name"].x') == [
        "metadata",
        "labels",
        "app.kubernetes.io/name",
        "x",
    ]
    assert split_path('data["A \\"quoted\\" key"]') == ["data", 'A "quoted" key']


def test_a_result_round_trips_through_its_json():
    result = interpret("dev", 1, preview(scaled_nginx(), widened_firewall()), "", {})
    again = DriftResult.from_json(json.loads(json.dumps(result.as_json())))
    assert again == result
    with pytest.raises(ValueError):
        DriftResult.from_json({"stack": "dev", "status": "maybe"})


# -- the command -----------------------------------------------------------------------------------


@dataclass
class FakePulumi:
    """A stand-in `pulumi` first on PATH: records its argv and cwd, prints a canned result."""

    bin: Path
    output: Path
    exit_file: Path
    record: Path

    def answer(self, stdout: str, returncode: int) -> None:
        self.output.write_text(stdout)
        self.exit_file.write_text(str(returncode))

    def calls(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


FAKE_PULUMI = """#!{python}
import json, os, sys
with open({record!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
sys.stdout.write(open({output!r}).read())
sys.exit(int(open({exit_file!r}).read()))
"""


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> FakePulumi:
    bin_dir = tmp_path / "pulumi-bin"
    bin_dir.mkdir()
    fake = FakePulumi(
        bin_dir, tmp_path / "output.json", tmp_path / "exit", tmp_path / "pulumi-calls.jsonl"
    )
    script = bin_dir / "pulumi"
    script.write_text(
        FAKE_PULUMI.format(
            python=sys.executable,
            record=str(fake.record),
            output=str(fake.output),
            exit_file=str(fake.exit_file),
        )
    )
    script.chmod(0o755)
    return fake


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: posts-infra\nruntime: python\n")
    return directory


def run_drift(
    argv: list[str], path: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(REPO), **(extra_env or {})}
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def test_the_command_runs_the_refreshing_preview_and_writes_the_result(
    fake_pulumi: FakePulumi, project: Path, tmp_path: Path
):
    fake_pulumi.answer(preview(scaled_nginx()), 7)
    result_file = tmp_path / "drift.json"
    done = run_drift(
        [
            sys.executable,
            "-m",
            "ops.drift",
            "dev",
            "--cwd",
            str(project),
            "--json",
            str(result_file),
        ],
        f"{fake_pulumi.bin}{os.pathsep}{os.environ['PATH']}",
    )
    assert done.returncode == 1, done.stderr
    assert "spec.replicas: 1 -> 2" in done.stdout
    (call,) = fake_pulumi.calls()
    assert call["argv"] == preview_command("dev")[1:]
    assert {"--refresh", "--expect-no-changes", "--diff", "--json"} <= set(call["argv"])
    assert call["cwd"] == str(project)
    written = json.loads(result_file.read_text())
    assert (written["stack"], written["status"], written["exitCode"]) == ("dev", "drift", 1)

    fake_pulumi.answer(preview(), 0)
    done = run_drift(
        [sys.executable, "-m", "ops.drift", "dev", "--cwd", str(project)],
        f"{fake_pulumi.bin}{os.pathsep}{os.environ['PATH']}",
    )
    assert (done.returncode, done.stdout) == (
        0,
        "Stack dev: no drift; every resource matches the program.\n",
    )


def test_scripts_drift_runs_the_command(fake_pulumi: FakePulumi, project: Path):
    fake_pulumi.answer(preview(edited_config_map()), 7)
    done = run_drift(
        ["bash", str(REPO / "scripts" / "drift"), "dev", "--cwd", str(project)],
        f"{fake_pulumi.bin}{os.pathsep}{os.environ['PATH']}",
    )
    assert done.returncode == 1, done.stderr
    assert "app-configmap" in done.stdout


def test_the_command_fails_clearly_without_pulumi_a_project_or_a_stack_name(
    project: Path, tmp_path: Path
):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    done = run_drift([sys.executable, "-m", "ops.drift", "dev", "--cwd", str(project)], str(empty))
    assert done.returncode == 2
    assert "`pulumi`) is not on PATH" in done.stderr
    assert "Traceback" not in done.stderr

    done = run_drift([sys.executable, "-m", "ops.drift", "dev", "--cwd", str(tmp_path)], str(empty))
    assert done.returncode == 2, done.stderr
    assert "has no Pulumi.yaml" in done.stderr

    done = run_drift([sys.executable, "-m", "ops.drift", "dev;rm -rf"], str(empty))
    assert done.returncode == 2, done.stderr
    assert "is not a stack name" in done.stderr


# -- the issue -------------------------------------------------------------------------------------

FAKE_GH = r'''#!{python}
"""A stand-in for the GitHub CLI: the few commands ops.drift_issue uses, on a state file."""
import json, os, sys

state_path, log_path = os.environ["FAKE_GH_STATE"], os.environ["FAKE_GH_LOG"]
argv = sys.argv[1:]
stdin = sys.stdin.read() if "-" in argv else ""
with open(log_path, "a") as log:
    log.write(json.dumps({{"argv": argv, "stdin": stdin}}) + "\n")
with open(state_path) as file:
    state = json.load(file)


def fail(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)


if not os.environ.get("GH_TOKEN"):
    fail("To get started with GitHub CLI, please run:  gh auth login", 4)
words, options, flags = [], {{}}, set()
i = 0
while i < len(argv):
    if argv[i] in ("--force",):
        flags.add(argv[i])
        i += 1
    elif argv[i].startswith("--"):
        options.setdefault(argv[i][2:], []).append(argv[i + 1])
        i += 2
    else:
        words.append(argv[i])
        i += 1
command = " ".join(words[:2])
for failure in state.get("failures", []):
    if failure["command"] == command:
        fail(failure["stderr"], failure.get("exit", 1))


def body():
    if "body" in options:
        return options["body"][0]
    source = options["body-file"][0]
    return stdin if source == "-" else open(source).read()


def issue(number):
    for found in state["issues"]:
        if found["number"] == int(number):
            return found
    fail(f"GraphQL: Could not resolve to an issue or pull request with the number of {{number}}.")


if command == "label create":
    name = words[2]
    if name in state["labels"] and "--force" not in flags:
        fail(f"label with name \"{{name}}\" already exists; use `--force` to update")
    state["labels"][name] = {{"color": options.get("color", [""])[0]}}
elif command == "issue list":
    wanted_state = options.get("state", ["open"])[0]
    label = options.get("label", [None])[0]
    fields = options["json"][0].split(",")
    found = [
        {{field: item[field] for field in fields}}
        for item in state["issues"]
        if (wanted_state == "all" or item["state"] == wanted_state)
        and (label is None or label in item["labels"])
    ]
    print(json.dumps(found[: int(options.get("limit", ["30"])[0])]))
elif command == "issue create":
    for label in options.get("label", []):
        if label not in state["labels"]:
            fail(f"could not add label: '{{label}}' not found")
    number = len(state["issues"]) + 1
    state["issues"].append(
        {{
            "number": number,
            "title": options["title"][0],
            "body": body(),
            "state": "open",
            "labels": options.get("label", []),
            "comments": [],
        }}
    )
    print(f"https://github.com/example/posts-infra/issues/{{number}}")
elif command == "issue edit":
    issue(words[2])["body"] = body()
elif command == "issue comment":
    issue(words[2])["comments"].append(body())
elif command == "issue close":
    closed = issue(words[2])
    closed["state"] = "closed"
    if "comment" in options:
        closed["comments"].append(options["comment"][0])
else:
    fail(f"unknown command {{command!r}}")
with open(state_path, "w") as file:
    json.dump(state, file)
'''

RUN_URL = "https://github.com/example/posts-infra/actions/runs/42"
MUTATING = {"label create", "issue create", "issue edit", "issue comment", "issue close"}


@dataclass
class FakeGh:
    bin: Path
    state_file: Path
    log: Path
    token: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "FAKE_GH_STATE": str(self.state_file),
            "FAKE_GH_LOG": str(self.log),
            "GH_TOKEN": self.token,
        }

    def state(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.state_file.read_text())
        return parsed

    def issues(self) -> list[dict[str, Any]]:
        issues: list[dict[str, Any]] = self.state()["issues"]
        return issues

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[str]:
        return [" ".join(w for w in c["argv"][:2]) for c in self.calls()]

    def mutations(self) -> list[str]:
        return [command for command in self.commands() if command in MUTATING]

    def forget_calls(self) -> None:
        self.log.unlink(missing_ok=True)

    def fail(self, command: str, stderr: str) -> None:
        state = self.state()
        state["failures"] = [{"command": command, "stderr": stderr}]
        self.state_file.write_text(json.dumps(state))


@pytest.fixture
def fake_gh(tmp_path: Path) -> FakeGh:
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    script = bin_dir / "gh"
    script.write_text(FAKE_GH.format(python=sys.executable))
    script.chmod(0o755)
    fake = FakeGh(
        bin_dir,
        tmp_path / "gh-state.json",
        tmp_path / "gh-calls.jsonl",
        # Not shaped like a GitHub token, so only the masking of GH_TOKEN's value can hide it.
        "issue-step-token-" + "T" * 32,
    )
    fake.state_file.write_text(json.dumps({"labels": {"bug": {}}, "issues": []}))
    return fake


def report_issue(
    fake: FakeGh,
    result: DriftResult,
    tmp_path: Path,
    run_url: str | None = RUN_URL,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m ops.drift_issue` on `result`, as the workflow's issue step runs it (without
    `--run-url` when `run_url` is None: the link then comes from Actions' variables)."""
    result_file = tmp_path / f"drift-{result.stack}.json"
    result_file.write_text(json.dumps(result.as_json()))
    flags = ["--run-url", run_url] if run_url is not None else []
    return subprocess.run(
        [sys.executable, "-m", "ops.drift_issue", str(result_file), *flags],
        cwd=REPO,
        env={**os.environ, **(env or {}), **fake.env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def drift(stack: str = "dev", *steps: dict[str, Any]) -> DriftResult:
    return interpret(stack, 7, preview(*(steps or (scaled_nginx(),))), "", {})


def clean(stack: str = "dev") -> DriftResult:
    return interpret(stack, 0, preview(), "", {})


def test_drift_opens_one_labelled_issue_with_the_report(fake_gh: FakeGh, tmp_path: Path):
    done = report_issue(fake_gh, drift(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "opened https://github.com/example/posts-infra/issues/1" in done.stdout
    (issue,) = fake_gh.issues()
    assert (issue["title"], issue["labels"], issue["state"]) == ("Drift: dev", [LABEL], "open")
    assert "app-deployment-nginx" in issue["body"] and "spec.replicas: 1 -> 2" in issue["body"]
    assert RUN_URL in issue["body"] and "docs/drift.md" in issue["body"]
    assert LABEL in fake_gh.state()["labels"], "the label is created before it is used"
    assert fake_gh.mutations() == ["label create", "issue create"]


def test_the_same_drift_again_updates_that_issue_without_a_new_one_or_a_comment(
    fake_gh: FakeGh, tmp_path: Path
):
    report_issue(fake_gh, drift(), tmp_path)
    fake_gh.forget_calls()
    done = report_issue(fake_gh, drift(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "same drift, updated #1" in done.stdout
    (issue,) = fake_gh.issues()
    assert issue["comments"] == []
    assert fake_gh.mutations() == ["issue edit"]


def test_a_changed_drift_rewrites_the_body_and_comments_once(fake_gh: FakeGh, tmp_path: Path):
    report_issue(fake_gh, drift(), tmp_path)
    done = report_issue(fake_gh, drift("dev", scaled_nginx(), widened_firewall()), tmp_path)
    assert "drift changed, updated #1 and commented" in done.stdout
    (issue,) = fake_gh.issues()
    assert "mysql-firewall" in issue["body"]
    assert len(issue["comments"]) == 1 and RUN_URL in issue["comments"][0]
    report_issue(fake_gh, drift("dev", scaled_nginx(), widened_firewall()), tmp_path)
    assert len(fake_gh.issues()[0]["comments"]) == 1


def test_a_clean_stack_closes_its_issue_with_a_comment_and_then_does_nothing(
    fake_gh: FakeGh, tmp_path: Path
):
    report_issue(fake_gh, drift(), tmp_path)
    done = report_issue(fake_gh, clean(), tmp_path)
    assert "clean, closed #1" in done.stdout
    (issue,) = fake_gh.issues()
    assert issue["state"] == "closed"
    assert "matches the program again" in issue["comments"][-1]
    fake_gh.forget_calls()
    done = report_issue(fake_gh, clean(), tmp_path)
    assert "clean, no drift issue open" in done.stdout
    assert fake_gh.mutations() == []


def test_drift_after_a_closed_issue_opens_a_new_one(fake_gh: FakeGh, tmp_path: Path):
    report_issue(fake_gh, drift(), tmp_path)
    report_issue(fake_gh, clean(), tmp_path)
    report_issue(fake_gh, drift(), tmp_path)
    assert [(i["number"], i["state"]) for i in fake_gh.issues()] == [(1, "closed"), (2, "open")]


def test_each_stack_has_its_own_issue(fake_gh: FakeGh, tmp_path: Path):
    report_issue(fake_gh, drift("dev"), tmp_path)
    report_issue(fake_gh, drift("prod"), tmp_path)
    report_issue(fake_gh, drift("dev"), tmp_path)
    assert [i["title"] for i in fake_gh.issues()] == ["Drift: dev", "Drift: prod"]
    report_issue(fake_gh, clean("prod"), tmp_path)
    assert [i["state"] for i in fake_gh.issues()] == ["open", "closed"]


def test_only_the_oldest_of_duplicate_issues_is_updated(fake_gh: FakeGh, tmp_path: Path):
    state = fake_gh.state()
    state["labels"][LABEL] = {}
    state["issues"] = [
        {
            "number": n,
            "title": "Drift: dev",
            "body": "",
            "state": "open",
            "labels": [LABEL],
            "comments": [],
        }
        for n in (3, 5)
    ]
    fake_gh.state_file.write_text(json.dumps(state))
    assert "updated #3" in report_issue(fake_gh, drift(), tmp_path).stdout
    assert [bool(i["body"]) for i in fake_gh.issues()] == [True, False]


def test_a_failed_check_leaves_the_issue_alone(fake_gh: FakeGh, tmp_path: Path):
    report_issue(fake_gh, drift(), tmp_path)
    fake_gh.forget_calls()
    failed = interpret("dev", 255, "", "error: could not read the backend\n", {})
    done = report_issue(fake_gh, failed, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "left as it is" in done.stdout
    assert fake_gh.calls() == []
    assert fake_gh.issues()[0]["state"] == "open"


def test_without_run_url_the_link_comes_from_the_actions_run(fake_gh: FakeGh, tmp_path: Path):
    """The workflow's issue step passes no `--run-url`: GitHub Actions' variables give it."""
    actions = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "example/posts-infra",
        "GITHUB_RUN_ID": "4242",
    }
    done = report_issue(fake_gh, drift(), tmp_path, run_url=None, env=actions)
    assert done.returncode == 0, done.stderr
    (issue,) = fake_gh.issues()
    assert "https://github.com/example/posts-infra/actions/runs/4242" in issue["body"]


def test_no_secret_reaches_the_issue(fake_gh: FakeGh, tmp_path: Path):
    environ = {"PULUMI_CONFIG_PASSPHRASE": PLAIN_SECRETS["passphrase"]}
    diagnostics = [{"urn": MYSQL, "message": PLAIN_SECRETS["passphrase"], "severity": "error"}]
    result = interpret("dev", 1, preview(*with_secrets(), diagnostics=diagnostics), "", environ)
    # Even a value that slipped through as plain text is masked if it is the issue step's token.
    slipped = Change("metadata.annotations.token", "add", None, json.dumps(fake_gh.token))
    leaked = Drifted(
        NGINX, "kubernetes:apps/v1:Deployment", "app-deployment-nginx", "update", (slipped,)
    )
    result = DriftResult(result.stack, result.status, (*result.resources, leaked), result.errors)
    done = report_issue(fake_gh, result, tmp_path)
    assert done.returncode == 0, done.stderr
    sent = json.dumps(fake_gh.calls()) + json.dumps(fake_gh.state())
    for what, value in {**PLAIN_SECRETS, "gh token": fake_gh.token}.items():
        assert value not in sent, f"the {what} reached GitHub"
    assert "[secret]" in fake_gh.issues()[0]["body"]


def test_a_huge_report_is_cut_to_githubs_limit(fake_gh: FakeGh, tmp_path: Path):
    many = tuple(
        Drifted(
            f"{NGINX}-{n}",
            "kubernetes:apps/v1:Deployment",
            f"app-deployment-{n}",
            "update",
            (Change("spec.replicas", "update", "1", "2"),),
        )
        for n in range(3000)
    )
    done = report_issue(fake_gh, DriftResult("dev", "drift", many), tmp_path)
    assert done.returncode == 0, done.stderr
    body = fake_gh.issues()[0]["body"]
    assert len(body) <= BODY_LIMIT
    assert "truncated to GitHub's size limit" in body
    assert body.rstrip().endswith("clean again.")


def test_a_failing_gh_is_a_clear_error(fake_gh: FakeGh, tmp_path: Path):
    fake_gh.fail("issue create", "HTTP 403: Resource not accessible by integration")
    done = report_issue(fake_gh, drift(), tmp_path)
    assert done.returncode == 2
    assert "`gh issue create` failed (exit 1): HTTP 403: Resource not accessible" in done.stderr
    assert "Traceback" not in done.stderr
    assert "spec.replicas" not in done.stderr, "the body is not repeated in the error"


def test_gh_without_a_token_or_not_installed_is_a_clear_error(fake_gh: FakeGh, tmp_path: Path):
    fake_gh.token = ""
    done = report_issue(fake_gh, drift(), tmp_path)
    assert done.returncode == 2
    assert "`gh issue list` failed (exit 4): To get started with GitHub CLI" in done.stderr

    result_file = tmp_path / "drift.json"
    result_file.write_text(json.dumps(drift().as_json()))
    env = {**os.environ, "PATH": str(tmp_path / "nowhere")}
    done = subprocess.run(
        [sys.executable, "-m", "ops.drift_issue", str(result_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "the GitHub CLI (`gh`) is not on PATH" in done.stderr


def test_a_missing_or_foreign_result_is_a_clear_error(tmp_path: Path):
    def issue_step(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops.drift_issue", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    done = issue_step(tmp_path / "absent.json")
    assert done.returncode == 2, done.stderr
    assert "no drift result at" in done.stderr
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"stack": "dev", "status": "unknown"}')
    done = issue_step(foreign)
    assert done.returncode == 2, done.stderr
    assert "is not a drift result" in done.stderr


def test_orphans_go_into_the_stacks_issue_even_when_nothing_drifted(
    fake_gh: FakeGh, tmp_path: Path
):
    orphans_file = tmp_path / "orphans.json"
    orphans_file.write_text(
        json.dumps(
            {
                "stack": "dev",
                "status": "orphans",
                "report": "Stack dev: 1 orphan (...)\n- database cluster posts-dev-mysql [abc]\n",
            }
        )
    )
    result_file = tmp_path / "drift-dev.json"
    result_file.write_text(json.dumps(clean().as_json()))
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ops.drift_issue", str(result_file)),
            *("--orphans", str(orphans_file), "--run-url", RUN_URL),
        ],
        cwd=REPO,
        env={**os.environ, **fake_gh.env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (issue,) = fake_gh.issues()
    assert "database cluster posts-dev-mysql [abc]" in issue["body"]
    assert "docs/when-things-go-wrong.md" in issue["body"]
    # None found: a clean stack closes it as before.
    orphans_file.write_text(json.dumps({"stack": "dev", "status": "clean", "report": "none"}))
    done = subprocess.run(
        [sys.executable, "-m", "ops.drift_issue", str(result_file), "--orphans", str(orphans_file)],
        cwd=REPO,
        env={**os.environ, **fake_gh.env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0 and fake_gh.issues()[0]["state"] == "closed"
