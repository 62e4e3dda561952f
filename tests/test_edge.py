"""The public entry: a Gateway on DOKS's Cilium implementation, routes, DNS and TLS."""

from __future__ import annotations

import pytest

from offline.registrations import EngineUrns
from offline.simulate import MOCK_GATEWAY_IP, Simulation, run_stack
from tests.k8s import k8s
from tests.kinds import (
    CLUSTER_ISSUER,
    CRON_JOB,
    DEPLOYMENT,
    DNS_RECORD,
    GATEWAY,
    HELM_RELEASE,
    HTTP_ROUTE,
    JOB,
    NAMESPACE,
    SECRET,
    STASH,
)

TLS = {
    "hostname": "posts.example.com",
    "dnsDomain": "example.com",
    "tls": "true",
    "tlsEmail": "ops@example.com",
}


@pytest.fixture(scope="module")
def with_tls() -> Simulation:
    return run_stack("dev", TLS)


def _route_targets(simulation: Simulation) -> dict[str, str]:
    targets = {}
    for route in simulation.of_type(HTTP_ROUTE):
        for rule in route.value("spec.rules"):
            for match in rule.get("matches", []):
                (backend,) = rule["backendRefs"]
                targets[match["path"]["value"]] = f"{backend['name']}:{backend['port']}"
    return targets


def test_gateway_uses_the_managed_cilium_class_and_a_named_load_balancer(dev: Simulation) -> None:
    gateway = k8s(dev, GATEWAY, "posts")
    spec = gateway.value("spec")
    assert spec["gatewayClassName"] == "cilium"
    assert spec["infrastructure"]["annotations"] == {
        "service.beta.kubernetes.io/do-loadbalancer-name": "posts-dev-gateway"
    }
    assert [(x["name"], x["protocol"], x["port"]) for x in spec["listeners"]] == [
        ("http", "HTTP", 80)
    ]
    assert gateway.value("metadata.annotations")["pulumi.com/waitFor"] == "condition=Programmed"


def test_a_load_balancer_that_never_comes_fails_up_in_bounded_time() -> None:
    """`up` waits for Programmed at most gatewayTimeoutSeconds (the provider's own default is 10
    minutes), then fails with the Gateway's reason."""
    assert k8s(run_stack("dev"), GATEWAY, "posts").custom_timeouts == {
        "create": "600s",
        "update": "600s",
    }
    quick = run_stack("dev", {"gatewayTimeoutSeconds": "30"})
    assert k8s(quick, GATEWAY, "posts").custom_timeouts["create"] == "30s"


def test_the_gateway_waits_for_its_namespace_only_not_for_the_rollout(dev: Simulation) -> None:
    """Its load balancer takes minutes: it comes up while the databases and the app do."""
    gateway = k8s(dev, GATEWAY, "posts")
    assert dev.depends_on(gateway, dev.one(NAMESPACE))
    for kind in (DEPLOYMENT, JOB, CRON_JOB, SECRET):
        assert dev.of_type(kind), kind
        for workload in dev.of_type(kind):
            assert not dev.depends_on(gateway, workload), workload.name


def test_api_goes_to_nginx_and_everything_else_to_the_frontend(dev: Simulation) -> None:
    assert _route_targets(dev) == {"/api": "nginx-service:80", "/": "frontend-service:80"}
    gateway = k8s(dev, GATEWAY, "posts")
    for route in dev.of_type(HTTP_ROUTE):
        assert route.value("spec.parentRefs") == [{"name": "posts", "sectionName": "http"}]
        assert dev.depends_on(route, gateway)


def test_public_address_is_a_stack_output(dev: Simulation) -> None:
    """The address comes from the Gateway's status (the mock reports MOCK_GATEWAY_IP)."""
    assert dev.outputs["publicAddress"].value == MOCK_GATEWAY_IP
    assert not dev.outputs["publicAddress"].secret
    assert dev.outputs["url"].value == f"http://{MOCK_GATEWAY_IP}"


def test_hostname_dns_and_tls_from_config(with_tls: Simulation) -> None:
    simulation = with_tls
    gateway = k8s(simulation, GATEWAY, "posts")
    listeners = {x["name"]: x for x in gateway.value("spec.listeners")}
    assert listeners["https"]["hostname"] == "posts.example.com"
    assert listeners["https"]["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "posts-tls"}]
    assert gateway.value("metadata.annotations")["cert-manager.io/cluster-issuer"] == "letsencrypt"
    release = simulation.one(HELM_RELEASE)
    assert release.value("chart") == "cert-manager"
    assert release.value("values.config.enableGatewayAPI") is True
    # app routes on HTTPS, plain HTTP redirects
    for route in simulation.of_type(HTTP_ROUTE):
        section = route.value("spec.parentRefs")[0]["sectionName"]
        name = route.value("metadata.name")
        assert section == ("http" if name == "https-redirect" else "https")
    record = simulation.one(DNS_RECORD)
    assert (record.value("domain"), record.value("name"), record.value("type")) == (
        "example.com",
        "posts",
        "A",
    )
    assert record.value("value") == MOCK_GATEWAY_IP
    assert simulation.outputs["url"].value == "https://posts.example.com"


def test_cert_manager_is_a_platform_add_on_that_stacks_deployed_before_keep(
    with_tls: Simulation, dev: Simulation
) -> None:
    """cert-manager and its ClusterIssuer serve the cluster, so they belong to the platform, not
    to the app's Edge. They moved from the Edge: each keeps its logical name and an alias names
    its URN under the Edge, so a stack deployed before keeps them (no replacement)."""
    urns = EngineUrns(with_tls)
    component = with_tls.one("posts:platform:CertManager")
    issuer = with_tls.one(CLUSTER_ISSUER)
    release = with_tls.one(HELM_RELEASE)
    edge_urn = "urn:pulumi:dev::posts-infra::posts:app:Edge"
    for moved, name in ((release, "edge-cert-manager"), (issuer, "edge-cluster-issuer")):
        assert moved.parent == component.urn and moved.name == name
        assert f"{edge_urn}${moved.type}::{name}" in urns.aliases(moved)
    assert with_tls.depends_on(issuer, release)
    # The Gateway waits for the issuer and names it; the routes stay with the Gateway.
    gateway = k8s(with_tls, GATEWAY, "posts")
    assert with_tls.depends_on(gateway, issuer)
    assert gateway.value("metadata.annotations")["cert-manager.io/cluster-issuer"] == (
        issuer.value("metadata.name")
    )
    solver = issuer.value("spec.acme.solvers")[0]["http01"]["gatewayHTTPRoute"]["parentRefs"]
    assert solver == [
        {"name": "posts", "namespace": "posts", "kind": "Gateway", "sectionName": "http"}
    ]
    edge = with_tls.one("posts:app:Edge")
    assert {r.type for r in with_tls.registrations if r.parent == edge.urn} == {
        GATEWAY,
        HTTP_ROUTE,
        DNS_RECORD,
    }
    # A protected stack's destroy still stops before deleting them.
    stash = with_tls.one(STASH)
    assert with_tls.depends_on(stash, release) and with_tls.depends_on(stash, issuer)
    # Without tls there is no cert-manager at all.
    assert not dev.of_type("posts:platform:CertManager") and not dev.of_type(HELM_RELEASE)
