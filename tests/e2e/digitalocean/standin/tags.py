"""Tags: the provider re-tags a database cluster through them; the stand-in tags database
clusters only."""

from __future__ import annotations

import re

from tests.e2e.digitalocean.standin.common import JSON, find, required_str, unprocessable
from tests.e2e.digitalocean.standin.databases import DatabaseClusters


class Tags:
    """The account's tags by name; the databases they tag carry them in their `tags`."""

    def __init__(self, databases: DatabaseClusters) -> None:
        self.databases = databases
        self.by_name: dict[str, JSON] = {}

    def create(self, body: JSON) -> JSON:
        name = required_str(body, "name")
        if not re.fullmatch(r"[a-zA-Z0-9_\-:]+", name) or len(name) > 255:
            unprocessable(f"tag name '{name}' is not valid")
        self.by_name.setdefault(name, {"name": name})
        return self.view(name)

    def view(self, name: str) -> JSON:
        find(self.by_name, name, "tag")
        tagged = [d for d in self.databases.by_id.values() if name in (d.api.get("tags") or [])]
        last = f"do:dbaas:{tagged[-1].api['id']}" if tagged else ""
        return {
            "name": name,
            "resources": {
                "count": len(tagged),
                "last_tagged_uri": last,
                "databases": {"count": len(tagged), "last_tagged_uri": last},
            },
        }

    def tag_resources(self, name: str, body: JSON, add: bool) -> None:
        self.view(name)
        resources = body.get("resources")
        if not isinstance(resources, list) or not resources:
            unprocessable("resources is required")
        for resource in resources:
            if resource.get("resource_type") != "database":
                unprocessable("the stand-in tags database clusters only")
            api = self.databases.get(str(resource.get("resource_id"))).api
            tags = [t for t in (api.get("tags") or []) if t != name]
            if add:
                tags.append(name)
            api["tags"] = tags or None

    def delete(self, name: str) -> None:
        self.view(name)
        for database in self.databases.by_id.values():
            tags = [t for t in (database.api.get("tags") or []) if t != name]
            database.api["tags"] = tags or None
        del self.by_name[name]
