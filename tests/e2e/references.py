"""What kwok cannot show: whether what the pods and routes refer to exists.

kwok makes every pod Ready whatever its spec says, so a pod whose `envFrom` names a Secret that
does not exist runs here, where a real kubelet would refuse to start it
(`CreateContainerConfigError`). These checks read the live objects from the API server:

- every `envFrom` (ConfigMap, Secret), `valueFrom` (`configMapKeyRef`, `secretKeyRef`) and
  `configMap`/`secret` volume of every pod of the namespace resolves, keys included (unless the
  reference is `optional`);
- every Service has at least one ready endpoint, from the EndpointSlices the real
  controller-manager keeps;
- every HTTPRoute is accepted by its Gateway with its references resolved, and each listener
  counts the routes attached to it (the Gateway controller's status,
  tests/e2e/kube/gateway_controller.py).

Each returns its problems; empty means all is well.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.engine.environment import NAMESPACE, StackEnvironment


def _keys(obj: dict[str, Any]) -> set[str]:
    return set(obj.get("data") or {}) | set(obj.get("binaryData") or {})


def unresolved_references(env: StackEnvironment, namespace: str = NAMESPACE) -> list[str]:
    def by_name(kind: str) -> dict[str, dict[str, Any]]:
        listed = env.kubectl_json("get", kind, "-n", namespace)["items"]
        return {item["metadata"]["name"]: item for item in listed}

    config_maps, secrets = by_name("configmaps"), by_name("secrets")
    problems: set[str] = set()

    def check(owner: str, kind: str, name: str, key: str | None, optional: bool) -> None:
        if optional:
            return
        found = (config_maps if kind == "ConfigMap" else secrets).get(name)
        if found is None:
            problems.add(f"{owner}: {kind} {namespace}/{name} does not exist")
        elif key is not None and key not in _keys(found):
            problems.add(f"{owner}: {kind} {namespace}/{name} has no key {key!r}")

    for pod in env.kubectl_json("get", "pods", "-n", namespace)["items"]:
        labels = pod["metadata"].get("labels") or {}
        owner = f"pod of {labels.get('app.kubernetes.io/name', pod['metadata']['name'])}"
        spec = pod["spec"]
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    ref = source["configMapRef"]
                    check(owner, "ConfigMap", ref["name"], None, bool(ref.get("optional")))
                if "secretRef" in source:
                    ref = source["secretRef"]
                    check(owner, "Secret", ref["name"], None, bool(ref.get("optional")))
            for variable in container.get("env") or []:
                value_from = variable.get("valueFrom") or {}
                for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    if field in value_from:
                        ref = value_from[field]
                        check(owner, kind, ref["name"], ref["key"], bool(ref.get("optional")))
        for volume in spec.get("volumes") or []:
            if "configMap" in volume:
                ref = volume["configMap"]
                check(owner, "ConfigMap", ref["name"], None, bool(ref.get("optional")))
            if "secret" in volume:
                ref = volume["secret"]
                check(owner, "Secret", ref["secretName"], None, bool(ref.get("optional")))
    return sorted(problems)


def services_without_ready_endpoints(
    env: StackEnvironment, namespace: str = NAMESPACE
) -> list[str]:
    slices = env.kubectl_json("get", "endpointslices", "-n", namespace)["items"]
    ready: dict[str, int] = {}
    for endpoint_slice in slices:
        labels = endpoint_slice["metadata"].get("labels") or {}
        service = str(labels.get("kubernetes.io/service-name", ""))
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready"):
                ready[service] = ready.get(service, 0) + 1
    services = env.kubectl_json("get", "services", "-n", namespace)["items"]
    return sorted(
        f"Service {namespace}/{s['metadata']['name']} has no ready endpoint"
        for s in services
        if s["spec"].get("selector") and not ready.get(s["metadata"]["name"])
    )


def route_problems(env: StackEnvironment, namespace: str = NAMESPACE) -> list[str]:
    """Each HTTPRoute accepted with its references resolved, and counted on its listener."""
    problems = []
    routes = env.kubectl_json("get", "httproutes", "-n", namespace)["items"]
    on_listener: dict[tuple[str, str], int] = {}
    for route in routes:
        name = route["metadata"]["name"]
        parents = (route.get("status") or {}).get("parents") or []
        if not parents:
            problems.append(f"HTTPRoute {name}: no status from the Gateway controller")
        for parent in parents:
            conditions = {c["type"]: c for c in parent.get("conditions") or []}
            for wanted in ("Accepted", "ResolvedRefs"):
                condition = conditions.get(wanted) or {}
                if condition.get("status") != "True":
                    problems.append(
                        f"HTTPRoute {name}: {wanted}={condition.get('status')}"
                        f" ({condition.get('reason')}: {condition.get('message')})"
                    )
            ref = parent["parentRef"]
            key = (ref["name"], ref.get("sectionName", ""))
            on_listener[key] = on_listener.get(key, 0) + 1
    for gateway in env.kubectl_json("get", "gateways", "-n", namespace)["items"]:
        for listener in (gateway.get("status") or {}).get("listeners") or []:
            expected = on_listener.get((gateway["metadata"]["name"], listener["name"]), 0)
            if listener.get("attachedRoutes") != expected:
                problems.append(
                    f"Gateway {gateway['metadata']['name']} listener {listener['name']}:"
                    f" {listener.get('attachedRoutes')} attached routes, {expected} route to it"
                )
    return problems
