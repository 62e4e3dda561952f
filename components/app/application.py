"""The posts application on the cluster: every workload of the seed, wired to MySQL and Valkey.

Order of a release (a new `imageTag`): the `migrate` Job of that tag runs first and must
complete; only then do the workloads roll (api, worker and scheduler, so new code never meets an
old schema; nginx and the frontend too, so a release is all or nothing). A failed migration
fails `pulumi up` on the Job (which names it) and nothing else rolls.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes

from components.app.workloads.api import Api, api
from components.app.workloads.context import CONFIG_MAP, SECRET, AppContext
from components.app.workloads.deployments import Replicated
from components.app.workloads.migrate import migrate_job
from components.app.workloads.network_policies import network_policies
from components.app.workloads.scheduler import scheduler
from components.app.workloads.web_servers import frontend, nginx
from components.app.workloads.worker import worker
from components.labels import PART_OF
from config.sections import AppSettings, NetworkSettings

__all__ = ["AppArgs", "Application"]

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


class Connection(Protocol):
    """A managed database as the application reaches it (`MysqlDatabase`, `Cache`)."""

    connection_url: pulumi.Output[str]  # secret
    port: pulumi.Output[int]


@dataclass(frozen=True)
class AppArgs:
    app: AppSettings
    network: NetworkSettings  # the VPC holds the managed databases' private addresses
    database: Connection
    cache: Connection
    provider: kubernetes.Provider
    node_pool: digitalocean.KubernetesNodePool  # the app's pool: its pods run there only


def content_hash(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class Application(pulumi.ComponentResource):
    """Owns the wiring: the namespace, the ConfigMap and the Secret every workload reads, what
    rolls pods when they change, the release order (migration first), the network policies."""

    namespace: kubernetes.core.v1.Namespace
    config_map: kubernetes.core.v1.ConfigMap
    secret: kubernetes.core.v1.Secret
    migrate: kubernetes.batch.v1.Job
    api: Api
    worker: Replicated
    scheduler: kubernetes.batch.v1.CronJob
    nginx: Replicated
    frontend: Replicated
    network_policies: list[pulumi.CustomResource]

    def __init__(
        self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:app:Application", name, None, opts)
        settings = args.app

        self.namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": settings.namespace,
                "labels": {
                    "app.kubernetes.io/part-of": PART_OF,
                    # The seed's images run as root, so `restricted` cannot be enforced;
                    # `baseline` is, and violations of `restricted` are reported.
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )

        settings_data = {**DEFAULT_APP_SETTINGS, **settings.settings_overrides}
        secrets = settings.secrets
        secret_data: dict[str, pulumi.Input[str]] = {
            "APP_KEY": secrets.app_key,
            "DATABASE_URL": args.database.connection_url,
            "REDIS_URL": args.cache.connection_url,
            "AWS_ACCESS_KEY_ID": secrets.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": secrets.aws_secret_access_key,
            "ROLLBAR_TOKEN": secrets.rollbar_token,
            "HEALTH_CHECK_EMAIL": secrets.health_check_email,
        }
        # Pods read the ConfigMap and Secret only at start: a change of either rolls the
        # Deployments that use them, through these template annotations. The secret hash is a
        # SHA-256 over all the values together, APP_KEY and the generated database passwords
        # among them, so it reveals nothing and may be shown in plain in a diff.
        secret_hash = pulumi.Output.unsecret(
            pulumi.Output.all(*[pulumi.Output.from_input(v) for v in secret_data.values()]).apply(
                lambda values: content_hash(dict(zip(secret_data, values, strict=True)))
            )
        )
        app = AppContext(
            component=self,
            name=name,
            settings=settings,
            provider=args.provider,
            namespace=self.namespace,
            pull_secrets=[REGISTRY_SECRET] if secrets.image_pull_docker_config is not None else [],
            rollout_annotations={
                "posts.dev/config-hash": content_hash(settings_data),
                "posts.dev/secret-hash": secret_hash,
            },
            node_pool=args.node_pool.name,
        )

        self.config_map = kubernetes.core.v1.ConfigMap(
            f"{name}-configmap",
            metadata=app.meta(CONFIG_MAP, "config"),
            data=settings_data,
            opts=app.opts(),
        )
        self.secret = kubernetes.core.v1.Secret(
            f"{name}-secret",
            metadata=app.meta(SECRET, "config"),
            type="Opaque",
            string_data={k: pulumi.Output.secret(v) for k, v in secret_data.items()},
            opts=app.opts(),
        )
        if secrets.image_pull_docker_config is not None:
            kubernetes.core.v1.Secret(
                f"{name}-registry-secret",
                metadata=app.meta(REGISTRY_SECRET, "config"),
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": secrets.image_pull_docker_config},
                opts=app.opts(),
            )

        # A release: its migration first, then every workload.
        # The Job names no pool, so it waits for the pool explicitly: its pod must not stay
        # Pending while a new stack's pool is being built.
        self.migrate = migrate_job(app, after=[self.config_map, self.secret, args.node_pool])
        after_migration: list[pulumi.Resource] = [self.migrate]
        self.api = api(app, after_migration)
        self.worker = worker(app, after_migration)
        # The scheduler's CronJob has no rollout to fail: it would start the next minute's run
        # on a release whose servers never became ready. It moves once the api and the worker
        # have rolled out, so such a release leaves it on the previous one.
        self.scheduler = scheduler(
            app, [*after_migration, self.api.replicated.deployment, self.worker.deployment]
        )
        self.nginx = nginx(app, after_migration)
        self.frontend = frontend(app, after_migration)
        self.network_policies = network_policies(
            app,
            database_port=args.database.port,
            cache_port=args.cache.port,
            vpc_ip_range=args.network.vpc_ip_range.text,
        )

        self.register_outputs(
            {
                "namespace": settings.namespace,
                "migrate_job": self.migrate.metadata.apply(lambda m: m.name),
            }
        )
