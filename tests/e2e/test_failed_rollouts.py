"""When the cluster, not DigitalOcean, is where it goes wrong (prod stack, real engine): a release
whose servers never start, a Gateway whose load balancer never comes, and a deploy killed
during the rollout. Each fails in bounded time naming what failed, the running release keeps
serving, and the documented way back converges (docs/when-things-go-wrong.md).

The bounds are stack config (rolloutTimeoutSeconds, gatewayTimeoutSeconds), set to seconds here;
the stacks' defaults are 180 s and 600 s against the Kubernetes provider's own 10 minutes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.digitalocean.faults import kill_process_group
from tests.e2e.engine.environment import NAMESPACE, NEVER_READY_TAG, StackEnvironment
from tests.e2e.engine.events import CHANGES, ENDED, STARTED, changes, first, step_events
from tests.e2e.kube.watching import Watch
from tests.e2e.references import (
    route_problems,
    services_without_ready_endpoints,
    unresolved_references,
)
from tests.e2e.releases import images, migrate_jobs, release

SERVERS = ("api", "worker", "nginx", "frontend")
ROLLOUT_TIMEOUT = 15  # seconds: each Deployment's progress deadline; up gives up 15 s later
GATEWAY_TIMEOUT = 20  # seconds


@pytest.fixture
def env(rollouts_env: StackEnvironment) -> Iterator[StackEnvironment]:
    """The deployed stack these scenarios break and mend: a prod stack of their own (group
    `rollouts`). Each test leaves it at a release that succeeded, converged."""
    rollouts_env.ensure_deployed()
    yield rollouts_env
    current = rollouts_env.workspace.pulumi("config", "get", "imageTag").stdout.strip()
    if current != rollouts_env.release:
        release(rollouts_env, rollouts_env.release)


class AvailabilityWatch(Watch):
    """The fewest available pods of each workload's ReplicaSets of one release, watched from a
    thread while something else runs."""

    def __init__(self, env: StackEnvironment, tag: str) -> None:
        super().__init__(env.control_plane.kubeconfig)
        self.tag = tag
        self.fewest: dict[str, int] = {}

    def sample(self) -> None:
        listed = self.list(
            f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets"
            f"?labelSelector=app.kubernetes.io%2Fversion%3D{self.tag}"
        )
        for replica_set in listed:
            owner = replica_set["metadata"]["labels"].get("app.kubernetes.io/name", "")
            available = int(replica_set["status"].get("availableReplicas") or 0)
            self.fewest[owner] = min(self.fewest.get(owner, available), available)


def rollout_state(env: StackEnvironment, run: Any) -> str:
    """What the Deployments and their ReplicaSets and pods say, for a failure's message."""
    lines = [run.describe(3000)]
    for kind in ("deployments", "replicasets", "pods"):
        for item in env.kubectl_json("get", kind, "-n", NAMESPACE)["items"]:
            meta, status = item["metadata"], item.get("status") or {}
            conditions = [
                (c.get("type"), c.get("status"), c.get("reason"))
                for c in status.get("conditions") or []
            ]
            lines.append(
                f"{kind}/{meta['name']} gen={meta.get('generation')}"
                f" rev={meta.get('annotations', {}).get('deployment.kubernetes.io/revision')}"
                f" observed={status.get('observedGeneration')} ready={status.get('readyReplicas')}"
                f" available={status.get('availableReplicas')} phase={status.get('phase')}"
                f" {conditions}"
            )
    return "\n".join(lines)


def replicas(env: StackEnvironment) -> dict[str, int]:
    return {
        name: int(env.kubectl_json("get", "deployment", name, "-n", NAMESPACE)["spec"]["replicas"])
        for name in SERVERS
    }


def generations(env: StackEnvironment) -> dict[str, str]:
    """What an untouched app keeps: each workload's spec but its replica count (the HPA owns
    api's; controllers write their status every minute), and each Service's, ConfigMap's and
    Secret's resourceVersion."""
    found = {}
    selector = "app.kubernetes.io/part-of=posts"
    for kind in ("deployments", "services", "cronjobs", "configmaps", "secrets"):
        for item in env.kubectl_json("get", kind, "-n", NAMESPACE, "-l", selector)["items"]:
            meta, spec = item["metadata"], dict(item.get("spec") or {})
            if kind in ("deployments", "cronjobs"):
                spec.pop("replicas", None)
                found[f"{kind}/{meta['name']}"] = json.dumps(spec, sort_keys=True)
            else:
                found[f"{kind}/{meta['name']}"] = meta["resourceVersion"]
    return found


def name_of(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["labels"]["app.kubernetes.io/name"])


def test_a_release_whose_servers_never_start_fails_in_bounded_time_and_keeps_serving(
    env: StackEnvironment,
) -> None:
    previous, running = env.release, images(env)
    env.workspace.set_config("rolloutTimeoutSeconds", str(ROLLOUT_TIMEOUT))
    env.up()  # the shorter deadline first: the Deployments' progressDeadlineSeconds
    wanted = replicas(env)

    with AvailabilityWatch(env, previous) as watch:
        run = release(env, NEVER_READY_TAG, check=False)
    assert run.returncode != 0
    # Kubernetes's own verdict, for each Deployment the release rolled.
    assert "ProgressDeadlineExceeded" in run.output, run.describe()
    diagnostics = run.output[run.output.rfind("Diagnostics:") :]
    failed = {name for name in SERVERS if f"Deployment (app-deployment-{name}):" in diagnostics}
    # Each Deployment is reported failed, as a rule. Now and then the Kubernetes provider reports
    # one complete within half a second while its new pods are never ready (its awaiter can take
    # the apply's own event, before the controller acts, for a finished rollout; docs/e2e.md):
    # never the same one, never all.
    assert failed, rollout_state(env, run)
    # Bounded: the migration (held 4 s), then each rollout's deadline and 15 s; not 10 minutes.
    assert run.seconds < 3 * (ROLLOUT_TIMEOUT + 15) + 30, run.seconds
    # The scheduler's CronJob, which has no rollout of its own to fail, moves only after the api
    # and the worker were reported rolled out: it stayed on the release when either failed.
    steps = step_events(run.events)
    scheduler = first(steps, "app-cronjob-scheduler", STARTED, CHANGES)
    if failed & {"api", "worker"}:
        assert scheduler is None and images(env)["scheduler"] == running["scheduler"]
    else:
        for name in ("api", "worker"):
            ended = first(steps, f"app-deployment-{name}", ENDED)
            assert scheduler and ended and ended.sequence < scheduler.sequence, name
    # The previous release kept every pod it had: never fewer available than wanted.
    assert watch.samples > 5
    assert {name: watch.fewest.get(name, 0) >= wanted[name] for name in SERVERS} == dict.fromkeys(
        SERVERS, True
    ), (watch.fewest, wanted)
    never_ready = env.kubectl_json(
        "get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/version={NEVER_READY_TAG}"
    )["items"]
    servers = {
        p["metadata"]["name"]: [
            (c.get("ready"), c.get("state", {}).get("waiting", {}).get("reason"))
            for c in p["status"].get("containerStatuses") or []
        ]
        for p in never_ready
        if p["metadata"]["labels"]["app.kubernetes.io/name"] in SERVERS
    }
    assert servers, "the release made no pod"
    assert all(states == [(False, "CrashLoopBackOff")] for states in servers.values()), servers
    # The cluster's own answer, whatever the provider reported (scripts/rollout-status, which
    # the deploy workflows run after `up`): every server of the release is named.
    stuck = env.workspace.operator("rollout-status", "--timeout", "30")
    assert stuck.returncode == 1, stuck.describe()
    assert {name for name in SERVERS if f"{NAMESPACE}/{name}: " in stuck.stdout} == set(SERVERS), (
        stuck.stdout
    )

    # Rolling back by imageTag restores everything.
    release(env, previous)
    rolled_back = env.workspace.operator("rollout-status", "--timeout", "120")
    assert rolled_back.returncode == 0, rolled_back.describe()
    assert images(env) == running
    assert migrate_jobs(env).keys() == {f"migrate-{previous}"}
    left = env.kubectl_json(
        "get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/version={NEVER_READY_TAG}"
    )["items"]
    # No server of the failed release is left. When the CronJob had moved (the provider's race
    # above), a scheduler run it started on that release may still be running, as on a real
    # cluster: its Job ends by its own deadline, and the CronJob starts no new one of that tag.
    assert [p["metadata"]["name"] for p in left if name_of(p) != "scheduler"] == []
    for pod in left:
        (owner,) = pod["metadata"]["ownerReferences"]
        assert owner["kind"] == "Job", pod["metadata"]["name"]
        job = env.kubectl_json("get", "job", owner["name"], "-n", NAMESPACE)
        assert job["spec"]["activeDeadlineSeconds"] <= 300, owner["name"]
    env.workspace.remove_config("rolloutTimeoutSeconds")
    env.up()
    env.workspace.pulumi("preview", "--expect-no-changes")


def test_a_gateway_whose_load_balancer_never_comes_fails_with_its_reason_and_spares_the_app(
    env: StackEnvironment,
) -> None:
    """The account is at its load-balancer limit when the Gateway must be made again (here:
    it was deleted by hand). The cloud controller's request is refused; the Gateway stays
    Programmed=False with DigitalOcean's message; `up` fails in bounded time naming the
    Gateway; nothing of the application changes. Once a load balancer is free, `up`
    converges."""
    lb_name = f"posts-{env.stack}-gateway"
    env.workspace.set_config("gatewayTimeoutSeconds", str(GATEWAY_TIMEOUT))
    env.up()
    app = generations(env)
    env.standin.behaviour(load_balancer_limit=0)
    try:
        env.kubectl("delete", "gateway", "posts", "-n", NAMESPACE)
        env.wait_for(
            "the Gateway's load balancer deleted",
            lambda: lb_name not in {b["name"] for b in env.standin.state()["load_balancers"]},
        )
        run = env.up("--refresh", check=False)
        assert run.returncode != 0
        assert "edge-gateway" in run.output
        assert run.seconds < GATEWAY_TIMEOUT + 60, run.seconds
        gateway = env.kubectl_json("get", "gateway", "posts", "-n", NAMESPACE)
        (programmed,) = [c for c in gateway["status"]["conditions"] if c["type"] == "Programmed"]
        assert (programmed["status"], programmed["reason"]) == ("False", "AddressNotAssigned")
        assert "exceed your load balancer limit" in programmed["message"]
        # The provider names the Gateway and the condition it waited for, but not the
        # condition's message (pulumi/pulumi-kubernetes#4428): the reason is on the Gateway.
        assert "Resource has condition Programmed=False (want True)" in run.output
        assert generations(env) == app, "the application was touched"
    finally:
        env.standin.behaviour(load_balancer_limit=None)
    env.up()
    assert lb_name in {b["name"] for b in env.standin.state()["load_balancers"]}
    env.workspace.remove_config("gatewayTimeoutSeconds")
    env.up()
    env.workspace.pulumi("preview", "--expect-no-changes")


def test_a_deploy_killed_during_the_rollout_is_recovered(env: StackEnvironment) -> None:
    """A runner dies while a release rolls out (SIGKILL to the CLI's whole process group): the
    next `up` meets the lock; after `pulumi cancel`, the documented recovery and `up` converge,
    and nothing is orphaned in DigitalOcean."""
    previous = env.release
    tag = "e7f8a9b"
    env.workspace.set_config("imageTag", tag)
    running = env.workspace.start("up", "--yes", "--skip-preview")
    env.wait_for(
        "the release's migration running",
        lambda: f"migrate-{tag}" in migrate_jobs(env),
        timeout=120,
    )
    kill_process_group(running)

    locked = env.up(check=False)
    assert locked.returncode != 0 and "the stack is currently locked" in locked.output
    env.workspace.pulumi("cancel", "--yes")
    recovered = env.workspace.operator("recover")
    assert recovered.returncode == 0, recovered.describe()
    # It names the next commands: an `up` that adopts what the killed deploy sent to the
    # cluster, then a plain one that takes the switch out of the provider's inputs again.
    (next_line,) = [line for line in recovered.stdout.splitlines() if line.startswith("Next: ")]
    assert re.findall(r"`([^`]+)`", next_line)[:2] == [
        f"PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true pulumi up --stack {env.stack}",
        f"pulumi up --stack {env.stack}",
    ]
    finished = env.up(env={"PULUMI_K8S_UPSERT_EXISTING_OBJECTS": "true"})
    env.up()
    assert changes(finished.events), "the release had not finished"
    env.release = tag
    assert {image.rsplit(":", 1)[1] for used in images(env).values() for image in used} == {tag}
    env.workspace.pulumi("preview", "--expect-no-changes")
    assert env.workspace.operator("orphans").returncode == 0
    release(env, previous)


def test_the_reference_checks_catch_a_release_that_breaks_a_reference(
    env: StackEnvironment,
) -> None:
    """Proof that the checks of tests/e2e/references.py can fail: a program whose Secret is
    renamed (the pods still read `posts`), whose Services select no pod, and whose frontend
    route names a Service that does not exist. kwok runs such pods all the same; the checks
    name each break. The stack is put back afterwards."""
    with (
        env.program_variant(
            "components/app/application.py",
            'metadata=app.meta(SECRET, "config")',
            'metadata=app.meta("posts-renamed", "config")',
        ),
        env.program_variant(
            "components/app/workloads/deployments.py",
            '"selector": selector(workload),',
            '"selector": {**selector(workload), "posts.env/broken": "yes"},',
        ),
        env.program_variant(
            "components/app/edge.py",
            '_route("frontend", "/", "frontend-service"',
            '_route("frontend", "/", "frontend-gone"',
        ),
    ):
        env.workspace.set_config("imageTag", "b0b0b0b")
        env.up()
    try:
        assert any(
            p.endswith("Secret posts/posts does not exist") for p in unresolved_references(env)
        ), unresolved_references(env)
        assert {
            "Service posts/api-service has no ready endpoint",
            "Service posts/nginx-service has no ready endpoint",
            "Service posts/frontend-service has no ready endpoint",
        } <= set(services_without_ready_endpoints(env))
        broken = env.wait_for("the broken route reported", lambda: route_problems(env))
        assert any("frontend: ResolvedRefs=False (BackendNotFound" in p for p in broken), broken
    finally:
        release(env, env.release)
    assert unresolved_references(env) == []
    env.wait_for("the endpoints back", lambda: not services_without_ready_endpoints(env))
    env.wait_for("the routes back", lambda: not route_problems(env))
    env.workspace.pulumi("preview", "--expect-no-changes")
