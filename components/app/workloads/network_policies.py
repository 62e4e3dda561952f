"""Who may talk to whom inside the namespace: NetworkPolicies, and the CiliumNetworkPolicies
for what a Kubernetes NetworkPolicy cannot name (the Gateway's Envoy)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from components.app.workloads.context import HTTP_PORT, PHP_FPM_PORT, AppContext
from components.labels import PART_OF, selector

# The pods that talk to MySQL and Valkey: the app's PHP workloads, and the restore drill's
# check (ops/restore_drill.py), which reaches a MySQL cluster restored into the same VPC.
RESTORE_CHECK = "restore-check"
DATABASE_CLIENTS = ["api", "worker", "scheduler", "migrate", RESTORE_CHECK]


def _network_policy(
    app: AppContext, policy_name: str, spec: dict[str, Any]
) -> kubernetes.networking.v1.NetworkPolicy:
    return kubernetes.networking.v1.NetworkPolicy(
        f"{app.name}-netpol-{policy_name}",
        metadata=app.meta(policy_name, "network-policy", "posts"),
        spec=spec,
        opts=app.opts(),
    )


def network_policies(
    app: AppContext,
    database_port: pulumi.Input[int],
    cache_port: pulumi.Input[int],
    vpc_ip_range: str,
) -> list[pulumi.CustomResource]:
    """Deny everything, then allow: DNS; nginx to api:9000; the PHP pods to the databases in the
    VPC and to HTTPS outside private ranges; the Gateway to nginx and the frontend."""
    php = {
        "matchExpressions": [
            {
                "key": "app.kubernetes.io/name",
                "operator": "In",
                "values": DATABASE_CLIENTS,
            },
            {"key": "app.kubernetes.io/part-of", "operator": "In", "values": [PART_OF]},
        ]
    }
    policies: list[pulumi.CustomResource] = [
        _network_policy(
            app,
            "default-deny",
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        ),
        _network_policy(
            app,
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
        ),
        _network_policy(
            app,
            "api-from-nginx",
            {
                "podSelector": {"matchLabels": selector("api")},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": selector("nginx")}}],
                        "ports": [{"protocol": "TCP", "port": PHP_FPM_PORT}],
                    }
                ],
            },
        ),
        _network_policy(
            app,
            "nginx-to-api",
            {
                "podSelector": {"matchLabels": selector("nginx")},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": selector("api")}}],
                        "ports": [{"protocol": "TCP", "port": PHP_FPM_PORT}],
                    }
                ],
            },
        ),
        _network_policy(
            app,
            "php-to-databases-and-https",
            {
                "podSelector": php,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        # The managed databases' private addresses are in the VPC.
                        "to": [{"ipBlock": {"cidr": vpc_ip_range}}],
                        "ports": [
                            {"protocol": "TCP", "port": database_port},
                            {"protocol": "TCP", "port": cache_port},
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
        ),
    ]
    # Traffic from DOKS's Gateway (Cilium's Envoy) carries Cilium's reserved `ingress`
    # identity, which a Kubernetes NetworkPolicy cannot name; a CiliumNetworkPolicy can.
    for workload in ("nginx", "frontend"):
        cilium_policy = kubernetes.apiextensions.CustomResource(
            f"{app.name}-cnp-{workload}-from-gateway",
            api_version="cilium.io/v2",
            kind="CiliumNetworkPolicy",
            metadata=app.meta(f"{workload}-from-gateway", "network-policy", workload),
            spec={
                "endpointSelector": {"matchLabels": selector(workload)},
                "ingress": [
                    {
                        "fromEntities": ["ingress"],
                        "toPorts": [{"ports": [{"port": str(HTTP_PORT), "protocol": "TCP"}]}],
                    }
                ],
            },
            opts=app.opts(),
        )
        policies.append(cilium_policy)
    return policies
