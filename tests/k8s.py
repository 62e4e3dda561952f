"""Finding Kubernetes objects in a simulation by kind and `metadata.name`."""

from __future__ import annotations

from typing import Any

from offline.simulate import Registration, Simulation


def k8s(simulation: Simulation, kind: str, name: str) -> Registration:
    found = [r for r in simulation.of_type(kind) if r.value("metadata.name") == name]
    assert len(found) == 1, f"{kind} {name}: found {len(found)}"
    return found[0]


def pod_template(registration: Registration) -> dict[str, Any]:
    spec = registration.value("spec")
    if "jobTemplate" in spec:
        return spec["jobTemplate"]["spec"]["template"]
    return spec["template"]


def only_container(registration: Registration) -> dict[str, Any]:
    (container,) = pod_template(registration)["spec"]["containers"]
    return container
