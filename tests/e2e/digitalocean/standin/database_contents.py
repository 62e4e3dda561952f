"""What lives in a database cluster: its databases and its users."""

from __future__ import annotations

import copy

from tests.e2e.digitalocean.standin.common import JSON, find, not_found, required_str, unprocessable
from tests.e2e.digitalocean.standin.databases import DatabaseClusters, new_password


class DatabaseContents:
    """The databases (`dbs`) and users of the account's database clusters."""

    def __init__(self, databases: DatabaseClusters) -> None:
        self.databases = databases

    # -- databases -------------------------------------------------------------------------------

    def create_db(self, database_id: str, body: JSON) -> JSON:
        database = self.databases.get(database_id)
        if database.api["engine"] not in ("mysql", "pg"):
            unprocessable(f"{database.api['engine']} clusters have no databases")
        name = required_str(body, "name")
        if name in database.dbs:
            unprocessable(f"database '{name}' already exists")
        database.dbs.append(name)
        return {"name": name}

    def dbs(self, database_id: str) -> list[JSON]:
        return [{"name": n} for n in self.databases.get(database_id).dbs]

    def db(self, database_id: str, name: str) -> JSON:
        if name not in self.databases.get(database_id).dbs:
            not_found("database")
        return {"name": name}

    def delete_db(self, database_id: str, name: str) -> None:
        self.db(database_id, name)
        self.databases.get(database_id).dbs.remove(name)

    # -- users -----------------------------------------------------------------------------------

    def create_user(self, database_id: str, body: JSON) -> JSON:
        database = self.databases.get(database_id)
        name = required_str(body, "name")
        if name in database.users:
            unprocessable(f"user '{name}' already exists")
        user: JSON = {"name": name, "role": "normal", "password": new_password()}
        if database.api["engine"] == "mysql":
            settings = body.get("mysql_settings") or {}
            plugin = settings.get("auth_plugin") or "caching_sha2_password"
            if plugin not in ("mysql_native_password", "caching_sha2_password"):
                unprocessable(f"auth_plugin '{plugin}' is not supported")
            user["mysql_settings"] = {"auth_plugin": plugin}
        database.users[name] = user
        return copy.deepcopy(user)

    def users(self, database_id: str) -> list[JSON]:
        return list(self.databases.get(database_id).users.values())

    def user(self, database_id: str, name: str) -> JSON:
        return find(self.databases.get(database_id).users, name, "user")

    def reset_user_auth(self, database_id: str, name: str, body: JSON) -> JSON:
        user = self.user(database_id, name)
        settings = body.get("mysql_settings") or {}
        if "mysql_settings" in user and settings.get("auth_plugin"):
            user["mysql_settings"] = {"auth_plugin": settings["auth_plugin"]}
        user["password"] = new_password()
        return copy.deepcopy(user)

    def delete_user(self, database_id: str, name: str) -> None:
        user = self.user(database_id, name)
        if user["role"] == "primary":
            unprocessable("the primary user cannot be deleted")
        del self.databases.get(database_id).users[name]
