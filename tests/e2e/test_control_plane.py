"""The local control plane the end-to-end suite deploys to: it starts fast, authenticates like
DOKS, has DOKS-sized nodes with DOKS's own pods, runs workloads, simulates the migration Job's
hold and failure and Cilium's Gateway status, and leaves nothing behind when stopped.

These tests run in file order on one control plane; the last one stops it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model import catalog
from tests.e2e.engine.processes import wait_until
from tests.e2e.engine.toolchain import Toolchain
from tests.e2e.kube.controlplane import LocalControlPlane

NODE_SIZE = "s-2vcpu-4gb"  # dev's nodeSize
NODE_COUNT = 2  # dev's maxNodes
HOLD_SECONDS = 4.0  # the default hold of migrate pods
FAILING_TAG = "badc0de"
NAMESPACE = "cp-test"


@pytest.fixture(scope="module")
def control_plane(
    toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalControlPlane]:
    kube_dir = toolchain.kube_bin_dir.parent  # the toolchain fixture fails if any is missing
    plane = LocalControlPlane(
        kube_dir,
        tmp_path_factory.mktemp("control-plane"),
        "dop_v1_" + "e2e0" * 16,
        failing_migrate_tags=[FAILING_TAG],
    )
    with plane:
        plane.add_nodes(NODE_SIZE, NODE_COUNT)
        plane.kubectl("create", "namespace", NAMESPACE)
        yield plane


def _job(name: str, workload: str, version: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": workload, "app.kubernetes.io/version": version}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": workload, "image": "example.invalid/php:1"}],
                },
            },
        },
    }


def _job_condition(plane: LocalControlPlane, name: str) -> str | None:
    job = plane.kubectl_json("get", "job", name, "-n", NAMESPACE)
    for condition in job.get("status", {}).get("conditions", []):
        if condition["type"] in ("Complete", "Failed") and condition["status"] == "True":
            return str(condition["type"])
    return None


def test_starts_in_seconds(control_plane: LocalControlPlane) -> None:
    rss = control_plane.rss_mib()
    print(
        f"\ncontrol plane started in {control_plane.start_seconds:.1f} s;"
        f" RSS {sum(rss.values()):.0f} MiB: "
        + ", ".join(f"{name} {mib:.0f}" for name, mib in sorted(rss.items()))
    )
    assert control_plane.start_seconds < 30
    assert control_plane.endpoint.startswith("https://127.0.0.1:")
    assert control_plane.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_everything_listens_on_loopback_only(control_plane: LocalControlPlane) -> None:
    sockets = control_plane.listen_addresses()
    assert {name for name, _, _ in sockets} >= {"etcd", "kube-apiserver", "kwok"}
    assert [s for s in sockets if s[1] != "127.0.0.1"] == []


def test_the_token_is_an_admin_and_a_wrong_token_is_refused(
    control_plane: LocalControlPlane,
) -> None:
    allowed = control_plane.kubectl("auth", "can-i", "*", "*", "--all-namespaces")
    assert allowed.stdout.strip() == "yes"
    refused = control_plane.kubectl("get", "namespaces", token="dop_v1_wrong", check=False)
    assert refused.returncode != 0
    assert "Unauthorized" in refused.stderr or "provide credentials" in refused.stderr


def test_nodes_offer_the_catalog_allocatable(control_plane: LocalControlPlane) -> None:
    nodes = control_plane.kubectl_json("get", "nodes")["items"]
    assert len(nodes) == NODE_COUNT
    want = catalog.NODE_ALLOCATABLE[NODE_SIZE]
    for node in nodes:
        labels = node["metadata"]["labels"]
        assert labels["node.kubernetes.io/instance-type"] == NODE_SIZE
        assert labels["doks.digitalocean.com/node-pool"]
        assert labels["topology.kubernetes.io/region"] == "nyc3"
        allocatable = node["status"]["allocatable"]
        assert allocatable["cpu"] == f"{want.cpu_millicores}m"
        assert allocatable["memory"] == f"{want.memory_mib}Mi"
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True"


def test_doks_system_pods_are_scheduled_with_their_requests(
    control_plane: LocalControlPlane,
) -> None:
    pods = control_plane.kubectl_json("get", "pods", "-n", "kube-system")["items"]
    running = [p for p in pods if p["status"].get("phase") == "Running" and p["spec"]["nodeName"]]
    by_app: dict[str, int] = {}
    for pod in running:
        app = pod["metadata"]["labels"]["k8s-app"]
        by_app[app] = by_app.get(app, 0) + 1
    for system_pod in catalog.DOKS_SYSTEM_PODS:
        want = NODE_COUNT if system_pod.kind == "DaemonSet" else system_pod.replicas
        assert by_app.get(system_pod.name) == want, system_pod.name

    # The scheduler counts them: a pod that fits an empty node's allocatable but not what the
    # DaemonSets leave of it stays Pending.
    allocatable = catalog.NODE_ALLOCATABLE[NODE_SIZE].memory_mib
    daemons = sum(p.memory_mib for p in catalog.DOKS_SYSTEM_PODS if p.kind == "DaemonSet")
    too_big = allocatable - daemons + 1
    control_plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "too-big", "namespace": NAMESPACE},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "example.invalid/big:1",
                        "resources": {"requests": {"memory": f"{too_big}Mi"}},
                    }
                ]
            },
        }
    )

    def unschedulable() -> bool:
        pod = control_plane.kubectl_json("get", "pod", "too-big", "-n", NAMESPACE)
        conditions = pod["status"].get("conditions", [])
        return any(
            c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conditions
        )

    wait_until("too-big reported Unschedulable", unschedulable, 30)
    control_plane.kubectl("delete", "pod", "too-big", "-n", NAMESPACE, "--wait=false")


def test_a_deployment_becomes_available(control_plane: LocalControlPlane) -> None:
    control_plane.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "example.invalid/web:1",
                                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                            }
                        ]
                    },
                },
            },
        }
    )
    control_plane.kubectl(
        "wait", "--for=condition=Available", "deployment/web", "-n", NAMESPACE, "--timeout=30s"
    )


def test_a_job_completes(control_plane: LocalControlPlane) -> None:
    control_plane.apply(_job("scheduler-run", "scheduler", "1"))
    assert wait_until(
        "job completes", lambda: _job_condition(control_plane, "scheduler-run"), 30
    ) == ("Complete")


def test_the_migrate_job_is_held_then_completes(control_plane: LocalControlPlane) -> None:
    began = time.monotonic()
    control_plane.apply(_job("migrate-good", "migrate", "3f9c2e7"))
    result = wait_until(
        "migrate job finishes", lambda: _job_condition(control_plane, "migrate-good"), 30
    )
    took = time.monotonic() - began
    print(f"\nmigrate Job completed after {took:.1f} s (hold {HOLD_SECONDS} s)")
    assert result == "Complete"
    assert HOLD_SECONDS <= took < HOLD_SECONDS + 10


def test_a_migrate_job_with_a_failing_tag_fails(control_plane: LocalControlPlane) -> None:
    began = time.monotonic()
    control_plane.apply(_job("migrate-bad", "migrate", FAILING_TAG))
    result = wait_until(
        "migrate job finishes", lambda: _job_condition(control_plane, "migrate-bad"), 30
    )
    took = time.monotonic() - began
    assert result == "Failed"
    assert took >= HOLD_SECONDS
    pods = control_plane.kubectl_json("get", "pods", "-n", NAMESPACE, "-l", "job-name=migrate-bad")[
        "items"
    ]
    assert [p["status"]["phase"] for p in pods] == ["Failed"]
    terminated = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 1


def test_a_gateway_is_programmed_with_an_address(control_plane: LocalControlPlane) -> None:
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "posts", "namespace": NAMESPACE},
        "spec": {
            "gatewayClassName": "cilium",
            "listeners": [
                {
                    "name": "http",
                    "protocol": "HTTP",
                    "port": 80,
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            ],
        },
    }
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "frontend", "namespace": NAMESPACE},
        "spec": {
            "parentRefs": [{"name": "posts", "sectionName": "http"}],
            "rules": [{"backendRefs": [{"name": "web", "port": 80}]}],
        },
    }
    control_plane.apply(gateway)
    control_plane.apply(route)
    control_plane.kubectl(
        "wait", "--for=condition=Programmed", "gateway/posts", "-n", NAMESPACE, "--timeout=20s"
    )

    def observed(generation: int) -> dict[str, Any] | None:
        got = control_plane.kubectl_json("get", "gateway", "posts", "-n", NAMESPACE)
        conditions = {c["type"]: c for c in got["status"]["conditions"]}
        if got["metadata"]["generation"] != generation:
            return None
        programmed = conditions["Programmed"]
        if programmed["status"] != "True" or programmed["observedGeneration"] != generation:
            return None
        return dict(got["status"])

    status = wait_until("Programmed at generation 1", lambda: observed(1), 30)
    assert status["addresses"] == [{"type": "IPAddress", "value": control_plane.gateway_address}]
    assert control_plane.gateway_address.startswith("192.0.2.")  # TEST-NET-1
    assert [c["type"] for c in status["conditions"]] == ["Accepted", "Programmed"]
    assert [listener["name"] for listener in status["listeners"]] == ["http"]

    def attached_routes() -> bool:
        got = observed(1)
        return got is not None and got["listeners"][0]["attachedRoutes"] == 1

    wait_until("the route counted on its listener", attached_routes, 30)

    # A spec change is a new generation: the status follows it.
    extra = {"name": "extra", "protocol": "HTTP", "port": 8080}
    control_plane.kubectl(
        "patch",
        "gateway",
        "posts",
        "-n",
        NAMESPACE,
        "--type=json",
        "-p",
        json.dumps([{"op": "add", "path": "/spec/listeners/-", "value": extra}]),
    )
    status = wait_until("Programmed at generation 2", lambda: observed(2), 30)
    assert {listener["name"] for listener in status["listeners"]} == {"http", "extra"}


def test_the_gateway_controller_reports_what_cilium_would_refuse(
    control_plane: LocalControlPlane,
) -> None:
    """A listener whose certificate Secret is missing is not programmed (InvalidCertificateRef);
    a route to a missing Service is not resolved (BackendNotFound); a route to a listener that
    does not exist is not accepted and not counted. Once the Secret and the Service exist, all
    is resolved."""
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "strict", "namespace": NAMESPACE},
        "spec": {
            "gatewayClassName": "cilium",
            "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80},
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "tls": {"mode": "Terminate", "certificateRefs": [{"name": "strict-tls"}]},
                },
            ],
        },
    }
    good_route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "strict-web", "namespace": NAMESPACE},
        "spec": {
            "parentRefs": [{"name": "strict", "sectionName": "http"}],
            "rules": [{"backendRefs": [{"name": "strict-web", "port": 80}]}],
        },
    }
    lost_route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "strict-lost", "namespace": NAMESPACE},
        "spec": {
            "parentRefs": [{"name": "strict", "sectionName": "grpc"}],
            "rules": [{"backendRefs": [{"name": "strict-web", "port": 80}]}],
        },
    }
    for manifest in (gateway, good_route, lost_route):
        control_plane.apply(manifest)

    def status_of(kind: str, name: str) -> dict[str, Any]:
        got = control_plane.kubectl_json("get", kind, name, "-n", NAMESPACE)
        return dict(got.get("status") or {})

    def listeners() -> dict[str, Any] | None:
        """The listeners' status, once the controller has seen both routes (one attached)."""
        found = {item["name"]: item for item in status_of("gateway", "strict").get("listeners", [])}
        attached = found.get("http", {}).get("attachedRoutes")
        return found if len(found) == 2 and attached == 1 else None

    def conditions(item: dict[str, Any]) -> dict[str, tuple[str, str]]:
        return {c["type"]: (c["status"], c["reason"]) for c in item.get("conditions", [])}

    def route(name: str) -> dict[str, tuple[str, str]] | None:
        parents = status_of("httproute", name).get("parents") or []
        return conditions(parents[0]) if parents else None

    found = wait_until("the listeners' status", listeners, 30)
    assert conditions(found["https"])["ResolvedRefs"] == ("False", "InvalidCertificateRef")
    assert conditions(found["https"])["Programmed"] == ("False", "Invalid")
    assert conditions(found["http"])["Programmed"] == ("True", "Programmed")
    assert found["http"]["attachedRoutes"] == 1 and found["https"]["attachedRoutes"] == 0
    web = wait_until("the route's status", lambda: route("strict-web"), 30)
    assert web["Accepted"] == ("True", "Accepted")
    assert web["ResolvedRefs"] == ("False", "BackendNotFound")
    lost = wait_until("the lost route's status", lambda: route("strict-lost"), 30)
    assert lost["Accepted"] == ("False", "NoMatchingParent")

    control_plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "strict-tls", "namespace": NAMESPACE},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "", "tls.key": ""},
        }
    )
    control_plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "strict-web", "namespace": NAMESPACE},
            "spec": {"selector": {"app": "strict"}, "ports": [{"port": 80}]},
        }
    )

    def resolved() -> bool:
        found = listeners() or {}
        https = conditions(found.get("https", {})).get("ResolvedRefs")
        web = route("strict-web") or {}
        return https == ("True", "ResolvedRefs") and web.get("ResolvedRefs") == (
            "True",
            "ResolvedRefs",
        )

    wait_until("the certificate and the backend resolved", resolved, 30)


def test_stop_leaves_no_process_and_no_listener(control_plane: LocalControlPlane) -> None:
    rss = control_plane.rss_mib()
    print(f"\nRSS after the workloads: {sum(rss.values()):.0f} MiB")
    pids = control_plane.pids()
    state_dir = control_plane.state_dir
    assert sorted(control_plane.listening()) == sorted(control_plane.ports)

    control_plane.stop()

    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists(), f"{name} (pid {pid}) still exists"
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert control_plane.listening() == []
    assert not state_dir.exists()
