"""Has every Deployment of the app finished its rollout? Asked of the cluster, after `pulumi up`.

    ./scripts/rollout-status STACK [--cwd DIR] [--timeout SECONDS]
    python -m ops.rollout_status STACK ...

Why: the Kubernetes provider can end a Deployment's update step before the Deployment
controller has acted (docs/e2e.md, "the provider's early end of a rollout"), so a green `up`
does not prove the release runs. This asks what `kubectl rollout status` asks, for every
Deployment in the stack's state: the controller has seen the latest generation, every replica
runs the latest template and is available, and no pod of an older template is left. It waits
until they all have, or until one has exceeded its progress deadline, or `--timeout` seconds
(default 600, the Deployments' default deadline).

How: the Deployments and the cluster from `pulumi stack export` in DIR (default this
repository), never changing anything; the cluster's endpoint, CA and credential from
DigitalOcean's API (`/v2/kubernetes/clusters/{id}/credentials`, read-only), as `doctl` gets
them. It needs what any `pulumi` command of the stack needs and `DIGITALOCEAN_TOKEN`
(`DIGITALOCEAN_API_URL` when not api.digitalocean.com). The deploy workflows run it after
`pulumi up`.

Exit status: 0 every Deployment rolled out; 1 one or more did not (each named, with where it
stands); 2 it could not ask (the stack not deployed, DigitalOcean or the cluster unreadable).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.digitalocean_api import ReadOnlyApi, quoted, token_from
from ops.cluster_api import CLUSTER_API_ERRORS, ClusterApi
from ops.orphans import REPO, OrphanCheckFailed, pulumi_json

EXIT_ROLLED_OUT, EXIT_NOT_ROLLED_OUT, EXIT_ERROR = 0, 1, 2
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DEFAULT_TIMEOUT_SECONDS = 600  # a Deployment's default progressDeadlineSeconds
POLL_SECONDS = 2.0
DEADLINE_EXCEEDED = "exceeded its progress deadline"


class RolloutStatusError(Exception):
    """The command could not ask (exit 2)."""


@dataclass(frozen=True)
class Target:
    """What to ask: the cluster and the Deployments (namespace, name) of the stack's state."""

    cluster_id: str
    deployments: tuple[tuple[str, str], ...]


def targets_from_state(exported: Mapping[str, Any]) -> Target:
    resources = (exported.get("deployment") or {}).get("resources") or []
    clusters = [r for r in resources if r.get("type") == CLUSTER]
    deployments = []
    for resource in resources:
        if resource.get("type") != DEPLOYMENT:
            continue
        metadata = (resource.get("outputs") or {}).get("metadata") or {}
        deployments.append((str(metadata.get("namespace")), str(metadata.get("name"))))
    if len(clusters) != 1 or not deployments:
        raise RolloutStatusError(
            "the stack's state holds no cluster and Deployments: deploy the stack first"
        )
    return Target(str(clusters[0].get("id")), tuple(sorted(deployments)))


def not_rolled_out(deployment: Mapping[str, Any]) -> str | None:
    """Where a Deployment's rollout stands, or None when it is complete: the conditions of
    `kubectl rollout status`."""
    metadata = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    wanted = int((deployment.get("spec") or {}).get("replicas", 1))
    generation = int(metadata.get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return f"the controller has not yet seen generation {generation}"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == (
            "ProgressDeadlineExceeded"
        ):
            return f"{DEADLINE_EXCEEDED}: {condition.get('message', '')}".strip()
    updated = int(status.get("updatedReplicas") or 0)
    replicas = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < wanted:
        return f"{updated} of {wanted} pods run the latest template"
    if replicas > updated:
        return f"{replicas - updated} pod(s) of an older template still run"
    if available < updated:
        return f"{available} of {updated} updated pods available"
    return None


def deadline_exceeded(state: str | None) -> bool:
    return state is not None and state.startswith(DEADLINE_EXCEEDED)


def wait_for_rollouts(
    read: Callable[[str, str], Mapping[str, Any]],
    deployments: Sequence[tuple[str, str]],
    timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Each Deployment not rolled out (`namespace/name` -> where it stands) once all are, one
    has exceeded its deadline, or `timeout` seconds have passed; empty when all rolled out."""
    deadline = clock() + timeout
    while True:
        pending = {}
        for namespace, name in deployments:
            state = not_rolled_out(read(namespace, name))
            if state is not None:
                pending[f"{namespace}/{name}"] = state
        if not pending or any(map(deadline_exceeded, pending.values())) or clock() >= deadline:
            return pending
        sleep(POLL_SECONDS)


def run(stack: str, cwd: Path, environ: Mapping[str, str], timeout: float) -> dict[str, str]:
    api = ReadOnlyApi.from_environment(environ)
    if not api.has_token:
        raise RolloutStatusError("DIGITALOCEAN_TOKEN is not set")
    try:
        exported = pulumi_json(["stack", "export", "--stack", stack], cwd, environ)
    except OrphanCheckFailed as error:
        raise RolloutStatusError(str(error)) from None
    target = targets_from_state(exported)
    try:
        cluster = ClusterApi.from_digitalocean(api, target.cluster_id, token_from(environ) or "")
    except CLUSTER_API_ERRORS as error:
        raise RolloutStatusError(f"the cluster's credentials: {error}") from None

    def read(namespace: str, name: str) -> Mapping[str, Any]:
        path = f"/apis/apps/v1/namespaces/{quoted(namespace)}/deployments/{quoted(name)}"
        try:
            return dict(cluster.get_json(path))
        except CLUSTER_API_ERRORS as error:
            raise RolloutStatusError(f"the cluster did not answer {path}: {error}") from None

    return wait_for_rollouts(read, target.deployments, timeout)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/rollout-status", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("stack", help="the stack whose Deployments are asked about, e.g. dev")
    parser.add_argument(
        "--cwd", type=Path, default=REPO, help="the Pulumi project (default: this repository)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to wait for the rollouts (default {DEFAULT_TIMEOUT_SECONDS})",
    )
    options = parser.parse_args(argv)
    try:
        pending = run(options.stack, options.cwd, dict(os.environ), options.timeout)
    except RolloutStatusError as error:
        print(f"rollout-status: {error}", file=sys.stderr)
        return EXIT_ERROR
    if not pending:
        print(f"{options.stack}: every Deployment rolled out")
        return EXIT_ROLLED_OUT
    print(f"{options.stack}: not rolled out, although `pulumi up` may have said so:")
    for name, state in sorted(pending.items()):
        print(f"  {name}: {state}")
    print('See docs/when-things-go-wrong.md, "A release that is not rolled out".')
    return EXIT_NOT_ROLLED_OUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
