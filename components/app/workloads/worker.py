"""worker: `php artisan queue:work` on the configured queues; no port."""

from __future__ import annotations

import pulumi

from components.app import pods
from components.app.workloads.context import AppContext
from components.app.workloads.deployments import Replicated, replicated


def worker(app: AppContext, after: list[pulumi.Resource]) -> Replicated:
    """`after`: the release's migration."""
    settings = app.settings.worker
    command = [
        "php",
        pods.ARTISAN,
        "queue:work",
        f"--queue={settings.queues}",
        f"--tries={settings.tries}",
        "--verbose",
        f"--timeout={settings.timeout_seconds}",
        f"--sleep={settings.sleep_seconds}",
        f"--max-jobs={settings.max_jobs}",
        f"--max-time={settings.max_time_seconds}",
    ]
    # The worker has no port: it is alive while its queue:work process is.
    alive = ["sh", "-c", "grep -qas 'queue:work' /proc/[0-9]*/cmdline"]
    container = pods.container(
        app.php_container(
            "worker",
            command=command,
            readiness=pods.exec_probe(alive, period=10, failures=3),
            liveness=pods.exec_probe(alive, period=30, failures=3),
        )
    )
    # On SIGTERM queue:work finishes its current job; give it the job timeout and a margin.
    return replicated(
        app,
        "worker",
        "queue-worker",
        [container],
        replicas=settings.replicas,
        after=after,
        grace_seconds=settings.timeout_seconds + 30,
        rollout_annotations=True,
    )
