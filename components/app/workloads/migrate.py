"""migrate: `php artisan migrate --force`, once per release, before the release's code runs.

One logical resource whose Kubernetes name carries the tag (`migrate-<tag>`): a new tag replaces
it, so the migration runs again; the same tag is no change, so it does not.
"""

from __future__ import annotations

import hashlib
import re

import pulumi
import pulumi_kubernetes as kubernetes

from components.app import pods
from components.app.workloads.context import AppContext


def migrate_job_name(tag: str) -> str:
    """`migrate-<tag>`: one Job per release. A DNS label; long or odd tags get a short hash."""
    slug = re.sub(r"[^a-z0-9-]+", "-", tag.lower()).strip("-")
    if slug != tag or len(slug) > 40:
        digest = hashlib.sha256(tag.encode()).hexdigest()[:8]
        slug = f"{slug[:40].rstrip('-')}-{digest}".lstrip("-")
    return f"migrate-{slug}"


def migrate_job(app: AppContext, after: list[pulumi.Resource]) -> kubernetes.batch.v1.Job:
    """The release's migration; `after`: the ConfigMap and Secret it reads."""
    settings = app.settings
    container = pods.container(
        app.php_container("migrate", command=["php", pods.ARTISAN, "migrate", "--force"])
    )
    return kubernetes.batch.v1.Job(
        f"{app.name}-job-migrate",
        metadata=app.controller_meta(
            migrate_job_name(settings.image_tag), "migration", "migrate", [container]
        ),
        spec={
            # A failed migration is investigated, not retried blindly.
            "backoffLimit": 0,
            "activeDeadlineSeconds": settings.migrate_timeout_seconds,
            # No ttlSecondsAfterFinished: if Kubernetes deleted the finished Job, Pulumi
            # would see it gone and run the migration again.
            # On any of the app's pools, not the one of this config by name: a new nodeSize
            # would otherwise replace the Job and run the release's migration again.
            "template": app.pod_template(
                "migrate", "migration", [container], restart_policy="Never", follow_pool=False
            ),
        },
        opts=pulumi.ResourceOptions.merge(
            app.opts(after),
            pulumi.ResourceOptions(
                # The previous release's Job goes first. Kept until the new one succeeded, a
                # failed release would leave it in place, and rolling back to that release
                # would then collide with it ("migrate-<tag>" already exists).
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{settings.migrate_timeout_seconds + 120}s",
                    update=f"{settings.migrate_timeout_seconds + 120}s",
                ),
            ),
        ),
    )
