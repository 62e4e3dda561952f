"""Every part of the seed's application is deployed, named as in the seed, and wired together."""

from __future__ import annotations

import json

import pytest

from offline.simulate import Simulation, run_stack
from tests.k8s import k8s, only_container, pod_template
from tests.kinds import (
    CILIUM_POLICY,
    CONFIG_MAP,
    CRON_JOB,
    DEPLOYMENT,
    HPA,
    JOB,
    NAMESPACE,
    NETWORK_POLICY,
    PDB,
    SECRET,
    SERVICE,
)

ENV_FROM = [{"configMapRef": {"name": "posts"}}, {"secretRef": {"name": "posts"}}]
DEPLOYMENTS = ("api", "nginx", "worker", "frontend")


def test_the_app_has_its_own_namespace(dev: Simulation) -> None:
    namespace = dev.one(NAMESPACE)
    assert namespace.value("metadata.name") == "posts"
    for kind in (CONFIG_MAP, SECRET, SERVICE, DEPLOYMENT, JOB, CRON_JOB, HPA, PDB):
        for registration in dev.of_type(kind):
            assert registration.value("metadata.namespace") == "posts"
            assert namespace.urn in registration.dependencies, registration.name


def test_every_kubernetes_object_goes_through_the_clusters_provider(dev: Simulation) -> None:
    provider = dev.one("pulumi:providers:kubernetes")
    kubernetes = [r for r in dev.registrations if r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 20
    for registration in kubernetes:
        assert registration.provider.startswith(provider.urn + "::"), registration.name


@pytest.mark.parametrize(
    ("workload", "image"),
    [
        ("api", "posts-api"),
        ("nginx", "posts-nginx"),
        ("worker", "posts-worker"),
        ("frontend", "posts-frontend"),
    ],
)
def test_images_are_the_seeds_at_the_release_tag(
    dev: Simulation, workload: str, image: str
) -> None:
    container = only_container(k8s(dev, DEPLOYMENT, workload))
    assert container["image"] == f"docker.io/martinjoo/{image}:3f9c2e7"
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_scheduler_and_migrate_images(dev: Simulation) -> None:
    scheduler = only_container(k8s(dev, CRON_JOB, "scheduler"))
    assert scheduler["image"] == "docker.io/martinjoo/posts-scheduler:3f9c2e7"
    migrate = only_container(dev.one(JOB))
    assert migrate["image"] == "docker.io/martinjoo/posts-api:3f9c2e7"


def test_registry_and_image_names_are_configurable() -> None:
    simulation = run_stack(
        "dev",
        {
            "imageRegistry": "registry.digitalocean.com/acme",
            "imageNames": '["api=posts-php"]',
            "imageTag": "abc1234",
        },
    )
    api = only_container(k8s(simulation, DEPLOYMENT, "api"))
    assert api["image"] == "registry.digitalocean.com/acme/posts-php:abc1234"
    nginx = only_container(k8s(simulation, DEPLOYMENT, "nginx"))
    assert nginx["image"] == "registry.digitalocean.com/acme/posts-nginx:abc1234"


def test_config_map_holds_the_seeds_settings_with_stack_overrides(dev: Simulation) -> None:
    data = k8s(dev, CONFIG_MAP, "posts").value("data")
    assert data["QUEUE_CONNECTION"] == "redis"
    assert data["CACHE_DRIVER"] == "redis"
    assert data["APP_ENV"] == "production"
    assert set(data) >= {
        "APP_NAME", "APP_ENV", "APP_DEBUG", "LOG_CHANNEL", "LOG_LEVEL", "QUEUE_CONNECTION",
        "MAIL_MAILER", "AWS_BUCKET", "AWS_DEFAULT_REGION", "AWS_USE_PATH_STYLE_ENDPOINT",
        "AWS_URL", "FILESYSTEM_DISK", "CACHE_DRIVER",
    }  # fmt: skip
    overridden = run_stack("dev", {"appSettings": '["LOG_LEVEL=debug", "MAIL_MAILER=smtp"]'})
    data = k8s(overridden, CONFIG_MAP, "posts").value("data")
    assert (data["LOG_LEVEL"], data["MAIL_MAILER"]) == ("debug", "smtp")


def test_secret_carries_the_seeds_keys(dev: Simulation) -> None:
    secret = k8s(dev, SECRET, "posts")
    assert secret.value("type") == "Opaque"
    assert set(secret.value("stringData")) == {
        "APP_KEY", "DATABASE_URL", "REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "ROLLBAR_TOKEN", "HEALTH_CHECK_EMAIL",
    }  # fmt: skip


def test_secret_urls_come_from_the_live_databases(dev: Simulation) -> None:
    data = k8s(dev, SECRET, "posts").value("stringData")
    assert data["DATABASE_URL"] == dev.resolve(dev.program["mysql"].connection_url).value
    assert data["REDIS_URL"] == dev.resolve(dev.program["cache"].connection_url).value
    assert data["APP_KEY"] == "offline-placeholder-appKey"


@pytest.mark.parametrize("workload", ["api", "worker"])
def test_php_deployments_read_config_map_and_secret(dev: Simulation, workload: str) -> None:
    assert only_container(k8s(dev, DEPLOYMENT, workload))["envFrom"] == ENV_FROM


def test_scheduler_and_migrate_read_config_map_and_secret(dev: Simulation) -> None:
    assert only_container(k8s(dev, CRON_JOB, "scheduler"))["envFrom"] == ENV_FROM
    assert only_container(dev.one(JOB))["envFrom"] == ENV_FROM


def test_changing_a_setting_or_a_secret_rolls_the_pods_that_use_them(dev: Simulation) -> None:
    def hashes(simulation: Simulation, workload: str) -> dict[str, str]:
        return pod_template(k8s(simulation, DEPLOYMENT, workload))["metadata"]["annotations"]

    changed_setting = run_stack("dev", {"appSettings": '["LOG_LEVEL=debug"]'})
    changed_secret = run_stack("dev", secret_overrides={"appKey": "base64:rotated"})
    for workload in ("api", "worker"):
        before = hashes(dev, workload)
        assert (
            hashes(changed_setting, workload)["posts.dev/config-hash"]
            != (before["posts.dev/config-hash"])
        )
        assert (
            hashes(changed_secret, workload)["posts.dev/secret-hash"]
            != (before["posts.dev/secret-hash"])
        )
        assert hashes(run_stack("dev"), workload) == before  # same config, no roll


def test_secret_hash_annotation_is_plain_but_reveals_nothing(dev: Simulation) -> None:
    api = k8s(dev, DEPLOYMENT, "api")
    annotations = api.inputs["spec"]["template"]["metadata"]["annotations"]
    assert isinstance(annotations["posts.dev/secret-hash"], str)  # not a Secret marker
    assert len(annotations["posts.dev/secret-hash"]) == 16


def test_api_is_php_fpm_on_9000_autoscaled_from_4_to_8(dev: Simulation) -> None:
    api = k8s(dev, DEPLOYMENT, "api")
    assert "replicas" not in api.value("spec"), "a replicas field would fight the HPA"
    container = only_container(api)
    assert container["ports"] == [{"name": "fastcgi", "containerPort": 9000, "protocol": "TCP"}]
    hpa = k8s(dev, HPA, "api")
    spec = hpa.value("spec")
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (4, 8)
    assert spec["metrics"][0]["resource"]["name"] == "cpu"


@pytest.mark.parametrize(
    ("service", "workload", "port"),
    [
        ("api-service", "api", 9000),
        ("nginx-service", "nginx", 80),
        ("frontend-service", "frontend", 80),
    ],
)
def test_cluster_ip_services_select_their_pods(
    dev: Simulation, service: str, workload: str, port: int
) -> None:
    spec = k8s(dev, SERVICE, service).value("spec")
    assert spec["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"]) for p in spec["ports"]] == [(port, port)]
    pod_labels = pod_template(k8s(dev, DEPLOYMENT, workload))["metadata"]["labels"]
    assert spec["selector"].items() <= pod_labels.items()
    # ...and no other workload's pods
    for other in DEPLOYMENTS:
        if other != workload:
            other_labels = pod_template(k8s(dev, DEPLOYMENT, other))["metadata"]["labels"]
            assert not spec["selector"].items() <= other_labels.items()
    container_ports = [
        p["containerPort"] for p in only_container(k8s(dev, DEPLOYMENT, workload))["ports"]
    ]
    assert port in container_ports


def test_deployment_selectors_match_their_pod_templates(dev: Simulation) -> None:
    for workload in DEPLOYMENTS:
        deployment = k8s(dev, DEPLOYMENT, workload)
        selector = deployment.value("spec.selector.matchLabels")
        assert selector.items() <= pod_template(deployment)["metadata"]["labels"].items()


def test_nginx_has_two_replicas_on_port_80(dev: Simulation) -> None:
    nginx = k8s(dev, DEPLOYMENT, "nginx")
    assert nginx.value("spec.replicas") == 2
    assert only_container(nginx)["ports"][0]["containerPort"] == 80


def test_worker_runs_the_seeds_queue_command(dev: Simulation) -> None:
    worker = k8s(dev, DEPLOYMENT, "worker")
    assert worker.value("spec.replicas") == 2
    assert only_container(worker)["command"] == [
        "php", "/usr/src/artisan", "queue:work", "--queue=default,notification", "--tries=3",
        "--verbose", "--timeout=30", "--sleep=3", "--max-jobs=1000", "--max-time=3600",
    ]  # fmt: skip
    assert pod_template(worker)["spec"]["terminationGracePeriodSeconds"] > 30


def test_worker_command_and_grace_follow_config() -> None:
    simulation = run_stack(
        "dev", {"workerQueues": "high,default", "workerTimeoutSeconds": "120", "workerTries": "1"}
    )
    worker = k8s(simulation, DEPLOYMENT, "worker")
    command = only_container(worker)["command"]
    assert "--queue=high,default" in command and "--timeout=120" in command
    assert "--tries=1" in command
    assert pod_template(worker)["spec"]["terminationGracePeriodSeconds"] == 150


def test_scheduler_runs_every_minute_never_twice_at_once(dev: Simulation) -> None:
    spec = k8s(dev, CRON_JOB, "scheduler").value("spec")
    assert spec["schedule"] == "* * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] <= 3 and spec["failedJobsHistoryLimit"] <= 3
    command = only_container(k8s(dev, CRON_JOB, "scheduler"))["command"]
    assert command[1:3] == ["/usr/src/artisan", "schedule:run"]


def test_frontend_on_port_80_with_its_service(dev: Simulation) -> None:
    frontend = k8s(dev, DEPLOYMENT, "frontend")
    assert only_container(frontend)["ports"][0]["containerPort"] == 80
    assert frontend.value("spec.replicas") == 2


# -- production hygiene ---------------------------------------------------------------------------


def _all_pod_templates(simulation: Simulation) -> list[tuple[str, dict]]:
    templates = [
        (f"deployment/{w}", pod_template(k8s(simulation, DEPLOYMENT, w))) for w in DEPLOYMENTS
    ]
    templates.append(("cronjob/scheduler", pod_template(k8s(simulation, CRON_JOB, "scheduler"))))
    templates.append(("job/migrate", pod_template(simulation.one(JOB))))
    return templates


def test_every_container_has_requests_and_a_memory_limit(dev: Simulation) -> None:
    for where, template in _all_pod_templates(dev):
        for container in template["spec"]["containers"]:
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], where
            assert resources["limits"]["memory"], where


def test_resources_are_configurable_per_workload() -> None:
    simulation = run_stack("dev", {"apiResources": "500m/384Mi/768Mi"})
    resources = only_container(k8s(simulation, DEPLOYMENT, "api"))["resources"]
    assert resources == {
        "requests": {"cpu": "500m", "memory": "384Mi"},
        "limits": {"memory": "768Mi"},
    }


def test_resources_are_deployed_as_the_config_writes_them() -> None:
    """The config reads them into millicores and bytes (the capacity check counts those); the
    pods get the text as written, so re-reading a value never changes a pod."""
    simulation = run_stack("dev", {"apiResources": "0.5/1Gi/2048Mi"})
    resources = only_container(k8s(simulation, DEPLOYMENT, "api"))["resources"]
    assert resources == {
        "requests": {"cpu": "0.5", "memory": "1Gi"},
        "limits": {"memory": "2048Mi"},
    }


def test_every_pod_of_a_release_is_labelled_with_it_and_can_pull_its_images() -> None:
    """One pod template for the Deployments, the migrate Job and the scheduler's CronJob."""
    simulation = run_stack(
        "dev", {"imageTag": "a1b2c3d"}, secret_overrides={"imagePullDockerConfig": "{}"}
    )
    templates = _all_pod_templates(simulation)
    assert len(templates) == 6
    for where, template in templates:
        assert template["metadata"]["labels"]["app.kubernetes.io/version"] == "a1b2c3d", where
        assert template["spec"]["imagePullSecrets"] == [{"name": "posts-registry"}], where
        assert template["spec"]["enableServiceLinks"] is False, where
    for where, template in _all_pod_templates(run_stack("dev")):
        assert "imagePullSecrets" not in template["spec"], where


def test_every_pod_is_hardened(dev: Simulation) -> None:
    for where, template in _all_pod_templates(dev):
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["privileged"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where


def test_only_the_master_processes_keep_the_capabilities_they_need(dev: Simulation) -> None:
    def added(registration_kind: str, name: str) -> list[str]:
        container = only_container(k8s(dev, registration_kind, name))
        return container["securityContext"]["capabilities"].get("add", [])

    assert added(DEPLOYMENT, "worker") == []
    assert added(CRON_JOB, "scheduler") == []
    assert set(added(DEPLOYMENT, "api")) == {"SETUID", "SETGID"}
    assert "NET_BIND_SERVICE" in added(DEPLOYMENT, "nginx")
    assert "SYS_ADMIN" not in added(DEPLOYMENT, "nginx")


@pytest.mark.parametrize(
    ("workload", "probe_kind"),
    [("api", "tcpSocket"), ("nginx", "tcpSocket"), ("worker", "exec"), ("frontend", "httpGet")],
)
def test_probes_fit_each_process(dev: Simulation, workload: str, probe_kind: str) -> None:
    container = only_container(k8s(dev, DEPLOYMENT, workload))
    assert probe_kind in container["readinessProbe"]
    assert "livenessProbe" in container
    if workload == "api":
        assert container["readinessProbe"]["tcpSocket"]["port"] == 9000
    if workload == "worker":
        assert "queue:work" in " ".join(container["livenessProbe"]["exec"]["command"])


@pytest.mark.parametrize("workload", DEPLOYMENTS)
def test_readiness_and_liveness_stay_local_to_the_pod(dev: Simulation, workload: str) -> None:
    """No probe reaches MySQL, Valkey or the app's routes: one database outage must not take
    every pod out of the load balancer (docs/operations.md, "Readiness"). nginx and the api are
    probed on their ports; an HTTP probe only where nothing is behind the server (the frontend's
    static files); the worker by its own process."""
    container = only_container(k8s(dev, DEPLOYMENT, workload))
    for probe in (container["readinessProbe"], container["livenessProbe"]):
        text = json.dumps(probe)
        for far in ("health-check", "/api", "mysql", "redis", "25060", "25061", "artisan"):
            assert far not in text, (workload, probe)
        if "httpGet" in probe:
            assert workload == "frontend" and probe["httpGet"]["path"] == "/"
        if "tcpSocket" in probe:
            assert probe["tcpSocket"]["port"] == container["ports"][0]["containerPort"]


@pytest.mark.parametrize("workload", DEPLOYMENTS)
def test_rolling_updates_never_drop_below_capacity(dev: Simulation, workload: str) -> None:
    strategy = k8s(dev, DEPLOYMENT, workload).value("spec.strategy")
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("workload", DEPLOYMENTS)
def test_a_rollout_that_makes_no_progress_fails_up_in_bounded_time(
    dev: Simulation, workload: str
) -> None:
    """Kubernetes marks it failed after rolloutTimeoutSeconds without progress; `pulumi up`
    gives up 15 s later (not after the provider's default 10 minutes), naming it."""
    deployment = k8s(dev, DEPLOYMENT, workload)
    assert deployment.value("spec.progressDeadlineSeconds") == 180
    assert deployment.custom_timeouts == {"create": "195s", "update": "195s"}
    quick = run_stack("dev", {"rolloutTimeoutSeconds": "20"})
    assert k8s(quick, DEPLOYMENT, workload).value("spec.progressDeadlineSeconds") == 20
    assert k8s(quick, DEPLOYMENT, workload).custom_timeouts["update"] == "35s"


@pytest.mark.parametrize("workload", DEPLOYMENTS)
def test_replicated_workloads_have_a_budget_and_spread(dev: Simulation, workload: str) -> None:
    budget = k8s(dev, PDB, workload).value("spec")
    selector = k8s(dev, DEPLOYMENT, workload).value("spec.selector.matchLabels")
    assert budget["selector"]["matchLabels"] == selector
    assert budget["maxUnavailable"] == 1
    (spread,) = pod_template(k8s(dev, DEPLOYMENT, workload))["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"] == selector


def test_every_object_carries_the_recommended_labels(dev: Simulation) -> None:
    for registration in dev.registrations:
        if (
            registration.type.startswith("kubernetes:")
            and registration.type != "kubernetes:helm.sh/v3:Release"
        ):
            labels = registration.value("metadata.labels") or {}
            assert labels.get("app.kubernetes.io/part-of") == "posts", registration.name
            if registration.type != NAMESPACE:
                assert "app.kubernetes.io/name" in labels, registration.name
                assert "app.kubernetes.io/component" in labels, registration.name


# -- network policies -----------------------------------------------------------------------------


def _policies(simulation: Simulation) -> dict[str, dict]:
    return {r.value("metadata.name"): r.value("spec") for r in simulation.of_type(NETWORK_POLICY)}


def test_namespace_denies_all_traffic_by_default(dev: Simulation) -> None:
    assert _policies(dev)["default-deny"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }


def test_only_nginx_reaches_php_fpm(dev: Simulation) -> None:
    policies = _policies(dev)
    api_ingress = [
        p
        for p in policies.values()
        if p["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "api"
        and "ingress" in p
    ]
    (policy,) = api_ingress
    (rule,) = policy["ingress"]
    assert rule["from"] == [
        {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "nginx",
                    "app.kubernetes.io/part-of": "posts",
                }
            }
        }
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9000}]


def test_only_the_gateway_reaches_nginx_and_frontend(dev: Simulation) -> None:
    for workload in ("nginx", "frontend"):
        policy = k8s(dev, CILIUM_POLICY, f"{workload}-from-gateway").value("spec")
        assert policy["endpointSelector"]["matchLabels"]["app.kubernetes.io/name"] == workload
        assert policy["ingress"] == [
            {
                "fromEntities": ["ingress"],
                "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}],
            }
        ]
    # no Kubernetes NetworkPolicy admits other ingress to nginx or frontend
    for spec in _policies(dev).values():
        selected = spec["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        if selected in ("nginx", "frontend"):
            assert "ingress" not in spec


def test_egress_is_dns_databases_and_https_only(dev: Simulation) -> None:
    policies = _policies(dev)
    dns = policies["allow-dns"]["egress"][0]
    assert {p["port"] for p in dns["ports"]} == {53}
    php = policies["php-to-databases-and-https"]
    assert set(php["podSelector"]["matchExpressions"][0]["values"]) == {
        "api",
        "worker",
        "scheduler",
        "migrate",
        "restore-check",  # the restore drill's check (ops/restore_drill.py)
    }
    databases, https = php["egress"]
    assert databases["to"] == [{"ipBlock": {"cidr": "10.110.0.0/20"}}]
    assert {p["port"] for p in databases["ports"]} == {25060, 25061}
    assert {p["port"] for p in https["ports"]} == {443}
    assert "10.0.0.0/8" in https["to"][0]["ipBlock"]["except"]
    allowed_ports = {
        p["port"]
        for spec in policies.values()
        for rule in spec.get("egress", [])
        for p in rule["ports"]
    }
    assert allowed_ports == {53, 9000, 25060, 25061, 443}
