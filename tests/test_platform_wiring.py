"""How the platform is wired: firewalls, connection URLs, parallel creation, provider, outputs."""

from __future__ import annotations

import json

import pytest

from offline.simulate import PLACEHOLDER_TOKEN, Simulation, reveal, run_stack, secret_paths
from tests.kinds import DATABASE, DATABASE_FIREWALL, DOKS, K8S_PROVIDER


@pytest.mark.parametrize("database", ["mysql", "cache"])
def test_firewall_admits_only_the_cluster(dev: Simulation, database: str) -> None:
    firewall = dev.one(DATABASE_FIREWALL, f"{database}-firewall")
    assert firewall.value("clusterId") == f"{database}-cluster-id"
    assert firewall.value("rules") == [{"type": "k8s", "value": "cluster-doks-id"}]


def test_firewall_admits_configured_admin_addresses_too() -> None:
    sources = '["203.0.113.7", "198.51.100.0/24"]'
    simulation = run_stack("dev", {"databaseAdminSources": sources})
    for database in ("mysql", "cache"):
        rules = simulation.one(DATABASE_FIREWALL, f"{database}-firewall").value("rules")
        assert rules == [
            {"type": "k8s", "value": "cluster-doks-id"},
            {"type": "ip_addr", "value": "203.0.113.7"},
            {"type": "ip_addr", "value": "198.51.100.0/24"},
        ]


@pytest.mark.parametrize("database", ["mysql-cluster", "cache-cluster"])
def test_databases_do_not_wait_for_the_cluster(dev: Simulation, database: str) -> None:
    """Cluster, MySQL and Valkey take minutes each: they must be created in parallel."""
    db = dev.one(DATABASE, database)
    doks = dev.one(DOKS)
    assert not dev.depends_on(db, doks)
    assert not dev.depends_on(doks, db)


@pytest.mark.parametrize("database", ["mysql", "cache"])
def test_only_the_firewalls_wait_for_both(dev: Simulation, database: str) -> None:
    firewall = dev.one(DATABASE_FIREWALL, f"{database}-firewall")
    assert dev.depends_on(firewall, dev.one(DOKS))
    assert dev.depends_on(firewall, dev.one(DATABASE, f"{database}-cluster"))


def test_mysql_url_is_secret_private_tls_and_escaped(dev: Simulation) -> None:
    url = dev.resolve(dev.program["mysql"].connection_url)
    assert url.secret
    # the mock password "mock-p@ss/word+mysql-user" must survive as one URL component
    assert url.value == (
        "mysql://posts-root:mock-p%40ss%2Fword%2Bmysql-user@"
        "private-posts-dev-mysql-do-user-0-0.db.ondigitalocean.com:25060/posts?ssl-mode=REQUIRED"
    )


def test_cache_url_is_secret_private_and_tls(dev: Simulation) -> None:
    url = dev.resolve(dev.program["cache"].connection_url)
    assert url.secret
    assert url.value == (
        "rediss://default:mock-admin-password-cache-cluster@"
        "private-posts-dev-valkey-do-user-0-0.db.ondigitalocean.com:25061"
    )


def test_kubernetes_provider_uses_a_lasting_credential(dev: Simulation) -> None:
    provider = dev.one(K8S_PROVIDER)
    assert secret_paths(provider.inputs) == ["kubeconfig"]
    kubeconfig = json.loads(reveal(provider.inputs)["kubeconfig"])
    (user,) = kubeconfig["users"]
    assert user["user"] == {"token": PLACEHOLDER_TOKEN}  # the stack's API token, not the 7-day one
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"] == "https://cluster-doks.k8s.ondigitalocean.com"
    assert cluster["cluster"]["certificate-authority-data"]
    assert provider.value("deleteUnreachable") in (False, "false")


def test_token_comes_from_the_environment_when_not_in_config() -> None:
    simulation = run_stack(
        "dev", {"digitalocean:token": None}, environ={"DIGITALOCEAN_TOKEN": "env-token"}
    )
    kubeconfig = json.loads(simulation.one(K8S_PROVIDER).value("kubeconfig"))
    assert kubeconfig["users"][0]["user"] == {"token": "env-token"}
    assert secret_paths(simulation.one(K8S_PROVIDER).inputs) == ["kubeconfig"]


def test_doctl_exec_credential_needs_no_token() -> None:
    simulation = run_stack("dev", {"kubernetesAuth": "doctl", "digitalocean:token": None})
    kubeconfig = json.loads(simulation.one(K8S_PROVIDER).value("kubeconfig"))
    exec_ = kubeconfig["users"][0]["user"]["exec"]
    assert exec_["command"] == "doctl"
    assert exec_["args"][-1] == "cluster-doks-id"


def test_stack_outputs_a_user_needs_without_plain_secrets(dev: Simulation) -> None:
    outputs = dev.outputs
    assert outputs["clusterName"].value == "posts-dev"
    assert outputs["clusterId"].value == "cluster-doks-id"
    assert outputs["kubeconfig"].secret
    assert outputs["mysqlPrivateHost"].value.startswith("private-")
    assert outputs["cachePrivateHost"].value.startswith("private-")
    plain = json.dumps({k: v.value for k, v in outputs.items() if not v.secret})
    for leaked in ("mock-p@ss", "mock-admin-password", PLACEHOLDER_TOKEN, "mock-7-day-token"):
        assert leaked not in plain


def test_exported_kubeconfig_carries_no_credential(dev: Simulation) -> None:
    kubeconfig = json.loads(dev.outputs["kubeconfig"].value)
    user = kubeconfig["users"][0]["user"]
    assert "token" not in user and user["exec"]["command"] == "doctl"
