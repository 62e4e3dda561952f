"""Releasing on the real engine, as an operator does: a new `imageTag`, then `pulumi up`; and
what each workload runs."""

from __future__ import annotations

from tests.e2e.engine.environment import NAMESPACE, StackEnvironment
from tests.e2e.engine.workspace import Run

WORKLOADS = (
    ("deployment", "api"),
    ("deployment", "worker"),
    ("cronjob", "scheduler"),
    ("deployment", "nginx"),
    ("deployment", "frontend"),
)


def images(env: StackEnvironment) -> dict[str, set[str]]:
    """The image of every container of each workload a release rolls."""
    found: dict[str, set[str]] = {}
    for kind, name in WORKLOADS:
        obj = env.kubectl_json("get", kind, name, "-n", NAMESPACE)
        spec = obj["spec"]
        template = (
            spec["jobTemplate"]["spec"]["template"] if kind == "cronjob" else spec["template"]
        )
        found[name] = {c["image"] for c in template["spec"]["containers"]}
    return found


def migrate_jobs(env: StackEnvironment) -> dict[str, str]:
    """name -> uid of every migrate Job in the namespace."""
    listed = env.kubectl_json(
        "get", "jobs", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=migrate"
    )["items"]
    return {job["metadata"]["name"]: job["metadata"]["uid"] for job in listed}


def release(env: StackEnvironment, tag: str, *, check: bool = True) -> Run:
    env.workspace.set_config("imageTag", tag)
    run = env.up(check=check)
    if run.returncode == 0:
        env.release = tag
    return run
