"""Every stack's render passes tools that are not ours: kubernetes-validate (strict, against the
cluster's Kubernetes minor), the Gateway API CRD schemas (../shared/schemas/ or the pinned ones
fetched, tests/assets.py), and checkov.

Each tool also gets one object that is wrong on purpose, so a tool that silently checks nothing
(a wrong flag, an empty folder, a schema not found) fails these tests instead of passing them.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.app.pods import (
    CHECKOV_SKIP_ADDED_CAPABILITIES,
    CHECKOV_SKIP_SECRET_ENV,
    CHECKOV_SKIPS_COMMON,
)
from offline.simulate import REPO, Simulation, stack_names
from tests.assets import gateway_api_crds_dir
from tests.crds import by_kind, gateway_api_crds

GATEWAY_API_SCHEMAS = gateway_api_crds_dir()  # ../shared's, or the pinned ones fetched
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"

# Kinds kubernetes-validate has no schema for, and what checks them instead.
GATEWAY_API_KINDS = {"Gateway", "HTTPRoute"}  # the Gateway API CRD schemas, below
# Cilium's CRD schema is not among the shared schemas and no offline copy of it exists here, so
# CiliumNetworkPolicy is checked by the behaviour tests only (tests/test_workloads.py).
NO_SCHEMA_AVAILABLE = {"CiliumNetworkPolicy"}


def objects(render: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [(p, yaml.safe_load(p.read_text())) for p in sorted(render.glob("kubernetes/*.yaml"))]


def cluster_minor(simulation: Simulation) -> str:
    """`1.36` from the DOKS version slug the cluster is created with (`1.36.2-do.0`)."""
    version = simulation.one("digitalocean:index/kubernetesCluster:KubernetesCluster").value(
        "version"
    )
    return ".".join(version.split(".")[:2])


def test_every_stack_in_the_repo_is_validated(renders: dict[str, Path]) -> None:
    assert set(renders) == set(stack_names()) >= {"dev", "prod"}
    for render in renders.values():
        assert len(objects(render)) >= 27


# -- kubernetes-validate ---------------------------------------------------------------------


def kubernetes_validate(minor: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    assert KUBERNETES_VALIDATE.exists(), "kubernetes-validate missing: run scripts/bootstrap"
    return subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--kubernetes-version", minor, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("stack", stack_names())
def test_objects_pass_strict_schemas_of_the_cluster_minor(
    stack: str, renders: dict[str, Path], simulations: dict[str, Simulation]
) -> None:
    minor = cluster_minor(simulations[stack])
    assert minor == "1.36"
    rendered = objects(renders[stack])
    result = kubernetes_validate(minor, [path for path, _ in rendered])
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [line for line in result.stdout.splitlines() if " passed for resource " in line]
    assert all(f"against version {minor}" in line for line in passed)
    without_schema = {obj["kind"] for _, obj in rendered} - {
        obj["kind"] for path, obj in rendered if any(str(path) in line for line in passed)
    }
    # Everything else was checked against Kubernetes' own schema; these two sets are explained
    # above, and a new kind without a schema fails here until it is.
    assert without_schema == GATEWAY_API_KINDS | NO_SCHEMA_AVAILABLE


def test_strict_validation_rejects_an_unknown_field(
    renders: dict[str, Path], tmp_path: Path
) -> None:
    (path,) = renders["dev"].glob("kubernetes/*-deployment-api.yaml")
    deployment = yaml.safe_load(path.read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # typo of resources
    broken = tmp_path / "deployment.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    result = kubernetes_validate("1.36", [broken])
    assert result.returncode != 0
    assert "resource" in result.stdout + result.stderr


# -- Gateway API CRD schemas -----------------------------------------------------------------


@functools.cache
def crds() -> dict[str, dict[str, Any]]:
    """The Gateway API CRDs the suite is given, by kind."""
    assert GATEWAY_API_SCHEMAS.is_dir(), (
        f"missing {GATEWAY_API_SCHEMAS}: put shared/ beside the repo or run python -m tests.assets"
    )
    return by_kind(gateway_api_crds(GATEWAY_API_SCHEMAS))


def crd_schema(kind: str, api_version: str) -> dict[str, Any]:
    """The CRD's openAPIV3Schema for that version, made strict as the API server's field
    validation is: properties a schema does not declare are errors."""
    version = api_version.split("/")[1]
    (served,) = [v for v in crds()[kind]["spec"]["versions"] if v["name"] == version]
    return strict(served["schema"]["openAPIV3Schema"])


def strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_errors(obj: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(crd_schema(obj["kind"], obj["apiVersion"]))
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)
    ]


@pytest.mark.parametrize("stack", stack_names())
def test_gateway_api_objects_match_the_crd_schemas(stack: str, renders: dict[str, Path]) -> None:
    checked = set()
    for path, obj in objects(renders[stack]):
        if obj["apiVersion"].startswith("gateway.networking.k8s.io/"):
            assert crd_errors(obj) == [], path.name
            checked.add(obj["kind"])
    assert checked == GATEWAY_API_KINDS


def test_crd_schema_rejects_a_wrong_route(renders: dict[str, Path]) -> None:
    (path,) = renders["dev"].glob("kubernetes/*-httproute-api.yaml")
    route = yaml.safe_load(path.read_text())
    wrong = copy.deepcopy(route)
    wrong["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"  # not a Gateway API type
    wrong["spec"]["parentRef"] = wrong["spec"].pop("parentRefs")  # unknown field
    errors = crd_errors(wrong)
    assert any("Prefix" in e for e in errors)
    assert any("parentRef" in e for e in errors)


# -- checkov ---------------------------------------------------------------------------------

CANARY = {  # fails checkov's privileged-container check, and others
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "canary", "namespace": "canary"},
    "spec": {
        "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]
    },
}


@pytest.fixture(scope="module")
def checkov_report(renders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert CHECKOV.exists(), (
        f"missing {CHECKOV}: scripts/test creates it (requirements-checkov.txt)"
    )
    # One folder holding every stack's render and the canary: checkov merges resources with the
    # same kind/namespace/name across `--directory` arguments, but not within one folder tree.
    scan = tmp_path_factory.mktemp("checkov")
    for stack, render in renders.items():
        shutil.copytree(render / "kubernetes", scan / stack)
    (scan / "canary").mkdir()
    (scan / "canary" / "pod.yaml").write_text(yaml.safe_dump(CANARY))
    report = tmp_path_factory.mktemp("checkov-report")
    result = subprocess.run(
        [
            str(CHECKOV),
            *("--framework", "kubernetes", "--directory", str(scan), "--skip-download"),
            *("--output", "json", "--output-file-path", str(report)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    assert (report / "results_json.json").exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads((report / "results_json.json").read_text())


def test_checkov_finds_no_failed_check_in_any_stack(
    checkov_report: Any, renders: dict[str, Path]
) -> None:
    failed = checkov_report["results"]["failed_checks"]
    ours = [
        f"{f['check_id']} {f['resource']} {f['file_path']}"
        for f in failed
        if "canary" not in f["resource"]
    ]
    assert ours == []
    assert checkov_report["summary"]["parsing_errors"] == 0
    # checkov did look: at the canary's privileged container, and at many checks of ours
    assert any(f["check_id"] == "CKV_K8S_16" for f in failed)
    assert checkov_report["summary"]["passed"] > 500
    # every object of every stack was scanned (the canary is one more)
    objects_rendered = sum(len(objects(render)) for render in renders.values())
    assert checkov_report["summary"]["resource_count"] >= objects_rendered + 1


def test_every_checkov_exception_is_one_the_design_declares_where_it_applies(
    checkov_report: Any,
) -> None:
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped, "the workloads annotate their exceptions; checkov must have read them"
    declared = {
        **CHECKOV_SKIPS_COMMON,
        **CHECKOV_SKIP_ADDED_CAPABILITIES,
        **CHECKOV_SKIP_SECRET_ENV,
    }
    by_check: dict[str, set[str]] = {}
    for check in skipped:
        check_id = check["check_id"]
        assert check_id in declared, (
            f"{check_id} on {check['resource']} is not a declared exception"
        )
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert reason == declared[check_id], f"{check_id} on {check['resource']}: {reason!r}"
        by_check.setdefault(check_id, set()).add(check["resource"].split(".")[-1])
    # the container-dependent exceptions are claimed only by the workloads that need them
    assert by_check["CKV_K8S_25"] == {"api", "nginx", "frontend"}  # capabilities added back
    assert by_check["CKV_K8S_35"] == {"api", "worker", "scheduler", "migrate-3f9c2e7"}
