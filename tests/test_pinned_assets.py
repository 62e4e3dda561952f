"""What the suites are given, and that they read it: the Gateway API CRDs as per-CRD files or as
a release's multi-document bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.crds import GATEWAY_API_KINDS, by_kind, gateway_api_crds, load_crds
from tests.e2e.kube.cluster_setup import GATEWAY_API_CRDS

# Gateway API v1.4's standard-install.yaml also carries objects that are not CRDs.
NOT_A_CRD = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"},
}


def test_the_cluster_gets_gateway_class_gateway_and_httproute_from_what_the_suite_is_given():
    crds = gateway_api_crds(GATEWAY_API_CRDS)
    assert set(GATEWAY_API_KINDS) <= set(by_kind(crds))
    assert all(crd["spec"]["versions"] for crd in crds)
    json.dumps({"apiVersion": "v1", "kind": "List", "items": crds})  # what kubectl is sent


def test_a_release_bundle_is_read_as_well_as_per_crd_files(tmp_path: Path):
    documents = [yaml.safe_dump(crd) for crd in load_crds(GATEWAY_API_CRDS)]
    documents.insert(1, yaml.safe_dump(NOT_A_CRD))
    (tmp_path / "standard-install.yaml").write_text("---\n".join(documents))
    bundled = gateway_api_crds(tmp_path)
    assert set(GATEWAY_API_KINDS) <= set(by_kind(bundled))
    assert by_kind(bundled) == by_kind(gateway_api_crds(GATEWAY_API_CRDS))
    assert all(crd["kind"] == "CustomResourceDefinition" for crd in bundled)


def test_a_folder_without_gateway_class_is_refused_by_name(tmp_path: Path):
    for path in GATEWAY_API_CRDS.glob("*.yaml"):
        if "gatewayclasses" not in path.name:
            shutil.copy(path, tmp_path / path.name)
    with pytest.raises(FileNotFoundError, match=r"of GatewayClass in .*\*\.yaml"):
        gateway_api_crds(tmp_path)
