"""scheduler: `php artisan schedule:run` every minute, as a CronJob (never two at once)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes

from components import workload as w
from components.workloads.base import AppContext


def scheduler(app: AppContext, after: list[pulumi.Resource]) -> None:
    """`after`: the release's migration."""
    container = w.container(
        app.php_container(
            "scheduler",
            command=["php", w.ARTISAN, "schedule:run", "--verbose", "--no-interaction"],
        )
    )
    kubernetes.batch.v1.CronJob(
        f"{app.name}-cronjob-scheduler",
        metadata=app.meta(
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
                                "app.kubernetes.io/version": app.settings.image_tag,
                            }
                        },
                        "spec": w.pod_spec(
                            [container], restart_policy="Never", image_pull_secrets=app.pull_secrets
                        ),
                    },
                },
            },
        },
        opts=app.opts(after),
    )
