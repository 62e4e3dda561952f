"""A new stack on the real engine: preview, first `up`, and nothing to change afterwards."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from offline.simulate import run_stack
from tests.e2e.engine.environment import NAMESPACE, StackEnvironment, stack_setting
from tests.e2e.engine.toolchain import REPO
from tests.e2e.references import (
    route_problems,
    services_without_ready_endpoints,
    unresolved_references,
)

# Registered by the engine itself, not by the program: the stack and the default providers
# (the engine's own `pulumi` provider keeps the destroy guard's Stash).
ENGINE_OWN = {"pulumi:pulumi:Stack", "pulumi:providers:digitalocean", "pulumi:providers:pulumi"}


def program_resources(stack: str) -> set[tuple[str, str]]:
    """(type, name) of everything the program registers, from the offline run under mocks."""
    return {(r.type, r.name) for r in run_stack(stack).registrations}


def urn_type_and_name(urn: str) -> tuple[str, str]:
    qualified_type, name = urn.split("::")[-2:]
    return qualified_type.rsplit("$", 1)[-1], name


def documented_outputs() -> set[str]:
    architecture = (REPO / "docs" / "architecture.md").read_text()
    sentence = architecture[architecture.index("Stack outputs:") :].split("\n\n", 1)[0]
    sentence = sentence.split("No password", 1)[0]
    return set(re.findall(r"`([A-Za-z]+)`", sentence))


def test_preview_of_a_new_stack_with_only_the_required_secrets_lists_every_resource(
    env: StackEnvironment,
) -> None:
    workspace = env.new_workspace("preview-new-stack")
    workspace.init_stack()
    changed_before = len(env.standin.mutations())
    run = workspace.pulumi("preview", "--json")
    steps = json.loads(run.stdout)["steps"]
    listed = {urn_type_and_name(step["urn"]) for step in steps}
    assert {step["op"] for step in steps} == {"create"}
    assert {t for t, _ in listed - program_resources(env.stack)} <= ENGINE_OWN
    assert program_resources(env.stack) <= listed
    assert env.standin.mutations()[changed_before:] == [], "a preview changed DigitalOcean"


def test_up_creates_everything_and_the_application_runs(env: StackEnvironment) -> None:
    run = env.ensure_deployed()  # fails the test if `pulumi up` fails
    assert "$PATH" not in run.output, "a plugin was taken from PATH (test_what_ran.py)"
    recorded = {urn_type_and_name(r["urn"]) for r in env.workspace.resources()}
    assert program_resources(env.stack) <= recorded
    assert {t for t, _ in recorded - program_resources(env.stack)} <= ENGINE_OWN

    deployments = env.kubectl_json("get", "deployments", "-n", NAMESPACE)["items"]
    assert {d["metadata"]["name"] for d in deployments} == {"api", "nginx", "worker", "frontend"}
    for deployment in deployments:
        status = deployment["status"]
        assert status.get("availableReplicas") == deployment["spec"]["replicas"], deployment[
            "metadata"
        ]["name"]
    # The HPA (no metrics here) raises api from the Deployment's default 1 to its minimum.
    minimum = int(stack_setting(env.stack, "apiMinReplicas"))
    env.wait_for(
        f"api at the HPA minimum of {minimum} available pods",
        lambda: (
            env.kubectl_json("get", "deployment", "api", "-n", NAMESPACE)["status"].get(
                "availableReplicas"
            )
            == minimum
        ),
    )
    job = env.kubectl_json("get", "job", f"migrate-{env.release}", "-n", NAMESPACE)
    assert job["status"].get("succeeded") == 1

    outputs = env.workspace.outputs(show_secrets=True)
    assert set(outputs) == documented_outputs()
    cluster = env.standin.state()["kubernetes_clusters"][0]
    assert outputs["clusterId"] == cluster["id"]
    assert outputs["clusterName"] == f"posts-{env.stack}"
    assert outputs["release"] == env.release
    assert outputs["namespace"] == NAMESPACE
    # The Gateway's address is its load balancer's, as DigitalOcean's API gave it to the cloud
    # controller (tests/e2e/kube/gateway_controller.py), named by the Gateway's annotation.
    (balancer,) = [
        b
        for b in env.standin.state()["load_balancers"]
        if b["name"] == f"posts-{env.stack}-gateway"
    ]
    assert f"k8s:{cluster['id']}" in balancer["tags"]
    assert outputs["publicAddress"] == balancer["ip"]
    assert outputs["url"] == f"http://{balancer['ip']}"
    assert outputs["kubernetesVersion"].startswith("1.36.")
    assert_kubeconfigs(env, outputs["kubeconfig"], cluster["id"])


def assert_kubeconfigs(env: StackEnvironment, exported: str, cluster_id: str) -> None:
    ca = base64.b64encode(env.control_plane.ca_pem).decode()
    # The exported kubeconfig: endpoint, CA and doctl's exec credential for this cluster.
    config = json.loads(exported)
    (cluster,) = config["clusters"]
    assert cluster["cluster"] == {
        "server": env.control_plane.endpoint,
        "certificate-authority-data": ca,
    }
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "doctl"
    assert user["user"]["exec"]["args"][-1] == cluster_id
    assert env.token not in exported

    # The provider's kubeconfig: the same endpoint and CA, the DigitalOcean token as bearer.
    state = json.loads(env.workspace.pulumi("stack", "export", "--show-secrets").stdout)
    (provider,) = [
        r for r in state["deployment"]["resources"] if r["type"] == "pulumi:providers:kubernetes"
    ]
    provider_config = json.loads(_plain(provider["inputs"]["kubeconfig"]))
    assert provider_config["clusters"][0]["cluster"]["server"] == env.control_plane.endpoint
    assert provider_config["users"][0]["user"] == {"token": env.token}


def _plain(value: Any) -> str:
    """A secret as `stack export --show-secrets` writes it, or the value itself."""
    if isinstance(value, dict) and "plaintext" in value:
        return str(json.loads(value["plaintext"]))
    return str(value)


def test_no_changes_right_after_up_nor_after_refresh(env: StackEnvironment) -> None:
    env.ensure_deployed()
    env.workspace.pulumi("preview", "--expect-no-changes", "--diff")
    # The refresh in memory, as the drift check and CI's previews run it: what DigitalOcean and
    # the API server hold now, compared with the program.
    env.workspace.pulumi("preview", "--refresh", "--expect-no-changes", "--diff")


def test_every_reference_resolves_every_service_has_ready_endpoints_every_route_attaches(
    env: StackEnvironment,
) -> None:
    """What kwok cannot show (tests/e2e/references.py): the Secrets and ConfigMaps the pods
    read exist with their keys, each Service has ready endpoints, each route is accepted by the
    Gateway and attached to its listener."""
    env.ensure_deployed()
    assert unresolved_references(env) == []
    env.wait_for(
        "every Service with a ready endpoint", lambda: not services_without_ready_endpoints(env)
    )
    env.wait_for("every route accepted and attached", lambda: not route_problems(env))
    routes = env.kubectl_json("get", "httproutes", "-n", NAMESPACE)["items"]
    assert {r["metadata"]["name"] for r in routes} == {"api", "frontend"}
