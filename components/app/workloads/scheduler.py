"""scheduler: `php artisan schedule:run` every minute, as a CronJob (never two at once)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes

from components.app import pods
from components.app.workloads.context import AppContext
from components.labels import labels


def scheduler(app: AppContext, after: list[pulumi.Resource]) -> kubernetes.batch.v1.CronJob:
    """`after`: the release's migration, and the rollouts it must not run ahead of."""
    container = pods.container(
        app.php_container(
            "scheduler",
            command=["php", pods.ARTISAN, "schedule:run", "--verbose", "--no-interaction"],
        )
    )
    return kubernetes.batch.v1.CronJob(
        f"{app.name}-cronjob-scheduler",
        metadata=app.controller_meta("scheduler", "scheduler", "scheduler", [container]),
        spec={
            "schedule": "* * * * *",
            "timeZone": "Etc/UTC",
            # Never two schedule:run at once; a run missed by more than 30 s is skipped.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 30,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels("scheduler", "scheduler")},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 300,
                    "ttlSecondsAfterFinished": 3600,
                    "template": app.pod_template(
                        "scheduler", "scheduler", [container], restart_policy="Never"
                    ),
                },
            },
        },
        opts=app.opts(after),
    )
