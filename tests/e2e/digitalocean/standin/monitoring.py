"""Uptime checks and their alerts (`/v2/uptime/checks...`), and Monitoring alert policies
(`/v2/monitoring/alerts...`).

Checked as the stand-in's own reading of DigitalOcean's API reference says (reference.py): the
check types, regions, alert types, periods, windows and comparisons. A check's target is a URL
of its type (an address for `ping`); an alert policy on databases names existing database
clusters. Notifications are kept as DigitalOcean lists them, `email` and `slack` always arrays
(the provider sends `null` for the one not configured). DigitalOcean mails only addresses
verified on the account; it accepts any address when the alert is made, and so does this.
Deleting a check deletes its alerts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.digitalocean.standin import reference
from tests.e2e.digitalocean.standin.common import (
    JSON,
    Ids,
    find,
    required_str,
    strings,
    unprocessable,
)


def _choice(body: JSON, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    value = body.get(key)
    if value in (None, "") and default is not None:
        return default
    if value not in allowed:
        unprocessable(f"{key} '{value}' is not one of: {', '.join(allowed)}")
    return str(value)


def _flag(body: JSON, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        unprocessable(f"{key} must be true or false")
    return value


def _number(body: JSON, key: str, whole: bool) -> int | float:
    value = body.get(key)
    kinds: tuple[type, ...] = (int,) if whole else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool):
        unprocessable(f"{key} must be a {'whole ' if whole else ''}number, 0 or more")
    number: int | float = value  # type: ignore[assignment]
    if number < 0:
        unprocessable(f"{key} must be a {'whole ' if whole else ''}number, 0 or more")
    return number


def notifications(value: Any) -> JSON:
    """`{email: [...], slack: [{channel, url}]}` as DigitalOcean keeps them (arrays, both)."""
    if not isinstance(value, dict):
        unprocessable("the notifications must be an object with email and slack")
    emails = strings(value.get("email"))
    for email in emails:
        if "@" not in email.strip("@"):
            unprocessable(f"'{email}' is not an e-mail address")
    slack = value.get("slack") or []
    if not isinstance(slack, list):
        unprocessable("slack must be a list")
    channels = []
    for entry in slack:
        if not isinstance(entry, dict):
            unprocessable("each slack entry must be an object with channel and url")
        url = required_str(entry, "url")
        if urlsplit(url).scheme != "https":
            unprocessable("a Slack webhook url must be https")
        channels.append({"channel": required_str(entry, "channel"), "url": url})
    return {"email": emails, "slack": channels}


class UptimeChecks:
    """The account's Uptime checks by ID, and each check's alerts by ID."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.by_id: dict[str, JSON] = {}
        self.alerts: dict[str, dict[str, JSON]] = {}  # check ID -> alert ID -> alert

    def _fields(self, body: JSON) -> JSON:
        kind = _choice(body, "type", reference.UPTIME_CHECK_TYPES, default="https")
        target = required_str(body, "target")
        parts = urlsplit(target)
        if kind == "ping":
            if parts.scheme or "/" in target:
                unprocessable(f"a ping check's target is a host name or address, not '{target}'")
        elif parts.scheme != kind or not parts.netloc:
            unprocessable(f"an {kind} check's target must be an {kind}:// URL, not '{target}'")
        regions = strings(body.get("regions"))
        for region in regions:
            if region not in reference.UPTIME_REGIONS:
                unprocessable(
                    f"region '{region}' is not one of: {', '.join(reference.UPTIME_REGIONS)}"
                )
        return {
            "name": required_str(body, "name"),
            "type": kind,
            "target": target,
            "regions": list(dict.fromkeys(regions)) or ["us_east"],
            "enabled": _flag(body, "enabled", True),
        }

    def create(self, body: JSON) -> JSON:
        fields = self._fields(body)
        check_id = self.ids.new("uptime_check", fields["name"])
        self.by_id[check_id] = {"id": check_id, **fields}
        self.alerts[check_id] = {}
        return copy.deepcopy(self.by_id[check_id])

    def get(self, check_id: str) -> JSON:
        return copy.deepcopy(find(self.by_id, check_id, "check"))

    def views(self) -> list[JSON]:
        return [copy.deepcopy(c) for c in self.by_id.values()]

    def update(self, check_id: str, body: JSON) -> JSON:
        check = find(self.by_id, check_id, "check")
        check.update(self._fields(body))
        return copy.deepcopy(check)

    def delete(self, check_id: str) -> None:
        find(self.by_id, check_id, "check")
        del self.by_id[check_id]
        del self.alerts[check_id]

    def check_state(self, check_id: str) -> JSON:
        """Every region UP: the stand-in's app is always there."""
        check = self.get(check_id)
        regions = {
            region: {"status": "UP", "status_changed_at": "", "thirty_day_uptime_percentage": 100}
            for region in check["regions"]
            if region in ("us_east", "eu_west")  # the description's regional_state names two
        }
        return {"regions": regions}

    # -- alerts ----------------------------------------------------------------------------------

    def _alert_fields(self, body: JSON) -> JSON:
        return {
            "name": required_str(body, "name"),
            "type": _choice(body, "type", reference.UPTIME_ALERT_TYPES),
            "threshold": _number(body, "threshold", whole=True),
            "comparison": _choice(body, "comparison", reference.UPTIME_COMPARISONS),
            "notifications": notifications(body.get("notifications")),
            "period": _choice(body, "period", reference.UPTIME_ALERT_PERIODS),
        }

    def _alerts_of(self, check_id: str) -> dict[str, JSON]:
        find(self.by_id, check_id, "check")
        return self.alerts[check_id]

    def create_alert(self, check_id: str, body: JSON) -> JSON:
        alerts = self._alerts_of(check_id)
        fields = self._alert_fields(body)
        alert_id = self.ids.new("uptime_alert", f"{check_id}/{fields['name']}")
        alerts[alert_id] = {"id": alert_id, **fields}
        return copy.deepcopy(alerts[alert_id])

    def alert(self, check_id: str, alert_id: str) -> JSON:
        return copy.deepcopy(find(self._alerts_of(check_id), alert_id, "alert"))

    def alert_views(self, check_id: str) -> list[JSON]:
        return [copy.deepcopy(a) for a in self._alerts_of(check_id).values()]

    def update_alert(self, check_id: str, alert_id: str, body: JSON) -> JSON:
        alert = find(self._alerts_of(check_id), alert_id, "alert")
        alert.update(self._alert_fields(body))
        return copy.deepcopy(alert)

    def delete_alert(self, check_id: str, alert_id: str) -> None:
        alerts = self._alerts_of(check_id)
        find(alerts, alert_id, "alert")
        del alerts[alert_id]

    def state(self) -> tuple[list[JSON], list[JSON]]:
        """(checks, alerts with their check's ID) as the API shows them."""
        alerts = [
            {**copy.deepcopy(alert), "check_id": check_id}
            for check_id, of_check in self.alerts.items()
            for alert in of_check.values()
        ]
        return self.views(), alerts


class AlertPolicies:
    """The account's Monitoring alert policies by UUID. `database_exists(uuid)` says whether a
    database cluster of the account has that ID (the entities of the dbaas types)."""

    def __init__(self, ids: Ids, database_exists: Callable[[str], bool]) -> None:
        self.ids = ids
        self.database_exists = database_exists
        self.by_id: dict[str, JSON] = {}

    def _fields(self, body: JSON) -> JSON:
        kinds = (*reference.DROPLET_ALERT_TYPES, *reference.DATABASE_ALERT_TYPES)
        kind = _choice(body, "type", kinds)
        entities = strings(body.get("entities"))
        if kind in reference.DATABASE_ALERT_TYPES:
            for entity in entities:
                if not self.database_exists(entity):
                    unprocessable(f"entity '{entity}' is not a database cluster of this account")
        alerts = body.get("alerts")
        if not isinstance(alerts, dict):
            unprocessable("alerts must be an object with email and slack")
        return {
            "type": kind,
            "description": required_str(body, "description"),
            "compare": _choice(body, "compare", reference.ALERT_POLICY_COMPARISONS),
            "value": _number(body, "value", whole=False),
            "window": _choice(body, "window", reference.ALERT_POLICY_WINDOWS),
            "entities": entities,
            "tags": strings(body.get("tags")),
            "alerts": notifications(alerts),
            "enabled": _flag(body, "enabled", True),
        }

    def create(self, body: JSON) -> JSON:
        fields = self._fields(body)
        uuid = self.ids.new("alert_policy", f"{fields['type']}/{fields['description']}")
        self.by_id[uuid] = {"uuid": uuid, **fields}
        return copy.deepcopy(self.by_id[uuid])

    def get(self, uuid: str) -> JSON:
        return copy.deepcopy(find(self.by_id, uuid, "alert policy"))

    def views(self) -> list[JSON]:
        return [copy.deepcopy(p) for p in self.by_id.values()]

    def update(self, uuid: str, body: JSON) -> JSON:
        policy = find(self.by_id, uuid, "alert policy")
        policy.update(self._fields(body))
        return copy.deepcopy(policy)

    def delete(self, uuid: str) -> None:
        find(self.by_id, uuid, "alert policy")
        del self.by_id[uuid]
