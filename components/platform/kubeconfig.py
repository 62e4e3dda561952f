"""Kubeconfigs for a DOKS cluster whose credentials do not expire.

`KubernetesCluster.kube_configs[0]` carries a token that DigitalOcean expires after 7 days; a
provider built from it fails every `pulumi up` after that (pulumi-digitalocean issues 77, 78, 312,
445). These kubeconfigs take only the endpoint and CA from the cluster and authenticate with
something lasting: the stack's DigitalOcean API token as bearer token, or doctl's exec
credential, which fetches a fresh short-lived token on each use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import pulumi


@dataclass(frozen=True)
class KubeconfigAuth:
    method: Literal["token", "doctl"]
    token: pulumi.Output[str] | None = None  # required for "token"; a Pulumi secret


def build_kubeconfig(
    *,
    cluster_name: str,
    cluster_id: pulumi.Input[str],
    endpoint: pulumi.Input[str],
    ca_certificate: pulumi.Input[str],
    auth: KubeconfigAuth,
) -> pulumi.Output[str]:
    """A kubeconfig (JSON, which is YAML) for the cluster, as a Pulumi secret."""
    context = f"do-{cluster_name}"
    token: pulumi.Input[str] = ""
    if auth.method == "token":
        if auth.token is None:
            raise ValueError("token authentication needs a DigitalOcean API token")
        token = auth.token

    def render(values: list[str]) -> str:
        id_, server, ca, bearer = values
        if auth.method == "token":
            user: dict[str, object] = {"token": bearer}
        else:
            user = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "doctl",
                    "args": [
                        "kubernetes",
                        "cluster",
                        "kubeconfig",
                        "exec-credential",
                        "--version=v1beta1",
                        id_,
                    ],
                    "interactiveMode": "Never",
                }
            }
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": context, "cluster": {"server": server, "certificate-authority-data": ca}}
            ],
            "users": [{"name": f"{context}-admin", "user": user}],
            "contexts": [
                {"name": context, "context": {"cluster": context, "user": f"{context}-admin"}}
            ],
            "current-context": context,
        }
        return json.dumps(config, indent=2)

    return pulumi.Output.secret(
        pulumi.Output.all(cluster_id, endpoint, ca_certificate, token).apply(render)
    )
