"""Knowing when production breaks: an uptime check of the app through its public entry, and the
alerts that tell the stack's owners, all in the stack's `pulumi up`.

- An Uptime check of `/api/health-check` (the seed's route, through the load balancer, nginx,
  php-fpm, Laravel and MySQL), https when the stack serves TLS, from at least two regions, with
  three alerts: down, latency over a threshold, and (with TLS) the certificate nearing expiry.
- Monitoring alert policies on the cluster's nodes (CPU, memory, disk), aimed at every Droplet
  carrying the node pool's tag, so nodes the autoscaler adds are covered; and on both databases
  (the `v1/dbaas/alerts/*` CPU, memory and disk types, aimed at the two clusters' IDs).

Everything notifies the same targets: e-mail addresses (DigitalOcean mails only addresses
verified on the account) and an optional Slack channel, whose webhook stays a Pulumi secret.
Readiness probes stay local to each pod (components/app/pods.py); the deep check is this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as digitalocean

from config.sections import MonitoringSettings, NotificationSettings, StackSettings
from model import catalog

HEALTH_ROUTE = "/api/health-check"  # the seed's health check, answered by Laravel via nginx


@dataclass(frozen=True)
class MonitoringArgs:
    stack: StackSettings
    monitoring: MonitoringSettings
    base_url: pulumi.Input[str]  # the public entry: http(s)://<hostname or address>
    tls: bool
    node_tag: str  # the tag every node of the pool carries
    database_ids: Sequence[pulumi.Input[str]]  # MySQL's and Valkey's cluster IDs
    # The check starts once the public entry serves the app: a first deploy is not an outage.
    check_after: list[pulumi.Resource] = field(default_factory=list)
    # The node alerts once the pool (and its tag) exists.
    nodes_after: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class UptimeAlertSpec:
    kind: str  # part of its logical name
    type: str  # DigitalOcean's alert type
    comparison: str
    threshold: int
    period: str
    summary: str  # what it means, in its name


def uptime_alerts(settings: MonitoringSettings, *, tls: bool) -> list[UptimeAlertSpec]:
    """Down, latency and (with TLS) certificate expiry, as DigitalOcean's alert types take them."""
    found = [
        # "down": the check failed from a region (no 2xx in time) for the whole period.
        UptimeAlertSpec(
            "down",
            "down",
            "less_than",
            1,
            settings.down_period,
            f"{HEALTH_ROUTE} down for {settings.down_period}",
        ),
        UptimeAlertSpec(
            "latency",
            "latency",
            "greater_than",
            settings.latency_ms,
            settings.latency_period,
            f"{HEALTH_ROUTE} slower than {settings.latency_ms} ms for {settings.latency_period}",
        ),
    ]
    if tls:
        found.append(
            UptimeAlertSpec(
                "tls-expiry",
                "ssl_expiry",
                "less_than",
                settings.tls_expiry_days,
                settings.down_period,
                f"TLS certificate expires within {settings.tls_expiry_days} days",
            )
        )
    return found


def health_check_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}{HEALTH_ROUTE}" if base_url else ""


class Monitoring(pulumi.ComponentResource):
    check: digitalocean.UptimeCheck
    uptime_alerts: dict[str, digitalocean.UptimeAlert]
    node_alerts: dict[str, digitalocean.MonitorAlert]
    database_alerts: dict[str, digitalocean.MonitorAlert]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:Monitoring", name, None, opts)
        settings, prefix = args.monitoring, args.stack.name_prefix
        child = pulumi.ResourceOptions(parent=self)

        self.check = digitalocean.UptimeCheck(
            f"{name}-uptime-check",
            name=f"{prefix} {HEALTH_ROUTE}",
            type="https" if args.tls else "http",
            target=pulumi.Output.from_input(args.base_url).apply(health_check_url),
            regions=list(settings.uptime_regions),
            enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.check_after),
        )
        self.uptime_alerts, self.node_alerts, self.database_alerts = {}, {}, {}
        if not settings.notifications.anyone:  # the program warned: nobody would be told
            self.register_outputs({"check_id": self.check.id, "target": self.check.target})
            return
        notifications = [_uptime_notification(settings.notifications)]
        self.uptime_alerts = {
            alert.kind: digitalocean.UptimeAlert(
                f"{name}-uptime-{alert.kind}",
                name=f"{prefix}: {alert.summary}",
                check_id=self.check.id,
                type=alert.type,
                comparison=alert.comparison,
                threshold=alert.threshold,
                period=alert.period,
                notifications=notifications,
                opts=child,
            )
            for alert in uptime_alerts(settings, tls=args.tls)
        }

        notify = _monitor_alerts(settings.notifications)
        self.node_alerts = self._policies(
            f"{name}-node",
            f"{prefix}: a node's",
            catalog.NODE_ALERT_TYPES,
            {
                "cpu": settings.node_cpu_percent,
                "memory": settings.node_memory_percent,
                "disk": settings.node_disk_percent,
            },
            settings.node_window,
            notify,
            # No `entities`: the provider refuses an empty list (at least one item); without it,
            # it sends `[]`, and the tag alone aims the policy.
            dict(tags=[args.node_tag]),
            pulumi.ResourceOptions(parent=self, depends_on=args.nodes_after),
        )
        self.database_alerts = self._policies(
            f"{name}-database",
            f"{prefix}: MySQL's or Valkey's",
            catalog.DATABASE_ALERT_TYPES,
            {
                "cpu": settings.database_cpu_percent,
                "memory": settings.database_memory_percent,
                "disk": settings.database_disk_percent,
            },
            settings.database_window,
            notify,
            dict(entities=list(args.database_ids)),
            child,
        )
        self.register_outputs({"check_id": self.check.id, "target": self.check.target})

    def _policies(
        self,
        name: str,
        whose: str,
        types: dict[str, str],
        thresholds: dict[str, int],
        window: str,
        notify: digitalocean.MonitorAlertAlertsArgs,
        aim: dict[str, list[pulumi.Input[str]]],
        opts: pulumi.ResourceOptions,
    ) -> dict[str, digitalocean.MonitorAlert]:
        """One alert policy per metric, above its threshold over the window, aimed by `aim`
        (tags or entities)."""
        return {
            metric: digitalocean.MonitorAlert(
                f"{name}-{metric}",
                type=types[metric],
                description=f"{whose} {_label(metric)} above {threshold}% over {window}",
                compare="GreaterThan",
                value=threshold,
                window=window,
                alerts=notify,
                enabled=True,
                opts=opts,
                **aim,
            )
            for metric, threshold in thresholds.items()
        }


def _label(metric: str) -> str:
    return "CPU" if metric == "cpu" else metric


def _uptime_notification(notify: NotificationSettings) -> digitalocean.UptimeAlertNotificationArgs:
    return digitalocean.UptimeAlertNotificationArgs(
        emails=list(notify.emails) or None,
        slacks=(
            [
                digitalocean.UptimeAlertNotificationSlackArgs(
                    channel=notify.slack_channel, url=notify.slack_webhook
                )
            ]
            if notify.slack_webhook is not None
            else None
        ),
    )


def _monitor_alerts(notify: NotificationSettings) -> digitalocean.MonitorAlertAlertsArgs:
    return digitalocean.MonitorAlertAlertsArgs(
        emails=list(notify.emails) or None,
        slacks=(
            [
                digitalocean.MonitorAlertAlertsSlackArgs(
                    channel=notify.slack_channel, url=notify.slack_webhook
                )
            ]
            if notify.slack_webhook is not None
            else None
        ),
    )
