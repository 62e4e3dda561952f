"""The posts application on the cluster: every workload of the seed, wired to MySQL and Valkey.

Order of a release (a new `imageTag`): the `migrate` Job of that tag runs first and must
complete; only then do the workloads roll (api, worker and scheduler, so new code never meets an
old schema; nginx and the frontend too, so a release is all or nothing). A failed migration
fails `pulumi up` on the Job (which names it) and nothing else rolls.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from components import workload as w
from components.settings import AppSettings

CONFIG_MAP = "posts"
SECRET = "posts"
REGISTRY_SECRET = "posts-registry"

# The seed's non-secret settings; `appSettings` overrides or extends them per stack.
DEFAULT_APP_SETTINGS: dict[str, str] = {
    "APP_NAME": "posts",
    "APP_ENV": "production",
    "APP_DEBUG": "false",
    "LOG_CHANNEL": "stack",
    "LOG_LEVEL": "error",
    "QUEUE_CONNECTION": "redis",
    "MAIL_MAILER": "log",
    "AWS_BUCKET": "computer-science-simplified-storage",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_USE_PATH_STYLE_ENDPOINT": "false",
    "AWS_URL": "https://computer-science-simplified-storage.s3.us-east-1.amazonaws.com/",
    "FILESYSTEM_DISK": "s3",
    "CACHE_DRIVER": "redis",
}

PHP_FPM_PORT = 9000
HTTP_PORT = 80


@dataclass(frozen=True)
class AppArgs:
    settings: AppSettings
    database_url: pulumi.Output[str]  # secret
    redis_url: pulumi.Output[str]  # secret
    database_port: pulumi.Input[int]
    cache_port: pulumi.Input[int]
    vpc_ip_range: str  # where the managed databases' private addresses live
    provider: kubernetes.Provider


def migrate_job_name(tag: str) -> str:
    """`migrate-<tag>`: one Job per release. A DNS label; long or odd tags get a short hash."""
    slug = re.sub(r"[^a-z0-9-]+", "-", tag.lower()).strip("-")
    if slug != tag or len(slug) > 40:
        digest = hashlib.sha256(tag.encode()).hexdigest()[:8]
        slug = f"{slug[:40].rstrip('-')}-{digest}".lstrip("-")
    return f"migrate-{slug}"


def content_hash(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class Application(pulumi.ComponentResource):
    namespace: kubernetes.core.v1.Namespace
    config_map: kubernetes.core.v1.ConfigMap
    secret: kubernetes.core.v1.Secret
    migrate: kubernetes.batch.v1.Job

    def __init__(
        self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:app:Application", name, None, opts)
        self._name = name
        self._args = args
        app = args.settings
        ns = app.namespace

        self.namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": ns,
                "labels": {
                    "app.kubernetes.io/part-of": w.PART_OF,
                    # The seed's images run as root, so `restricted` cannot be enforced;
                    # `baseline` is, and violations of `restricted` are reported.
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )

        settings_data = {**DEFAULT_APP_SETTINGS, **app.settings_overrides}
        self.config_map = kubernetes.core.v1.ConfigMap(
            f"{name}-configmap",
            metadata=self._meta(CONFIG_MAP, "config"),
            data=settings_data,
            opts=self._opts(),
        )

        secret_data: dict[str, pulumi.Input[str]] = {
            "APP_KEY": app.secrets.app_key,
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "AWS_ACCESS_KEY_ID": app.secrets.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": app.secrets.aws_secret_access_key,
            "ROLLBAR_TOKEN": app.secrets.rollbar_token,
            "HEALTH_CHECK_EMAIL": app.secrets.health_check_email,
        }
        self.secret = kubernetes.core.v1.Secret(
            f"{name}-secret",
            metadata=self._meta(SECRET, "config"),
            type="Opaque",
            string_data={k: pulumi.Output.secret(v) for k, v in secret_data.items()},
            opts=self._opts(),
        )

        pull_secrets: list[str] = []
        if app.secrets.image_pull_docker_config is not None:
            kubernetes.core.v1.Secret(
                f"{name}-registry-secret",
                metadata=self._meta(REGISTRY_SECRET, "config"),
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": app.secrets.image_pull_docker_config},
                opts=self._opts(),
            )
            pull_secrets.append(REGISTRY_SECRET)
        self._pull_secrets = pull_secrets

        # Pods read the ConfigMap and Secret only at start: a change of either rolls the
        # Deployments that use them, through these template annotations. The secret hash is a
        # SHA-256 over all the values together, APP_KEY and the generated database passwords
        # among them, so it reveals nothing and may be shown in plain in a diff.
        secret_hash = pulumi.Output.unsecret(
            pulumi.Output.all(*[pulumi.Output.from_input(v) for v in secret_data.values()]).apply(
                lambda values: content_hash(dict(zip(secret_data, values, strict=True)))
            )
        )
        self._rollout_annotations: dict[str, pulumi.Input[str]] = {
            "posts.dev/config-hash": content_hash(settings_data),
            "posts.dev/secret-hash": secret_hash,
        }

        self.migrate = self._migrate_job()
        after_migration = [self.migrate]

        api = self._api(after_migration)
        self._worker(after_migration)
        self._scheduler(after_migration)
        self._nginx(after_migration)
        self._frontend(after_migration)

        self._service("api-service", "api", PHP_FPM_PORT, "fastcgi")
        self._service("nginx-service", "nginx", HTTP_PORT, "http")
        self._service("frontend-service", "frontend", HTTP_PORT, "http")

        self._api_autoscaler(api)
        for workload in ("api", "nginx", "worker", "frontend"):
            self._disruption_budget(workload)
        self._network_policies()

        self.register_outputs(
            {"namespace": ns, "migrate_job": self.migrate.metadata.apply(lambda m: m.name)}
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _opts(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        """Children use the cluster's provider and wait for the namespace they live in."""
        return pulumi.ResourceOptions(
            parent=self,
            provider=self._args.provider,
            depends_on=[self.namespace, *(depends_on or [])],
        )

    def _meta(
        self, object_name: str, component: str, workload: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": object_name,
            "namespace": self._args.settings.namespace,
            "labels": w.labels(workload or object_name, component),
        }
        meta.update(extra)
        return meta

    def _php_container(
        self, workload: str, resources_key: str, **overrides: Any
    ) -> w.ContainerSpec:
        app = self._args.settings
        image_workload = "api" if workload == "migrate" else workload
        return w.ContainerSpec(
            name=workload,
            image=app.image(image_workload),
            resources=app.resources[resources_key],
            env_from=w.env_from(CONFIG_MAP, SECRET),
            **overrides,
        )

    def _deployment(
        self,
        workload: str,
        component: str,
        containers: list[dict[str, Any]],
        *,
        replicas: int | None,
        grace_seconds: int = 30,
        rollout_annotations: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> kubernetes.apps.v1.Deployment:
        app = self._args.settings
        template_annotations: dict[str, pulumi.Input[str]] = (
            dict(self._rollout_annotations) if rollout_annotations else {}
        )
        spec: dict[str, Any] = {
            "selector": {"matchLabels": w.selector(workload)},
            "revisionHistoryLimit": 5,
            # New pods must be ready before an old one goes: no capacity dip during a release.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": {
                        **w.labels(workload, component),
                        "app.kubernetes.io/version": app.image_tag,
                    },
                    **({"annotations": template_annotations} if template_annotations else {}),
                },
                "spec": w.pod_spec(
                    containers,
                    termination_grace_seconds=grace_seconds,
                    spread_selector=w.selector(workload),
                    image_pull_secrets=self._pull_secrets,
                ),
            },
        }
        if replicas is not None:
            spec = {"replicas": replicas, **spec}
        return kubernetes.apps.v1.Deployment(
            f"{self._name}-deployment-{workload}",
            metadata=self._meta(
                workload, component, annotations=w.checkov_skip_annotations(containers)
            ),
            spec=spec,
            opts=self._opts(depends_on),
        )

    # -- workloads -------------------------------------------------------------------------------

    def _migrate_job(self) -> kubernetes.batch.v1.Job:
        app = self._args.settings
        job_name = migrate_job_name(app.image_tag)
        container = w.container(
            self._php_container(
                "migrate", "migrate", command=["php", w.ARTISAN, "migrate", "--force"]
            )
        )
        return kubernetes.batch.v1.Job(
            # One logical resource whose name carries the tag: a new tag replaces it (the new
            # Job is created and awaited, then the old one deleted); the same tag is no change.
            f"{self._name}-job-migrate",
            metadata=self._meta(
                job_name,
                "migration",
                "migrate",
                annotations=w.checkov_skip_annotations([container]),
            ),
            spec={
                # A failed migration is investigated, not retried blindly.
                "backoffLimit": 0,
                "activeDeadlineSeconds": app.migrate_timeout_seconds,
                # No ttlSecondsAfterFinished: if Kubernetes deleted the finished Job, Pulumi
                # would see it gone and run the migration again.
                "template": {
                    "metadata": {
                        "labels": {
                            **w.labels("migrate", "migration"),
                            "app.kubernetes.io/version": app.image_tag,
                        }
                    },
                    "spec": w.pod_spec(
                        [container],
                        restart_policy="Never",
                        image_pull_secrets=self._pull_secrets,
                    ),
                },
            },
            opts=pulumi.ResourceOptions.merge(
                self._opts([self.config_map, self.secret]),
                pulumi.ResourceOptions(
                    # The previous release's Job goes first. Kept until the new one succeeded, a
                    # failed release would leave it in place, and rolling back to that release
                    # would then collide with it ("migrate-<tag>" already exists).
                    delete_before_replace=True,
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=f"{app.migrate_timeout_seconds + 120}s",
                        update=f"{app.migrate_timeout_seconds + 120}s",
                    ),
                ),
            ),
        )

    def _api(self, after: list[pulumi.Resource]) -> kubernetes.apps.v1.Deployment:
        php_fpm = w.container(
            self._php_container(
                "api",
                "api",
                port=PHP_FPM_PORT,
                port_name="fastcgi",
                capabilities=w.SWITCH_USER,
                # php-fpm accepts FastCGI on 9000 once its pool is up; a wedged master stops
                # accepting and is restarted.
                readiness=w.tcp_probe(PHP_FPM_PORT, period=5, failures=3),
                liveness=w.tcp_probe(PHP_FPM_PORT, period=10, failures=6, initial_delay=10),
                pre_stop_sleep_seconds=5,
            )
        )
        # No `replicas`: the HorizontalPodAutoscaler owns the count (4 to 8).
        return self._deployment(
            "api", "php-fpm", [php_fpm], replicas=None, rollout_annotations=True, depends_on=after
        )

    def _worker(self, after: list[pulumi.Resource]) -> None:
        worker = self._args.settings.worker
        command = [
            "php",
            w.ARTISAN,
            "queue:work",
            f"--queue={worker.queues}",
            f"--tries={worker.tries}",
            "--verbose",
            f"--timeout={worker.timeout_seconds}",
            f"--sleep={worker.sleep_seconds}",
            f"--max-jobs={worker.max_jobs}",
            f"--max-time={worker.max_time_seconds}",
        ]
        # The worker has no port: it is alive while its queue:work process is.
        alive = ["sh", "-c", "grep -qas 'queue:work' /proc/[0-9]*/cmdline"]
        container = w.container(
            self._php_container(
                "worker",
                "worker",
                command=command,
                readiness=w.exec_probe(alive, period=10, failures=3),
                liveness=w.exec_probe(alive, period=30, failures=3),
            )
        )
        # On SIGTERM queue:work finishes its current job; give it the job timeout and a margin.
        self._deployment(
            "worker",
            "queue-worker",
            [container],
            replicas=worker.replicas,
            grace_seconds=worker.timeout_seconds + 30,
            rollout_annotations=True,
            depends_on=after,
        )

    def _scheduler(self, after: list[pulumi.Resource]) -> None:
        app = self._args.settings
        container = w.container(
            self._php_container(
                "scheduler",
                "scheduler",
                command=["php", w.ARTISAN, "schedule:run", "--verbose", "--no-interaction"],
            )
        )
        kubernetes.batch.v1.CronJob(
            f"{self._name}-cronjob-scheduler",
            metadata=self._meta(
                "scheduler", "scheduler", annotations=w.checkov_skip_annotations([container])
            ),
            spec={
                "schedule": "* * * * *",
                "timeZone": "Etc/UTC",
                # Never two schedule:run at once; a run missed by more than 30 s is skipped.
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 30,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": w.labels("scheduler", "scheduler")},
                    "spec": {
                        "backoffLimit": 0,
                        "activeDeadlineSeconds": 300,
                        "ttlSecondsAfterFinished": 3600,
                        "template": {
                            "metadata": {
                                "labels": {
                                    **w.labels("scheduler", "scheduler"),
                                    "app.kubernetes.io/version": app.image_tag,
                                }
                            },
                            "spec": w.pod_spec(
                                [container],
                                restart_policy="Never",
                                image_pull_secrets=self._pull_secrets,
                            ),
                        },
                    },
                },
            },
            opts=self._opts(after),
        )

    def _nginx(self, after: list[pulumi.Resource]) -> None:
        app = self._args.settings
        # The seed's nginx image forwards PHP to `api-service:9000` (its fastcgi_pass).
        nginx = w.container(
            w.ContainerSpec(
                name="nginx",
                image=app.image("nginx"),
                resources=app.resources["nginx"],
                port=HTTP_PORT,
                capabilities=w.NGINX_CAPABILITIES,
                # TCP, not an HTTP path: every path of this nginx goes to php-fpm, and nginx
                # must stay ready (and alive) while api pods roll.
                readiness=w.tcp_probe(HTTP_PORT, period=5, failures=3),
                liveness=w.tcp_probe(HTTP_PORT, period=10, failures=6, initial_delay=5),
                pre_stop_sleep_seconds=5,
            )
        )
        # After the migration too: a failed release leaves the whole app on the previous one.
        self._deployment("nginx", "web", [nginx], replicas=app.nginx_replicas, depends_on=after)

    def _frontend(self, after: list[pulumi.Resource]) -> None:
        app = self._args.settings
        frontend = w.container(
            w.ContainerSpec(
                name="frontend",
                image=app.image("frontend"),
                resources=app.resources["frontend"],
                port=HTTP_PORT,
                capabilities=w.NGINX_CAPABILITIES,
                readiness=w.http_probe("/", HTTP_PORT, period=5, failures=3),
                liveness=w.tcp_probe(HTTP_PORT, period=10, failures=6, initial_delay=5),
                pre_stop_sleep_seconds=5,
            )
        )
        self._deployment(
            "frontend", "frontend", [frontend], replicas=app.frontend_replicas, depends_on=after
        )

    # -- services, scaling, disruption -----------------------------------------------------------

    def _service(self, service_name: str, workload: str, port: int, port_name: str) -> None:
        kubernetes.core.v1.Service(
            f"{self._name}-service-{workload}",
            metadata=self._meta(service_name, "service", workload),
            spec={
                "type": "ClusterIP",
                "selector": w.selector(workload),
                "ports": [{"name": port_name, "protocol": "TCP", "port": port, "targetPort": port}],
            },
            opts=self._opts(),
        )

    def _api_autoscaler(self, api: kubernetes.apps.v1.Deployment) -> None:
        app = self._args.settings
        kubernetes.autoscaling.v2.HorizontalPodAutoscaler(
            f"{self._name}-hpa-api",
            metadata=self._meta("api", "autoscaler"),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "minReplicas": app.api_min_replicas,
                "maxReplicas": app.api_max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": app.api_cpu_target_percent,
                            },
                        },
                    }
                ],
                # Scale up at once, scale down only after 5 calm minutes.
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
            opts=self._opts([api]),
        )

    def _disruption_budget(self, workload: str) -> None:
        kubernetes.policy.v1.PodDisruptionBudget(
            f"{self._name}-pdb-{workload}",
            metadata=self._meta(workload, "disruption-budget"),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": w.selector(workload)}},
            opts=self._opts(),
        )

    # -- network policies ------------------------------------------------------------------------

    def _network_policy(self, policy_name: str, spec: dict[str, Any]) -> None:
        kubernetes.networking.v1.NetworkPolicy(
            f"{self._name}-netpol-{policy_name}",
            metadata=self._meta(policy_name, "network-policy", "posts"),
            spec=spec,
            opts=self._opts(),
        )

    def _network_policies(self) -> None:
        args = self._args
        php = {
            "matchExpressions": [
                {
                    "key": "app.kubernetes.io/name",
                    "operator": "In",
                    "values": ["api", "worker", "scheduler", "migrate"],
                },
                {"key": "app.kubernetes.io/part-of", "operator": "In", "values": [w.PART_OF]},
            ]
        }
        self._network_policy(
            "default-deny",
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        )
        self._network_policy(
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        )
        self._network_policy(
            "api-from-nginx",
            {
                "podSelector": {"matchLabels": w.selector("api")},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": w.selector("nginx")}}],
                        "ports": [{"protocol": "TCP", "port": PHP_FPM_PORT}],
                    }
                ],
            },
        )
        self._network_policy(
            "nginx-to-api",
            {
                "podSelector": {"matchLabels": w.selector("nginx")},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": w.selector("api")}}],
                        "ports": [{"protocol": "TCP", "port": PHP_FPM_PORT}],
                    }
                ],
            },
        )
        self._network_policy(
            "php-to-databases-and-https",
            {
                "podSelector": php,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        # The managed databases' private addresses are in the VPC.
                        "to": [{"ipBlock": {"cidr": args.vpc_ip_range}}],
                        "ports": [
                            {"protocol": "TCP", "port": args.database_port},
                            {"protocol": "TCP", "port": args.cache_port},
                        ],
                    },
                    {
                        # S3, Rollbar, mail APIs: HTTPS to the internet, not into private ranges.
                        "to": [
                            {
                                "ipBlock": {
                                    "cidr": "0.0.0.0/0",
                                    "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                                }
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": 443}],
                    },
                ],
            },
        )
        # Traffic from DOKS's Gateway (Cilium's Envoy) carries Cilium's reserved `ingress`
        # identity, which a Kubernetes NetworkPolicy cannot name; a CiliumNetworkPolicy can.
        for workload in ("nginx", "frontend"):
            kubernetes.apiextensions.CustomResource(
                f"{self._name}-cnp-{workload}-from-gateway",
                api_version="cilium.io/v2",
                kind="CiliumNetworkPolicy",
                metadata=self._meta(f"{workload}-from-gateway", "network-policy", workload),
                spec={
                    "endpointSelector": {"matchLabels": w.selector(workload)},
                    "ingress": [
                        {
                            "fromEntities": ["ingress"],
                            "toPorts": [{"ports": [{"port": str(HTTP_PORT), "protocol": "TCP"}]}],
                        }
                    ],
                },
                opts=self._opts(),
            )
