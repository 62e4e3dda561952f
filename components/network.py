"""The stack's private network: one VPC that the cluster and both databases join."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean


@dataclass(frozen=True)
class NetworkArgs:
    name: str
    region: str
    ip_range: str
    protect: bool


class Network(pulumi.ComponentResource):
    vpc: digitalocean.Vpc

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:Network", name, None, opts)
        self.vpc = digitalocean.Vpc(
            f"{name}-vpc",
            name=args.name,
            region=args.region,
            ip_range=args.ip_range,
            description="posts-infra: DOKS cluster, MySQL and Valkey",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.register_outputs({"vpc_id": self.vpc.id})
