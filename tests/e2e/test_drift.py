"""Drift on the real engine: a change made behind Pulumi's back on each side, what the drift
command says about it, and what `pulumi up --refresh` does about it (docs/drift.md).

Each scenario starts from a clean check of the deployed dev stack, makes out-of-band changes,
runs the drift command as an operator does (`scripts/drift dev` in the stack's project copy,
with its environment), then `pulumi up --refresh --yes --skip-preview` (what the deploy
workflows run: the Pulumi action's `up` skips the preview), looks at the live object, and ends
with a clean check: the stack is left as it was found.

What the engine does here (pulumi-kubernetes built from 94977969, 4.33.0's changes, which
applies with server-side apply):

- `kubectl patch deployment nginx` (replicas 1): detected, and corrected in place: Pulumi's
  apply takes over fields that kubectl wrote to the object itself (field managers `kubectl*`).
- `kubectl scale deployment nginx --replicas=1`: detected (`spec.replicas: 1 -> 2`), NOT
  corrected. kubectl now owns `.spec.replicas` (field manager `kubectl`, subresource `scale`),
  Pulumi applies without forcing, and the API server refuses: "Apply failed with 1 conflict:
  conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas". Open upstream:
  https://github.com/pulumi/pulumi-kubernetes/issues/2404 ("Unable to correct drift with
  `pulumi up --refresh` after external changes"). Once Pulumi has applied the object itself
  (after any update), the drift check's own preview stops on the same conflict; the command
  still reports the drift and the conflict. The operator's way out, asserted below: one
  `pulumi up --refresh` with PULUMI_K8S_ENABLE_PATCH_FORCE=true takes the field back, then one
  plain `pulumi up --refresh` takes the switch out of the provider's inputs again.
- an edited value in the `posts` ConfigMap: detected, and corrected by REPLACING the ConfigMap
  (pulumi-kubernetes treats ConfigMap data as immutable): a new object, a new uid. Running pods
  keep the values they started with until they restart.
- a rule added to the MySQL firewall (the stand-in's API, as in DigitalOcean's console):
  detected (`rules[1]: {"type": "ip_addr", ...} -> (absent)`), corrected in place.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.e2e.engine.environment import NAMESPACE, StackEnvironment, stack_setting
from tests.e2e.engine.toolchain import REPO
from tests.e2e.engine.workspace import PASSPHRASE, REQUIRED_SECRETS

DRIFT = REPO / "scripts" / "drift"
EXTRA_SOURCE = "203.0.113.7"  # TEST-NET-3: a documentation address, reachable by no one
FORCE = {"PULUMI_K8S_ENABLE_PATCH_FORCE": "true"}
_checks = itertools.count(1)


@dataclass
class DriftCheck:
    """One run of the drift command: its exit status, its report, its result file."""

    returncode: int
    stdout: str
    stderr: str
    result: dict[str, Any]

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"

    def resource(self, name: str) -> dict[str, Any]:
        found = [r for r in self.result["resources"] if r["name"] == name]
        assert len(found) == 1, f"{name} is not reported once:\n{self.describe()}"
        return found[0]

    def names(self) -> set[str]:
        return {r["name"] for r in self.result["resources"]}


def check_drift(env: StackEnvironment) -> DriftCheck:
    """`scripts/drift <stack> --json FILE` as an operator runs it against this stack."""
    workspace = env.workspace
    number = next(_checks)
    result_file = workspace.logs / f"drift-{number:03d}.json"
    done = subprocess.run(
        [
            "bash",
            str(DRIFT),
            env.stack,
            "--cwd",
            str(workspace.project),
            "--json",
            str(result_file),
        ],
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result_file.is_file(), (
        f"no result written: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    check = DriftCheck(
        done.returncode, done.stdout, done.stderr, json.loads(result_file.read_text())
    )
    (workspace.logs / f"drift-{number:03d}.log").write_text(check.describe())
    printed = done.stdout + done.stderr + result_file.read_text()
    for secret in [env.token, PASSPHRASE, *REQUIRED_SECRETS.values()]:
        assert secret not in printed, "the drift command printed a secret"
    return check


def assert_clean(env: StackEnvironment) -> None:
    check = check_drift(env)
    assert check.returncode == 0, check.describe()
    assert check.result["status"] == "clean"


def nginx(env: StackEnvironment) -> dict[str, Any]:
    deployment: dict[str, Any] = env.control_plane.kubectl_json(
        "get", "deployment", "nginx", "-n", NAMESPACE, "--show-managed-fields"
    )
    return deployment


def replicas_managers(deployment: dict[str, Any]) -> set[str]:
    """The field managers that own `.spec.replicas`."""
    return {
        entry["manager"]
        for entry in deployment["metadata"].get("managedFields") or []
        if "f:replicas" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    }


def mysql(env: StackEnvironment) -> dict[str, Any]:
    (database,) = [d for d in env.standin.state()["databases"] if d["engine"] == "mysql"]
    return database


def rules(database: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((rule["type"], rule["value"]) for rule in database["firewall_rules"])


@contextlib.contextmanager
def api_pods_pending(env: StackEnvironment) -> Iterator[None]:
    """api's pods deleted while every node is cordoned: their replacements wait Pending, and the
    Deployment is not available (as during a scale-up that waits for a node). Nothing Pulumi
    manages is changed. Afterwards the nodes take pods again and api is available."""
    nodes = env.kubectl("get", "nodes", "-o", "name").stdout.split()
    env.kubectl("cordon", *nodes)
    try:
        env.kubectl("delete", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=api")
        env.wait_for(
            "api not available",
            lambda: (
                not env.kubectl_json("get", "deployment", "api", "-n", NAMESPACE)["status"].get(
                    "availableReplicas"
                )
            ),
        )
        yield
    finally:
        env.kubectl("uncordon", *nodes)
        env.kubectl("rollout", "status", "deployment/api", "-n", NAMESPACE, "--timeout=120s")


def test_changes_on_both_sides_are_drift_that_up_refresh_corrects(
    drift_env: StackEnvironment,
) -> None:
    """In one round, as they would pile up between two daily checks: nginx patched with kubectl,
    a value edited in the ConfigMap, a rule added to the MySQL firewall in DigitalOcean. First,
    a Deployment that is only not ready is no drift."""
    env = drift_env
    env.ensure_deployed()
    with api_pods_pending(env):
        # Not ready is not drift: the provider's refresh finds api unready, and the engine plans
        # an update with no changed property for it; the verdict stays clean, api listed apart.
        check = check_drift(env)
        assert (check.returncode, check.result["status"]) == (0, "clean"), check.describe()
        assert [r["name"] for r in check.result["notReady"]] == ["app-deployment-api"]
        assert "Not ready at the time of the check" in check.stdout
    assert_clean(env)
    declared_replicas = int(stack_setting(env.stack, "nginxReplicas"))
    config_before = env.kubectl_json("get", "configmap", "posts", "-n", NAMESPACE)
    declared_level = config_before["data"]["LOG_LEVEL"]
    edited_level = "debug" if declared_level != "debug" else "info"
    database = mysql(env)
    declared_rules = rules(database)
    assert ("ip_addr", EXTRA_SOURCE) not in declared_rules

    patch = json.dumps({"spec": {"replicas": 1}})
    env.kubectl("patch", "deployment", "nginx", "-n", NAMESPACE, "--type", "merge", "-p", patch)
    edit = json.dumps({"data": {"LOG_LEVEL": edited_level}})
    env.kubectl("patch", "configmap", "posts", "-n", NAMESPACE, "--type", "merge", "-p", edit)
    env.standin.add_firewall_rule(database["id"], "ip_addr", EXTRA_SOURCE)
    try:
        found = check_drift(env)
        assert found.returncode == 1, found.describe()
        assert found.names() == {"app-deployment-nginx", "app-configmap", "mysql-firewall"}

        # nginx: kubectl's own write to the object, which Pulumi's next apply takes back.
        assert "kubectl-patch" in replicas_managers(nginx(env))
        (change,) = found.resource("app-deployment-nginx")["changes"]
        assert (change["path"], change["live"], change["program"]) == (
            "spec.replicas",
            "1",
            str(declared_replicas),
        )
        assert (change["note"], change["conflict"]) == (
            "set by kubectl-patch: Pulumi takes the field back",
            False,
        )
        # The ConfigMap: its data counts as immutable, so the way back is a replacement.
        config_map = found.resource("app-configmap")
        assert (config_map["type"], config_map["op"]) == ("kubernetes:core/v1:ConfigMap", "replace")
        assert config_map["changes"] == [
            {
                "path": "data.LOG_LEVEL",
                "kind": "update-replace",
                "live": json.dumps(edited_level),
                "program": json.dumps(declared_level),
                "note": None,
                "conflict": False,
            }
        ]
        # The firewall: the extra rule is there live, not in the program.
        firewall = found.resource("mysql-firewall")
        assert firewall["type"] == "digitalocean:index/databaseFirewall:DatabaseFirewall"
        assert firewall["op"] == "update"
        (change,) = firewall["changes"]
        assert (change["kind"], change["program"]) == ("delete", None)
        assert json.loads(change["live"]) == {"type": "ip_addr", "value": EXTRA_SOURCE}
        assert "~ digitalocean:index:DatabaseFirewall mysql-firewall" in found.stdout

        env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview")
        live = nginx(env)
        assert live["spec"]["replicas"] == declared_replicas
        assert "kubectl-patch" not in replicas_managers(live)
        config_after = env.kubectl_json("get", "configmap", "posts", "-n", NAMESPACE)
        assert config_after["data"] == config_before["data"]
        assert config_after["metadata"]["uid"] != config_before["metadata"]["uid"], "patched"
        assert rules(mysql(env)) == declared_rules
        assert_clean(env)
    finally:  # a failure above: put everything back
        if rules(mysql(env)) != declared_rules:
            env.standin.api(
                "PUT",
                f"/v2/databases/{database['id']}/firewall",
                {"rules": [{"type": kind, "value": value} for kind, value in declared_rules]},
            )
        live_config = env.kubectl_json("get", "configmap", "posts", "-n", NAMESPACE)
        if live_config["data"] != config_before["data"]:
            restore = json.dumps({"data": config_before["data"]})
            env.kubectl(
                "patch", "configmap", "posts", "-n", NAMESPACE, "--type", "merge", "-p", restore
            )
        if nginx(env)["spec"]["replicas"] != declared_replicas:
            with contextlib.suppress(Exception):
                env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview", env=FORCE)
            with contextlib.suppress(Exception):
                env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview")


def test_a_scaled_deployment_is_drift_that_up_refresh_cannot_undo_without_forcing(
    drift_env: StackEnvironment,
) -> None:
    env = drift_env
    env.ensure_deployed()
    assert_clean(env)
    declared = int(stack_setting(env.stack, "nginxReplicas"))
    assert nginx(env)["spec"]["replicas"] == declared != 1
    env.kubectl("scale", "deployment", "nginx", "-n", NAMESPACE, "--replicas=1")
    try:
        found = check_drift(env)
        assert found.returncode == 1, found.describe()
        assert found.names() == {"app-deployment-nginx"}, found.describe()
        deployment = found.resource("app-deployment-nginx")
        assert (deployment["type"], deployment["op"]) == ("kubernetes:apps/v1:Deployment", "update")
        assert deployment["changes"] == [
            {
                "path": "spec.replicas",
                "kind": "update",
                "live": "1",
                "program": str(declared),
                "note": "owned by kubectl via the scale subresource: the apply conflicts",
                "conflict": True,
            }
        ]
        assert f"spec.replicas: 1 -> {declared} [owned by kubectl" in found.stdout

        # pulumi-kubernetes#2404: the apply stops on kubectl's ownership of the field.
        up = env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview", check=False)
        assert up.returncode != 0, up.describe()
        assert "server-side apply field conflict" in up.output, up.describe()
        assert 'conflict with "kubectl" with subresource "scale"' in up.output
        assert ".spec.replicas" in up.output
        assert nginx(env)["spec"]["replicas"] == 1, "the failed up changed the Deployment"
        assert "kubectl" in replicas_managers(nginx(env))
        # The object is Pulumi's (server-side apply) now: the check's own preview conflicts
        # too, and the command still names the drift, and the conflict.
        again = check_drift(env)
        assert again.returncode == 1, again.describe()
        assert again.names() == {"app-deployment-nginx"}
        assert any("apply conflict" in error for error in again.result["errors"])
        assert "server-side apply conflict" in again.stdout

        # docs/drift.md: one forced run takes the field back...
        env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview", env=FORCE)
        live = nginx(env)
        assert live["spec"]["replicas"] == declared
        assert "kubectl" not in replicas_managers(live)
        # ...and leaves the switch in the provider's inputs, which a plain run takes out.
        forced = check_drift(env)
        assert forced.returncode == 1, forced.describe()
        provider = forced.resource("cluster-k8s")
        assert provider["type"] == "pulumi:providers:kubernetes"
        assert [c["path"] for c in provider["changes"]] == ["enablePatchForce"]
        env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview")
        assert nginx(env)["spec"]["replicas"] == declared
        assert_clean(env)
    finally:
        if nginx(env)["spec"]["replicas"] != declared:  # a failure above: put it back
            with contextlib.suppress(Exception):
                env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview", env=FORCE)
            with contextlib.suppress(Exception):
                env.workspace.pulumi("up", "--refresh", "--yes", "--skip-preview")
