"""The public entry: a Gateway API Gateway on DOKS's managed implementation, its routes, DNS.

DOKS runs Cilium's Gateway API implementation on VPC-native clusters (1.33+), under the
GatewayClass `cilium`; each Gateway gets a DigitalOcean Network Load Balancer. One Gateway serves
the whole app: `/api` goes to nginx (which hands PHP to php-fpm), everything else to the frontend.
ingress-nginx was retired in March 2026 and is not used. With `tls`, the certificate comes from
the platform's cert-manager (`components/platform/cert_manager.py`), which this Gateway waits for
and names; plain HTTP then redirects to HTTPS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_digitalocean as digitalocean
import pulumi_kubernetes as kubernetes

from components.labels import labels
from components.platform.cert_manager import CertManager, ChallengeListener
from config.sections import EdgeSettings, StackSettings

GATEWAY_CLASS = "cilium"
GATEWAY_NAME = "posts"
HTTP_LISTENER = "http"
TLS_SECRET = "posts-tls"
# Copied by Cilium onto the LoadBalancer Service that DigitalOcean's CCM reconciles.
LOAD_BALANCER_NAME = "service.beta.kubernetes.io/do-loadbalancer-name"


class GatewayResource(pulumi.CustomResource):
    """A `gateway.networking.k8s.io/v1` Gateway whose `status` (its addresses) is readable."""

    status: pulumi.Output[Any]

    def __init__(
        self,
        name: str,
        metadata: dict[str, Any],
        spec: dict[str, Any],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__(
            "kubernetes:gateway.networking.k8s.io/v1:Gateway",
            name,
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": metadata,
                "spec": spec,
                "status": None,
            },
            opts,
        )


@dataclass(frozen=True)
class EdgeArgs:
    stack: StackSettings
    edge: EdgeSettings
    namespace: str  # the application's
    provider: kubernetes.Provider
    depends_on: list[pulumi.Resource]
    cert_manager: CertManager | None  # with tls: what issues the certificate


def challenge_listener(namespace: str) -> ChallengeListener:
    """The listener of the Gateway in `namespace` that answers Let's Encrypt's challenges."""
    return ChallengeListener(gateway=GATEWAY_NAME, namespace=namespace, listener=HTTP_LISTENER)


def _address(status: Any) -> str:
    addresses = (status or {}).get("addresses") or []
    return str(addresses[0].get("value", "")) if addresses else ""


class Edge(pulumi.ComponentResource):
    gateway: GatewayResource
    public_address: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:app:Edge", name, None, opts)
        self._name = name
        self._args = args
        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=args.depends_on
        )

        load_balancer_name = f"{args.stack.name_prefix}-gateway"
        gateway_annotations: dict[str, str] = {
            # Wait until Cilium has programmed the Gateway, so its address is known.
            "pulumi.com/waitFor": "condition=Programmed",
        }
        if args.edge.tls:
            if args.cert_manager is None:
                raise ValueError("tls needs the platform's cert-manager")
            k8s_opts = pulumi.ResourceOptions.merge(
                k8s_opts, pulumi.ResourceOptions(depends_on=[args.cert_manager.issuer])
            )
            # cert-manager's gateway-shim creates the Certificate for the HTTPS listener.
            gateway_annotations["cert-manager.io/cluster-issuer"] = args.cert_manager.issuer_name

        self.gateway = GatewayResource(
            f"{name}-gateway",
            metadata={
                "name": GATEWAY_NAME,
                "namespace": args.namespace,
                "labels": labels("gateway", "edge"),
                "annotations": gateway_annotations,
            },
            spec={
                "gatewayClassName": GATEWAY_CLASS,
                "infrastructure": {"annotations": {LOAD_BALANCER_NAME: load_balancer_name}},
                "listeners": self._listeners(),
            },
            opts=pulumi.ResourceOptions.merge(
                k8s_opts,
                # A load balancer that never comes (the account's limit, a region without
                # capacity) fails `up` in bounded time with the Gateway's own reason.
                pulumi.ResourceOptions(
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=f"{args.edge.timeout_seconds}s",
                        update=f"{args.edge.timeout_seconds}s",
                    )
                ),
            ),
        )

        app_listener = "https" if args.edge.tls else HTTP_LISTENER
        self._route("api", "/api", "nginx-service", app_listener)
        self._route("frontend", "/", "frontend-service", app_listener)
        if args.edge.tls:
            self._https_redirect()

        self.public_address = self.gateway.status.apply(_address)
        if args.edge.hostname:
            self.url = pulumi.Output.from_input(
                f"{'https' if args.edge.tls else 'http'}://{args.edge.hostname}"
            )
        else:
            self.url = self.public_address.apply(lambda ip: f"http://{ip}" if ip else "")
        if args.edge.dns_domain:
            self._dns_record()

        self.register_outputs({"public_address": self.public_address, "url": self.url})

    def _listeners(self) -> list[dict[str, Any]]:
        args = self._args
        host = {"hostname": args.edge.hostname} if args.edge.hostname else {}
        same_namespace = {"namespaces": {"from": "Same"}}
        listeners: list[dict[str, Any]] = [
            {
                "name": HTTP_LISTENER,
                "protocol": "HTTP",
                "port": 80,
                **host,
                "allowedRoutes": same_namespace,
            }
        ]
        if args.edge.tls:
            listeners.append(
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    **host,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}],
                    },
                    "allowedRoutes": same_namespace,
                }
            )
        return listeners

    def _route_opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, provider=self._args.provider, depends_on=[self.gateway]
        )

    def _route_meta(self, route_name: str) -> dict[str, Any]:
        return {
            "name": route_name,
            "namespace": self._args.namespace,
            "labels": labels(route_name, "edge"),
        }

    def _parent(self, section: str) -> dict[str, Any]:
        return {"name": GATEWAY_NAME, "sectionName": section}

    def _route(self, route_name: str, path: str, service: str, listener: str) -> None:
        hostnames = {"hostnames": [self._args.edge.hostname]} if self._args.edge.hostname else {}
        kubernetes.apiextensions.CustomResource(
            f"{self._name}-route-{route_name}",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata=self._route_meta(route_name),
            spec={
                "parentRefs": [self._parent(listener)],
                **hostnames,
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                        "backendRefs": [{"name": service, "port": 80}],
                    }
                ],
            },
            opts=self._route_opts(),
        )

    def _https_redirect(self) -> None:
        kubernetes.apiextensions.CustomResource(
            f"{self._name}-route-https-redirect",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata=self._route_meta("https-redirect"),
            spec={
                "parentRefs": [self._parent(HTTP_LISTENER)],
                "hostnames": [self._args.edge.hostname],
                "rules": [
                    {
                        "filters": [
                            {
                                "type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301},
                            }
                        ]
                    }
                ],
            },
            opts=self._route_opts(),
        )

    def _dns_record(self) -> None:
        args = self._args
        record = (
            "@"
            if args.edge.hostname == args.edge.dns_domain
            else args.edge.hostname[: -len(args.edge.dns_domain) - 1]
        )
        digitalocean.DnsRecord(
            f"{self._name}-dns",
            domain=args.edge.dns_domain,
            type="A",
            name=record,
            value=self.public_address,
            ttl=300,
            opts=pulumi.ResourceOptions(parent=self),
        )
