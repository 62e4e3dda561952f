"""The labels every Kubernetes object of the stack carries (`app.kubernetes.io/*`)."""

from __future__ import annotations

PART_OF = "posts"
MANAGED_BY = "pulumi"

# Node labels. DOKS puts a pool's labels on its nodes: the cluster's own pool is "default", the
# app's pools are "app"; and DOKS itself labels every node with its pool's name.
POOL_ROLE_LABEL = "posts.dev/pool"
DOKS_POOL_LABEL = "doks.digitalocean.com/node-pool"


def labels(workload: str, component: str) -> dict[str, str]:
    """The labels every object of a workload carries; the first two are its selector."""
    return {
        "app.kubernetes.io/name": workload,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector(workload: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": workload, "app.kubernetes.io/part-of": PART_OF}
