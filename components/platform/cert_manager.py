"""cert-manager and its Let's Encrypt ClusterIssuer: a cluster-wide add-on, installed with `tls`.

cert-manager (Helm chart, its Gateway API support on) watches Gateways annotated with the
ClusterIssuer and gets each HTTPS listener's certificate from Let's Encrypt by HTTP-01, the
challenge answered through the app's Gateway itself (the issuer names its plain-HTTP listener).
The public entry (`components/app/edge.py`) waits for the issuer and annotates its Gateway.

Both resources were children of the app's `Edge` until the layout of issue 18. They keep their
logical names, and an alias names their URN under the Edge, so a stack deployed before the move
keeps them: no replacement, no new certificate.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.labels import labels

CLUSTER_ISSUER = "letsencrypt"
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
# cert-manager issues the Gateway's certificate (its Gateway API support, HTTP-01 through the
# Gateway itself). Pinned; checked 2026-11.
CERT_MANAGER_CHART_VERSION = "v1.19.1"
# Where the two resources were, and the names they had there (a name is identity in the state).
FORMER_PARENT_TYPE, FORMER_PARENT_NAME = "posts:app:Edge", "edge"
RELEASE_NAME = f"{FORMER_PARENT_NAME}-cert-manager"
ISSUER_NAME = f"{FORMER_PARENT_NAME}-cluster-issuer"


def moved_from_the_edge() -> pulumi.Alias:
    """The alias of a resource that was a child of the app's Edge: same name and type there."""
    return pulumi.Alias(parent=pulumi.create_urn(FORMER_PARENT_NAME, FORMER_PARENT_TYPE))


@dataclass(frozen=True)
class ChallengeListener:
    """The Gateway listener that Let's Encrypt's HTTP-01 challenges come through."""

    gateway: str
    namespace: str
    listener: str


@dataclass(frozen=True)
class CertManagerArgs:
    email: str  # the ACME account's
    challenges: ChallengeListener
    provider: kubernetes.Provider


class CertManager(pulumi.ComponentResource):
    release: kubernetes.helm.v3.Release
    issuer: kubernetes.apiextensions.CustomResource
    issuer_name: str = CLUSTER_ISSUER

    def __init__(
        self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:CertManager", name, None, opts)
        moved = moved_from_the_edge()

        self.release = kubernetes.helm.v3.Release(
            RELEASE_NAME,
            name="cert-manager",
            chart="cert-manager",
            version=CERT_MANAGER_CHART_VERSION,
            repository_opts={"repo": "https://charts.jetstack.io"},
            namespace="cert-manager",
            create_namespace=True,
            values={
                "crds": {"enabled": True},
                "config": {
                    "apiVersion": "controller.config.cert-manager.io/v1alpha1",
                    "kind": "ControllerConfiguration",
                    "enableGatewayAPI": True,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, aliases=[moved]),
        )
        challenges = args.challenges
        self.issuer = kubernetes.apiextensions.CustomResource(
            ISSUER_NAME,
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            # Labelled for what it serves: the public entry.
            metadata={"name": CLUSTER_ISSUER, "labels": labels("cert-manager", "edge")},
            spec={
                "acme": {
                    "server": LETS_ENCRYPT,
                    "email": args.email,
                    "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-account-key"},
                    "solvers": [
                        {
                            "http01": {
                                "gatewayHTTPRoute": {
                                    "parentRefs": [
                                        {
                                            "name": challenges.gateway,
                                            "namespace": challenges.namespace,
                                            "kind": "Gateway",
                                            "sectionName": challenges.listener,
                                        }
                                    ]
                                }
                            }
                        }
                    ],
                }
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[self.release],
                aliases=[moved],
            ),
        )
        self.register_outputs({"cluster_issuer": CLUSTER_ISSUER})
