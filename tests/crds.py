"""CustomResourceDefinitions as the suites are given them, in either form a project publishes:
one CRD per file (the Gateway API's `config/crd/standard/*.yaml`, as `../shared/schemas/` holds
them; Cilium's CRDs in the toolchain) or a release's multi-document bundle (the Gateway API's
`standard-install.yaml`, which also holds objects that are not CRDs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# What the program deploys (Gateway, HTTPRoute) and what the cluster must hold before it does
# (the `cilium` GatewayClass the Gateway names).
GATEWAY_API_KINDS = ("GatewayClass", "Gateway", "HTTPRoute")


def load_crds(directory: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the `*.yaml` files of `directory`, in file order."""
    found = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.load_all(path.read_text(), Loader=_LOADER):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                found.append(document)
    return found


def by_kind(crds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {crd["spec"]["names"]["kind"]: crd for crd in crds}


def resource(crd: dict[str, Any]) -> str:
    """`<plural>.<group>`: how kubectl names the custom resource."""
    return f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"


def gateway_api_crds(directory: Path) -> list[dict[str, Any]]:
    """The Gateway API CRDs in `directory`; an error naming the folder and what it lacks unless
    GatewayClass, Gateway and HTTPRoute are all there."""
    crds = [crd for crd in load_crds(directory) if crd["spec"]["group"].startswith("gateway.")]
    missing = [kind for kind in GATEWAY_API_KINDS if kind not in by_kind(crds)]
    if missing:
        raise FileNotFoundError(
            f"no CustomResourceDefinition of {', '.join(missing)} in {directory}/*.yaml"
            " (one CRD per file, or a release's standard-install.yaml)"
        )
    return crds
