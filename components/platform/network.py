"""The stack's private network: one VPC that the cluster and both databases join."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

from config.sections import NetworkSettings, StackSettings


@dataclass(frozen=True)
class NetworkArgs:
    stack: StackSettings
    network: NetworkSettings


class Network(pulumi.ComponentResource):
    vpc: digitalocean.Vpc

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:Network", name, None, opts)
        self.vpc = digitalocean.Vpc(
            f"{name}-vpc",
            name=f"{args.stack.name_prefix}-vpc",
            region=args.stack.region,
            ip_range=args.network.vpc_ip_range.text,
            description="posts-infra: DOKS cluster, MySQL and Valkey",
            opts=pulumi.ResourceOptions(parent=self, protect=args.stack.protect),
        )
        self.register_outputs({"vpc_id": self.vpc.id})
