"""Stack config, read and checked once into a typed `Settings`, one section per component.

    settings = load_settings()   # __main__.py: the only place the program reads config

Every problem is collected and reported together in one `ConfigError` before any resource is
registered, naming each bad key and what it accepts: each key against its schema entry
(`config/reading.py`), then the checks across keys (`config/checks.py`), then whether the pods
fit the node pool (`config/capacity.py`). `ConfigError` is a `pulumi.RunError`, so the CLI
prints the message without a Python traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from config import capacity, cloud
from config.checks import Sections, cross_key_problems
from config.reading import RawConfig, digitalocean_api, digitalocean_token, read
from config.schema import WORKLOADS
from config.sections import (
    AppSecrets,
    AppSettings,
    BackupSettings,
    ClusterSettings,
    DatabaseSettings,
    DataSettings,
    DigitalOceanAccess,
    EdgeSettings,
    MonitoringSettings,
    NetworkSettings,
    NotificationSettings,
    RestoreRequest,
    StackSettings,
    StorageAutoscaleSettings,
    WorkerSettings,
    fill,
)
from model.capacity import Assessment

__all__ = ["ConfigError", "RawConfig", "Settings", "load_settings", "parse_settings"]


class ConfigError(pulumi.RunError):
    """Bad stack config: the message lists every problem, one line each."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"stack '{stack}' has {len(problems)} bad config value(s); nothing was changed:\n"
            f"{lines}\n"
            f"Fix them with `pulumi config set -s {stack} <key> <value>` "
            "(see docs/config-reference.md)."
        )


@dataclass(frozen=True)
class Settings:
    stack: StackSettings
    network: NetworkSettings
    cluster: ClusterSettings
    data: DataSettings
    app: AppSettings
    edge: EdgeSettings
    monitoring: MonitoringSettings
    # Whether the pods fit the node pool: the render writes it as capacity.md.
    capacity: Assessment
    # Pods that wait for the autoscaler, or never fit at the peak, and what an offline run could
    # not check: the program logs them.
    warnings: tuple[str, ...]
    # DigitalOcean's API as the provider reaches it (the live cluster is read there).
    digitalocean: DigitalOceanAccess


def load_settings() -> Settings:
    """Read the running stack's config, as the engine hands it to the program."""
    return parse_settings(pulumi.get_stack(), RawConfig.from_engine())


def parse_settings(stack: str, raw: RawConfig) -> Settings:
    found = read(raw)
    values, bad, problems = found.values, found.bad, found.problems
    token = digitalocean_token(
        raw,
        auth_needs_token=values["kubernetesAuth"] == "token" and "kubernetesAuth" not in bad,
        problems=problems,
    )
    prefix = f"posts-{stack}"
    access = DigitalOceanAccess(*digitalocean_api(raw))
    # MySQL from a backup: the source and its backups as DigitalOcean lists them (config/cloud.py).
    restore_keys = {"restoreFrom", "restoreBackup"}
    restore = cloud.RestoreCheck(None, [], [])
    if values["restoreBackup"] and not values["restoreFrom"] and bad.isdisjoint(restore_keys):
        problems.append("restoreBackup: needs restoreFrom (the MySQL cluster whose backup it is)")
        bad.add("restoreBackup")
    if bad.isdisjoint(restore_keys):
        restore = cloud.check_restore(
            fill(RestoreRequest, values),
            stack_mysql=f"{prefix}-mysql",
            cloud=cloud.cloud_for(access),
        )
        problems += restore.problems
        bad.update(restore_keys if restore.problems else ())
    sections = Sections(
        network=fill(NetworkSettings, values),
        cluster=fill(ClusterSettings, values, digitalocean_token=token),
        data=fill(
            DataSettings,
            values,
            mysql=_database(values, "mysql", engine="mysql"),
            cache=_database(values, "cache", engine=values["cacheEngine"]),
            backups=fill(
                BackupSettings,
                values,
                storage_autoscale=fill(StorageAutoscaleSettings, values),
                restore=restore.restore,
            ),
        ),
        app=fill(
            AppSettings,
            values,
            secrets=_secrets(values),
            worker=fill(WorkerSettings, values),
            resources={
                workload: values[f"{workload}Resources"] for workload in (*WORKLOADS, "migrate")
            },
        ),
        edge=fill(EdgeSettings, values),
        monitoring=fill(
            MonitoringSettings,
            values,
            notifications=fill(
                NotificationSettings,
                values,
                slack_webhook=(
                    pulumi.Output.secret(values["alertSlackWebhook"])
                    if values["alertSlackWebhook"]
                    else None
                ),
            ),
        ),
    )
    problems += cross_key_problems(sections, bad)
    verdict = None
    if bad.isdisjoint(capacity.KEYS):
        verdict = capacity.check(sections.cluster, sections.app)
        problems += verdict.problems
    if problems:
        raise ConfigError(stack, problems)
    assert verdict is not None  # checked whenever the keys it reads have no problem

    return Settings(
        stack=fill(StackSettings, values, name=stack, name_prefix=prefix, tags=("posts", prefix)),
        network=sections.network,
        cluster=sections.cluster,
        data=sections.data,
        app=sections.app,
        edge=sections.edge,
        monitoring=sections.monitoring,
        capacity=verdict.assessment,
        warnings=(*verdict.warnings, *restore.warnings, *_alerting_warnings(sections.monitoring)),
        digitalocean=access,
    )


def _database(values: Mapping[str, Any], prefix: str, engine: str) -> DatabaseSettings:
    """MySQL's and the cache's keys differ only by their prefix (`mysqlSize`, `cacheSize`)."""
    return DatabaseSettings(
        engine=engine,
        version=values[f"{prefix}Version"],
        size=values[f"{prefix}Size"],
        node_count=values[f"{prefix}NodeCount"],
    )


def _secrets(values: Mapping[str, Any]) -> AppSecrets:
    def secret(value: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(value)

    docker_config = values["imagePullDockerConfig"]
    return AppSecrets(
        app_key=secret(values["appKey"]),
        aws_access_key_id=secret(values["awsAccessKeyId"]),
        aws_secret_access_key=secret(values["awsSecretAccessKey"]),
        rollbar_token=secret(values["rollbarToken"] or ""),
        health_check_email=secret(values["healthCheckEmail"] or ""),
        image_pull_docker_config=secret(docker_config) if docker_config else None,
    )


def _alerting_warnings(monitoring: MonitoringSettings) -> list[str]:
    if monitoring.enabled and not monitoring.notifications.anyone:
        return [
            "alerting: nobody is told, so only the uptime check is created (its dashboard records"
            " uptime and latency) and no alert: set alertEmails (addresses verified on the"
            " DigitalOcean account) or alertSlackChannel with alertSlackWebhook"
            " (docs/operations.md, 'Alerts')"
        ]
    return []
