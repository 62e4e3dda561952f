"""Which Kubernetes version a stack's DOKS cluster should run: pure rules, no `pulumi`.

`kubernetesVersionPrefix` names a minor (`1.36.`). The version the cluster is given:

- a new cluster: the newest patch DigitalOcean offers of that minor;
- a running cluster of that minor: the version it runs. DOKS applies patch upgrades itself in
  the maintenance window (`autoUpgrade`), so neither they nor a newer patch appearing show as a
  change;
- a running cluster one minor below: the newest patch of the prefix's minor, an in-place
  upgrade through DigitalOcean's upgrade API, if DigitalOcean offers it to this cluster (its
  `/v2/kubernetes/clusters/{id}/upgrades`; DOKS moves to the next minor only from the newest
  patch of the current one: terraform-provider-digitalocean#708, "invalid upgrade path");
- anything else is refused before anything changes: a lower minor (DOKS cannot downgrade; the
  provider would replace the cluster: its CustomizeDiff forces a new cluster for a lower
  version) or more than one minor up (DOKS upgrades one minor at a time).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_SLUG = re.compile(r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)-do\.(?P<do>\d+)$")
KEY = "kubernetesVersionPrefix"


class VersionRefused(Exception):
    """The prefix cannot be carried out on this cluster; the message names the key first."""


@dataclass(frozen=True)
class VersionPlan:
    version: str  # what the cluster resource is given
    upgrade_from: str | None = None  # the version it runs, when `up` upgrades it in place
    running: str | None = None  # the version it runs now (None: a new cluster)

    @property
    def upgrade(self) -> bool:
        return self.upgrade_from is not None


def minor(slug_or_prefix: str) -> tuple[int, int]:
    """(1, 36) of `1.36.3-do.0` or of `1.36.`."""
    major, minor_text = slug_or_prefix.split(".")[:2]
    return int(major), int(minor_text)


def minor_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}."


def is_slug(text: str) -> bool:
    return _SLUG.match(text) is not None


def plan_version(
    prefix: str,
    running: str | None,
    newest_of_prefix: str | None,
    upgrades: Callable[[], Sequence[str]],
) -> VersionPlan:
    """The plan for `prefix` given the version the cluster runs (None: no cluster yet), the
    newest patch DigitalOcean offers of the prefix (None: none), and DigitalOcean's upgrades for
    this cluster (asked only when an upgrade is wanted). Raises `VersionRefused`."""
    if running is None:
        if newest_of_prefix is None:
            raise VersionRefused(_not_offered(prefix))
        return VersionPlan(version=newest_of_prefix)
    wanted, current = minor(prefix), minor(running)
    if wanted == current:
        return VersionPlan(version=running, running=running)
    if wanted < current:
        raise VersionRefused(
            f"{KEY}: '{prefix}' is below the {minor_text(current)} the cluster runs"
            f" ({running}); DOKS cannot downgrade a cluster (DigitalOcean's provider would"
            f" replace it). Set it to '{minor_text(current)}'"
        )
    next_minor = (current[0], current[1] + 1)
    if wanted != next_minor:
        raise VersionRefused(
            f"{KEY}: '{prefix}' skips a minor: the cluster runs {running} and DOKS upgrades one"
            f" minor at a time. Set '{minor_text(next_minor)}' and run `pulumi up`, then"
            f" '{prefix}'"
        )
    if newest_of_prefix is None:
        raise VersionRefused(_not_offered(prefix))
    offered = list(upgrades())
    if newest_of_prefix not in offered:
        listed = ", ".join(offered) if offered else "none"
        raise VersionRefused(
            f"{KEY}: DigitalOcean does not offer {newest_of_prefix} to this cluster, which runs"
            f" {running}: its upgrades are {listed}. DOKS moves to a new minor only from the"
            f" newest patch of the current one: keep '{minor_text(current)}' until the"
            " maintenance window (autoUpgrade) or `doctl kubernetes cluster upgrade` has"
            " brought it there"
        )
    return VersionPlan(version=newest_of_prefix, upgrade_from=running, running=running)


def _not_offered(prefix: str) -> str:
    return (
        f"{KEY}: DigitalOcean offers no Kubernetes version '{prefix}x'; `doctl kubernetes"
        " options versions` lists the offered ones"
    )
