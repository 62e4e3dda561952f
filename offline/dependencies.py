"""The order the engine creates a stack's resources in, from what each registration waits for.

The render writes its objects in this order (`offline/render.py`) and the first deploy's
estimate walks the same graph (`offline/deploy_time.py`).
"""

from __future__ import annotations

from offline.simulate import Registration, Simulation


def dependency_graph(simulation: Simulation) -> dict[str, set[str]]:
    """Each custom resource's URN -> the URNs of the custom resources it waits for (depending on
    a component means waiting for all of that component's resources)."""
    custom = [r for r in simulation.registrations if r.custom]
    known = {r.urn for r in custom}
    components = {r.urn for r in simulation.registrations if not r.custom}

    def direct(registration: Registration) -> set[str]:
        found: set[str] = set()
        for urn in registration.dependencies:
            if urn in known:
                found.add(urn)
            elif urn in components:
                found |= {
                    r.urn
                    for r in custom
                    if r.urn != registration.urn and _under(r, urn, simulation)
                }
        return found

    return {r.urn: direct(r) for r in custom}


def apply_order(simulation: Simulation) -> list[Registration]:
    """Dependencies first; among independent resources, a stable order by URN."""
    by_urn = {r.urn: r for r in simulation.registrations if r.custom}
    needs = dependency_graph(simulation)
    ordered: list[Registration] = []
    done: set[str] = set()
    while len(ordered) < len(by_urn):
        ready = sorted(urn for urn in needs if urn not in done and needs[urn] <= done)
        if not ready:  # a cycle cannot come from Pulumi; keep going deterministically
            ready = sorted(urn for urn in needs if urn not in done)[:1]
        for urn in ready:
            done.add(urn)
            ordered.append(by_urn[urn])
    return ordered


def _under(registration: Registration, ancestor: str, simulation: Simulation) -> bool:
    parent = registration.parent
    while parent:
        if parent == ancestor:
            return True
        known = simulation.by_urn(parent)
        parent = known.parent if known is not None else ""
    return False
