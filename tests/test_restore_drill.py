"""The restore drill's parts that need no cloud: what it reads from the stack, which backup it
takes, the drill stack it declares (under mocks), and what it reports. The whole drill runs on
the real engine in tests/e2e/test_restore_drill.py."""

from __future__ import annotations

from typing import Any

import pytest

from offline.simulate import Simulation, reveal, run_function, secret_paths
from ops import restore_drill
from ops.restore_drill import DrillError, DrillPlan, DrillReport, DrillSource
from tests.k8s import k8s
from tests.kinds import DATABASE, DATABASE_FIREWALL, DOKS, JOB, NETWORK_POLICY, SECRET

SOURCE = DrillSource(
    stack="dev",
    mysql_id="mysql-uuid",
    mysql_name="posts-dev-mysql",
    region="nyc3",
    version="8",
    size="db-s-1vcpu-1gb",
    vpc_id="vpc-uuid",
    cluster_id="doks-uuid",
    cluster_name="posts-dev",
    namespace="posts",
    api_image="docker.io/martinjoo/posts-api:3f9c2e7",
)
PLAN = DrillPlan(SOURCE, "2026-12-05T03:30:12Z")


def export(*, without: str = "") -> dict[str, Any]:
    """`pulumi stack export` of a deployed stack, as much of it as the drill reads."""
    resources: list[dict[str, Any]] = [
        {
            "type": "digitalocean:index/databaseCluster:DatabaseCluster",
            "urn": "urn:pulumi:dev::posts-infra::posts:platform:MysqlDatabase$digitalocean:index/"
            "databaseCluster:DatabaseCluster::mysql-cluster",
            "id": "mysql-uuid",
            "outputs": {"name": "posts-dev-mysql", "region": "nyc3", "version": "8"}
            | {"size": "db-s-1vcpu-1gb", "privateNetworkUuid": "vpc-uuid"},
        },
        {
            "type": "digitalocean:index/kubernetesCluster:KubernetesCluster",
            "urn": "urn:pulumi:dev::posts-infra::x$digitalocean:index/kubernetesCluster:"
            "KubernetesCluster::cluster-doks",
            "id": "doks-uuid",
            "outputs": {"name": "posts-dev"},
        },
        {
            "type": "kubernetes:apps/v1:Deployment",
            "urn": "urn:pulumi:dev::posts-infra::x$kubernetes:apps/v1:Deployment::"
            "app-deployment-api",
            "id": "posts/api",
            "outputs": {
                "metadata": {"namespace": "posts"},
                "spec": {"template": {"spec": {"containers": [{"image": SOURCE.api_image}]}}},
            },
        },
    ]
    kept = [r for r in resources if not str(r["urn"]).endswith(f"::{without}")]
    return {"deployment": {"resources": kept}}


@pytest.fixture(scope="module")
def drill() -> Simulation:
    return run_function("dev", restore_drill.DRILL_PROJECT, restore_drill.drill_program(PLAN, "t"))


def test_the_source_is_read_from_the_stacks_state() -> None:
    assert restore_drill.source_from_state("dev", export()) == SOURCE
    assert SOURCE.release == "3f9c2e7" and SOURCE.drill_name == "posts-dev-drill"


def test_a_stack_not_deployed_is_said_so() -> None:
    with pytest.raises(DrillError, match="holds no DatabaseCluster `mysql-cluster`: deploy the"):
        restore_drill.source_from_state("dev", export(without="mysql-cluster"))


def test_the_latest_backup_is_taken_and_none_is_said_so() -> None:
    backups = [{"created_at": t} for t in ("2026-12-03T03:30:07Z", PLAN.backup_created_at)]
    assert restore_drill.latest_backup(backups, SOURCE) == PLAN.backup_created_at
    with pytest.raises(DrillError, match="posts-dev-mysql has no backup yet"):
        restore_drill.latest_backup([], SOURCE)


def test_the_drill_restores_the_backup_into_the_stacks_vpc_protected(drill: Simulation) -> None:
    (restored,) = drill.of_type(DATABASE)
    assert restored.value("backupRestore") == {
        "databaseName": "posts-dev-mysql",
        "backupCreatedAt": PLAN.backup_created_at,
    }
    assert (restored.value("name"), restored.value("nodeCount")) == ("posts-dev-drill", 1)
    assert (restored.value("size"), restored.value("privateNetworkUuid")) == (
        SOURCE.size,
        "vpc-uuid",
    )
    assert restored.protect  # as every database; the teardown lifts it
    unprotected = run_function(
        "dev",
        restore_drill.DRILL_PROJECT,
        restore_drill.drill_program(PLAN, "t"),
        {"protect": "false"},
    )
    assert not unprotected.one(DATABASE).protect
    (firewall,) = drill.of_type(DATABASE_FIREWALL)
    assert firewall.value("rules") == [{"type": "k8s", "value": "doks-uuid"}]
    assert drill.of_type(DOKS) == []  # no second DOKS cluster


def test_the_check_runs_on_the_stacks_cluster_with_the_app_image_hardened(
    drill: Simulation,
) -> None:
    secret = k8s(drill, SECRET, "restore-check")
    assert secret.value("metadata.namespace") == "posts"
    assert "stringData" in secret_paths(secret.inputs) or "stringData.DRILL_DATABASE_URL" in (
        secret_paths(secret.inputs)
    )
    url = secret.value("stringData.DRILL_DATABASE_URL")
    assert url.startswith("mysql://posts-root:mock-restored-p%40ssword@private-posts-dev-drill")
    assert url.endswith("/posts?ssl-mode=REQUIRED")
    job = k8s(drill, JOB, "restore-check")
    spec = job.value("spec")
    assert (spec["backoffLimit"], spec["template"]["spec"]["restartPolicy"]) == (0, "Never")
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == SOURCE.api_image
    assert container["command"][:2] == ["php", "-r"]
    assert "FROM migrations" in container["command"][2]
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert drill.depends_on(job, drill.one(DATABASE_FIREWALL))  # the firewall admits it first
    assert all(r.provider.startswith("urn:") and "drill-k8s" in r.provider for r in (job, secret))


def test_the_apps_network_policy_lets_the_check_reach_mysql(
    drill: Simulation, dev: Simulation
) -> None:
    labels = k8s(drill, JOB, "restore-check").value("spec.template.metadata.labels")
    policy = k8s(dev, NETWORK_POLICY, "php-to-databases-and-https")
    expressions = reveal(policy.inputs)["spec"]["podSelector"]["matchExpressions"]
    for expression in expressions:
        assert labels[expression["key"]] in expression["values"], expression


def test_the_report_says_what_was_restored_how_long_it_took_and_what_is_left() -> None:
    report = DrillReport(
        "dev", PLAN.backup_created_at, "posts-dev-drill", 31.0, True, '{"tables":9}'
    )
    report.torn_down, report.seconds = True, 48.0
    text = report.text()
    assert "- backup restored: 2026-12-05T03:30:12Z (the latest)" in text
    assert "came online 31 s after its create began" in text
    assert '- the check on the stack\'s cluster passed: {"tables":9}' in text
    assert "nothing of the drill is left" in text
    report.torn_down, report.check_passed = False, False
    text = report.text()
    assert "the check on the stack's cluster FAILED" in text
    assert "`./scripts/restore-drill dev --teardown` removes it" in text


def test_without_a_token_the_drill_does_not_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert restore_drill.main(["dev"]) == restore_drill.EXIT_ERROR
    assert "DIGITALOCEAN_TOKEN is not set" in capsys.readouterr().err


def test_a_stack_with_no_backup_yet_stops_before_anything_is_created(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "t")
    monkeypatch.setattr(restore_drill, "pulumi_json", lambda *args: export())
    monkeypatch.setattr(restore_drill.DigitalOceanApi, "backups", lambda self, cluster_id: [])
    created: list[str] = []
    monkeypatch.setattr(restore_drill, "_drill_stack", lambda *args: created.append("stack"))
    assert restore_drill.main(["dev"]) == restore_drill.EXIT_ERROR
    assert "posts-dev-mysql has no backup yet" in capsys.readouterr().err
    assert created == []
