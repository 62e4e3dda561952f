"""VPCs: create, read, update, delete; each region's default VPC, made on first use."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from tests.e2e.digitalocean.standin.common import (
    JSON,
    ApiError,
    Ids,
    check_region,
    find,
    required_str,
    timestamp_now,
    unprocessable,
)
from tests.e2e.digitalocean.standin.lifecycle import Behaviour


class Vpcs:
    """The account's VPCs by ID."""

    def __init__(self, ids: Ids, behaviour: Behaviour) -> None:
        self.ids = ids
        self.behaviour = behaviour
        self.by_id: dict[str, JSON] = {}

    def get(self, vpc_id: str) -> JSON:
        return find(self.by_id, vpc_id)

    def create(self, body: JSON) -> JSON:
        name = required_str(body, "name")
        region = required_str(body, "region")
        check_region(region)
        if not re.fullmatch(r"[a-zA-Z0-9\-.]+", name):
            unprocessable("name may contain only letters, digits, '-' and '.'")
        if self.behaviour.unique_names and any(v["name"] == name for v in self.by_id.values()):
            unprocessable(f"A VPC with the name '{name}' already exists")
        ip_range = body.get("ip_range") or "10.10.10.0/24"
        try:
            network = ipaddress.ip_network(ip_range, strict=True)
        except ValueError:
            unprocessable(f"ip_range '{ip_range}' is not a valid CIDR")
        if not network.is_private or not 16 <= network.prefixlen <= 28:
            unprocessable("ip_range must be a private network between /16 and /28")
        vpc_id = self.ids.new("vpc", name)
        vpc = {
            "id": vpc_id,
            "urn": f"do:vpc:{vpc_id}",
            "name": name,
            "description": str(body.get("description") or ""),
            "region": region,
            "ip_range": str(network),
            "default": False,
            "created_at": timestamp_now(),
        }
        self.by_id[vpc_id] = vpc
        return vpc

    def update(self, vpc_id: str, body: JSON, replace: bool) -> JSON:
        vpc = self.get(vpc_id)
        if replace:
            required_str(body, "name")
        if "name" in body:
            vpc["name"] = required_str(body, "name")
        if "description" in body:
            vpc["description"] = str(body["description"] or "")
        if body.get("default") is True:
            for other in self.by_id.values():
                if other["region"] == vpc["region"]:
                    other["default"] = False
            vpc["default"] = True
        return vpc

    def delete(self, vpc_id: str, members: Sequence[str]) -> None:
        """Refused with 403 while `members` (names of clusters and databases) are in it."""
        self.get(vpc_id)
        if members:
            raise ApiError(
                403, "forbidden", f"Can not delete VPC with members: {', '.join(sorted(members))}"
            )
        del self.by_id[vpc_id]

    def placement(self, vpc_id: str, region: str, field: str) -> str:
        """The VPC a new cluster or database goes into: `vpc_id` (from the request's `field`),
        which must be in `region`, or else the region's default VPC."""
        if not vpc_id:
            return str(self.default_in(region)["id"])
        if self.by_id.get(vpc_id, {}).get("region") != region:
            unprocessable(f"{field} '{vpc_id}' is not a VPC in {region}")
        return vpc_id

    def default_in(self, region: str) -> JSON:
        for vpc in self.by_id.values():
            if vpc["region"] == region and vpc["default"]:
                return vpc
        vpc = self.create({"name": f"default-{region}", "region": region})
        vpc["default"] = True
        return vpc
