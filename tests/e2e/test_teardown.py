"""Deleting a stack on the real engine: refused while protected; after the documented unprotect
step, nothing is left in DigitalOcean (the stand-in) or in the cluster."""

from __future__ import annotations

from tests.e2e.engine.environment import NAMESPACE, StackEnvironment


def test_destroy_is_refused_for_protected_resources_and_deletes_nothing(
    env: StackEnvironment,
) -> None:
    env.ensure_deployed()
    digitalocean_before = env.standin.state()
    objects_before = env.app_objects()
    run = env.workspace.pulumi("destroy", "--yes", "--skip-preview", check=False)
    assert run.returncode != 0
    assert "protect" in run.output
    assert env.standin.state() == digitalocean_before
    assert env.app_objects() == objects_before


def test_destroy_after_unprotecting_leaves_nothing(env: StackEnvironment) -> None:
    env.ensure_deployed()
    # docs/operations.md, "Deleting a stack": lift the protection (without the policy pack,
    # which forbids exactly that), then destroy.
    env.workspace.set_config("protectResources", "false")
    env.up()
    since = len(env.standin.requests())
    env.workspace.pulumi("destroy", "--yes", "--skip-preview")
    # DigitalOcean takes its time to delete: the VPC still had members (the cluster and the
    # databases on their way out) when the provider first asked, and its retry carried it.
    vpc_deletes = [
        r["status"]
        for r in env.standin.requests()[since:]
        if r["method"] == "DELETE" and r["path"].startswith("/v2/vpcs/")
    ]
    assert vpc_deletes[0] == 403 and vpc_deletes[-1] == 204, vpc_deletes
    env.forget_deployment()
    env.workspace.remove_config("protectResources")

    assert env.workspace.resources() == []
    assert all(not resources for resources in env.standin.state().values())
    assert env.app_objects() == []
    namespaces = env.kubectl_json("get", "namespaces")["items"]
    assert NAMESPACE not in {ns["metadata"]["name"] for ns in namespaces}
