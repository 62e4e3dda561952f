"""Orphan report of one stack: what DigitalOcean holds for the stack that its state does not.

    ./scripts/orphans STACK [--json FILE] [--cwd DIR]
    python -m ops.orphans STACK [--json FILE] [--cwd DIR]

A create that failed after DigitalOcean acted (a 5xx or a dropped connection on the create
request, whose retry then met "name is not available"), or a deploy killed while DigitalOcean
was still building, leaves a resource that bills but that no `pulumi up` knows about. This
lists every DigitalOcean resource named or tagged for STACK that the stack's state does not
hold:

- VPCs, DOKS clusters, database clusters and load balancers named `posts-<stack>` or
  `posts-<stack>-...` (the program's names), and clusters, databases and Droplets tagged
  `posts-<stack>` (the program's tag);
- records of the stack's `hostname` in its `dnsDomain` (record names are not unique: a second
  record of the same name is listed as the duplicate it is).

Owned resources are not orphans while their owner exists: the Droplets of a cluster's node pools
(tagged `k8s:<cluster id>`) and the load balancers its cloud controller made for the Gateway
(tagged `k8s:<cluster id>`) go with their cluster, whether it is in the state or is itself
listed as an orphan. Once their cluster is gone, they are orphans.

It reads the state with `pulumi stack export` and the stack's config with `pulumi config` in
the project at DIR (default: this repository), which needs the stack's backend and passphrase
as any Pulumi command does, and DigitalOcean's API (`DIGITALOCEAN_TOKEN`, and
`DIGITALOCEAN_API_URL` if not api.digitalocean.com) read-only. It changes nothing.

Exit status: 0 none; 1 orphans, each with what to do (`./scripts/recover STACK` adopts those
the program declares, see docs/when-things-go-wrong.md); 2 any other failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.digitalocean_api import ApiUnreadable, ReadOnlyApi

REPO = Path(__file__).resolve().parents[1]
PROJECT = "posts-infra"

EXIT_NONE, EXIT_ORPHANS, EXIT_ERROR = 0, 1, 2

# The Pulumi type of each kind of DigitalOcean resource the program declares.
PULUMI_TYPES = {
    "vpc": "digitalocean:index/vpc:Vpc",
    "kubernetes_cluster": "digitalocean:index/kubernetesCluster:KubernetesCluster",
    "database_cluster": "digitalocean:index/databaseCluster:DatabaseCluster",
    "domain_record": "digitalocean:index/dnsRecord:DnsRecord",
}
KIND_NAMES = {
    "vpc": "VPC",
    "kubernetes_cluster": "DOKS cluster",
    "database_cluster": "database cluster",
    "load_balancer": "load balancer",
    "droplet": "Droplet",
    "domain_record": "DNS record",
}


class OrphanCheckFailed(Exception):
    pass


def name_prefix(stack: str) -> str:
    """The start of every DigitalOcean name of the stack, and its tag (components' settings)."""
    return f"posts-{stack}"


@dataclass(frozen=True)
class CloudResource:
    kind: str
    id: str
    name: str
    tags: tuple[str, ...] = ()
    detail: str = ""  # e.g. a record's type and value

    @property
    def pulumi_type(self) -> str | None:
        return PULUMI_TYPES.get(self.kind)

    def describe(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{KIND_NAMES[self.kind]} {self.name} [{self.id}]{extra}"


# The tag of a restore drill's MySQL cluster (ops/restore_drill.py): its own stack holds it.
RESTORE_DRILL_TAG = "posts-restore-drill"


@dataclass(frozen=True)
class Orphan:
    resource: CloudResource
    reason: str
    duplicate_of: str | None = None  # the ID the state holds under the same name
    remedy: str = ""  # what to do instead of importing or deleting it, when known

    @property
    def adoptable(self) -> bool:
        """A resource the program declares and the state lacks: `./scripts/recover` imports it."""
        return (
            self.duplicate_of is None and not self.remedy and self.resource.pulumi_type is not None
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.resource.kind,
            "id": self.resource.id,
            "name": self.resource.name,
            "type": self.resource.pulumi_type,
            "tags": list(self.resource.tags),
            "detail": self.resource.detail,
            "reason": self.reason,
            "duplicateOf": self.duplicate_of,
            "adoptable": self.adoptable,
        }


@dataclass(frozen=True)
class OrphanReport:
    stack: str
    orphans: tuple[Orphan, ...] = ()
    owned: tuple[CloudResource, ...] = ()  # named or tagged for the stack, owned by its cluster
    errors: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        if self.errors:
            return EXIT_ERROR
        return EXIT_ORPHANS if self.orphans else EXIT_NONE

    def report(self) -> str:
        if self.errors:
            lines = [f"Stack {self.stack}: the orphan check failed (no verdict):"]
            lines += [f"  {error}" for error in self.errors]
            return "\n".join(lines) + "\n"
        if not self.orphans:
            return (
                f"Stack {self.stack}: no orphans; every DigitalOcean resource named or tagged"
                f" for the stack is in its state ({len(self.owned)} owned by its cluster).\n"
            )
        count = len(self.orphans)
        lines = [
            f"Stack {self.stack}: {count} orphan{'s' if count != 1 else ''} (in DigitalOcean,"
            " named or tagged for the stack, not in its state; each bills):",
            "",
        ]
        for orphan in self.orphans:
            lines.append(f"- {orphan.resource.describe()}: {orphan.reason}")
            if orphan.remedy:
                lines.append(f"    {orphan.remedy}")
            elif orphan.adoptable:
                lines.append(
                    f"    the program declares it: `./scripts/recover {self.stack}` imports it"
                    " into the stack, then `pulumi up` converges"
                )
            else:
                lines.append(
                    "    the program does not need it: check it is not in use, then delete it"
                    f" ({_delete_hint(orphan.resource)})"
                )
        lines += ["", "Next: docs/when-things-go-wrong.md"]
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "status": "error" if self.errors else ("orphans" if self.orphans else "clean"),
            "exitCode": self.exit_code,
            "orphans": [o.as_json() for o in self.orphans],
            "owned": [{"kind": r.kind, "id": r.id, "name": r.name} for r in self.owned],
            "errors": list(self.errors),
            "report": self.report(),
        }


def _delete_hint(resource: CloudResource) -> str:
    commands = {
        "vpc": f"doctl vpcs delete {resource.id}",
        "kubernetes_cluster": f"doctl kubernetes cluster delete {resource.id}",
        "database_cluster": f"doctl databases delete {resource.id}",
        "load_balancer": f"doctl compute load-balancer delete {resource.id}",
        "droplet": f"doctl compute droplet delete {resource.id}",
        "domain_record": f"doctl compute domain records delete <domain> {resource.id}",
    }
    return f"`{commands[resource.kind]}`"


# -- what the stack holds -------------------------------------------------------------------------


@dataclass(frozen=True)
class StackState:
    """The IDs the stack's state holds, by Pulumi type, and its DNS settings."""

    ids_by_type: Mapping[str, frozenset[str]]
    hostname: str = ""
    dns_domain: str = ""

    def holds(self, resource: CloudResource) -> bool:
        pulumi_type = resource.pulumi_type
        return pulumi_type is not None and resource.id in self.ids_by_type.get(pulumi_type, ())

    def cluster_ids(self) -> frozenset[str]:
        return self.ids_by_type.get(PULUMI_TYPES["kubernetes_cluster"], frozenset())


def state_from_export(exported: Mapping[str, Any], config: Mapping[str, Any]) -> StackState:
    ids: dict[str, set[str]] = {}
    deployment = exported.get("deployment") or {}
    for resource in deployment.get("resources") or []:
        if resource.get("id"):
            ids.setdefault(str(resource["type"]), set()).add(str(resource["id"]))

    def setting(key: str) -> str:
        entry = config.get(f"{PROJECT}:{key}") or {}
        return str(entry.get("value") or "") if not entry.get("secret") else ""

    return StackState(
        ids_by_type={k: frozenset(v) for k, v in ids.items()},
        hostname=setting("hostname"),
        dns_domain=setting("dnsDomain"),
    )


def run_pulumi(
    argv: Sequence[str], cwd: Path, environ: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`pulumi <argv> --non-interactive` in the project at `cwd`; raises OrphanCheckFailed if the
    CLI is missing (the caller judges the exit status)."""
    try:
        return subprocess.run(
            ["pulumi", *argv, "--non-interactive"],
            cwd=cwd,
            env=dict(environ),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except FileNotFoundError:
        raise OrphanCheckFailed("the Pulumi CLI (`pulumi`) is not on PATH") from None


def pulumi_json(argv: Sequence[str], cwd: Path, environ: Mapping[str, str]) -> Any:
    """`pulumi <argv>`'s JSON output; OrphanCheckFailed with the CLI's last lines if it fails."""
    completed = run_pulumi(argv, cwd, environ)
    if completed.returncode != 0:
        message = (completed.stderr or completed.stdout).strip().splitlines()
        raise OrphanCheckFailed(f"`pulumi {' '.join(argv)}` failed: " + " ".join(message[-3:]))
    return json.loads(completed.stdout or "{}")


def read_stack(stack: str, cwd: Path, environ: Mapping[str, str]) -> StackState:
    exported = pulumi_json(["stack", "export", "--stack", stack], cwd, environ)
    config = pulumi_json(["config", "--json", "--stack", stack], cwd, environ)
    return state_from_export(exported, config)


# -- what DigitalOcean holds ----------------------------------------------------------------------


def cloud_resources(
    api: ReadOnlyApi, stack: str, hostname: str, dns_domain: str
) -> list[CloudResource]:
    """Every resource named or tagged for the stack, as DigitalOcean lists it."""
    prefix = name_prefix(stack)

    def named(name: str) -> bool:
        return name == prefix or name.startswith(prefix + "-")

    found: list[CloudResource] = []
    for vpc in api.items("/v2/vpcs", "vpcs"):
        if named(str(vpc.get("name", ""))):
            found.append(CloudResource("vpc", str(vpc["id"]), str(vpc["name"])))
    for cluster in api.items("/v2/kubernetes/clusters", "kubernetes_clusters"):
        tags = tuple(cluster.get("tags") or ())
        if named(str(cluster.get("name", ""))) or prefix in tags:
            state = (cluster.get("status") or {}).get("state", "")
            found.append(
                CloudResource(
                    "kubernetes_cluster", str(cluster["id"]), str(cluster["name"]), tags, state
                )
            )
    for database in api.items("/v2/databases", "databases"):
        tags = tuple(database.get("tags") or ())
        if named(str(database.get("name", ""))) or prefix in tags:
            found.append(
                CloudResource(
                    "database_cluster",
                    str(database["id"]),
                    str(database["name"]),
                    tags,
                    str(database.get("engine", "")),
                )
            )
    for balancer in api.items("/v2/load_balancers", "load_balancers"):
        tags = tuple(balancer.get("tags") or ())
        found.append(
            CloudResource(
                "load_balancer", str(balancer["id"]), str(balancer["name"]), tags,
                str(balancer.get("ip") or ""),
            )
        )  # fmt: skip
    for droplet in api.items(f"/v2/droplets?tag_name={prefix}", "droplets"):
        found.append(
            CloudResource(
                "droplet", str(droplet["id"]), str(droplet["name"]),
                tuple(droplet.get("tags") or ()),
            )
        )  # fmt: skip
    if hostname and dns_domain:
        record = "@" if hostname == dns_domain else hostname[: -len(dns_domain) - 1]
        for item in api.items(f"/v2/domains/{dns_domain}/records", "domain_records"):
            if item.get("name") == record and item.get("type") in ("A", "AAAA", "CNAME"):
                found.append(
                    CloudResource(
                        "domain_record", str(item["id"]), f"{record}.{dns_domain}", (),
                        f"{item.get('type')} {item.get('data')}",
                    )
                )  # fmt: skip
    return found


def owner_cluster(resource: CloudResource) -> str | None:
    """The DOKS cluster a Droplet or load balancer belongs to, from its `k8s:<id>` tag."""
    for tag in resource.tags:
        if tag.startswith("k8s:") and tag not in ("k8s:worker",):
            return tag.split(":", 1)[1]
    return None


def classify(
    stack: str, state: StackState, resources: Iterable[CloudResource]
) -> tuple[list[Orphan], list[CloudResource]]:
    """(orphans, owned): what is neither in the state nor owned by a cluster that is."""
    resources = list(resources)
    prefix = name_prefix(stack)
    held_names: dict[tuple[str, str], str] = {
        (r.kind, r.name): r.id for r in resources if state.holds(r)
    }
    stack_clusters = {r.id for r in resources if r.kind == "kubernetes_cluster"}
    orphans: list[Orphan] = []
    owned: list[CloudResource] = []
    for resource in resources:
        if state.holds(resource):
            continue
        if resource.kind in ("droplet", "load_balancer"):
            owner = owner_cluster(resource)
            named = resource.name == prefix or resource.name.startswith(prefix + "-")
            if resource.kind == "load_balancer" and not named and owner not in stack_clusters:
                continue  # another cluster's load balancer: not the stack's business
            if owner is not None and (owner in state.cluster_ids() or owner in stack_clusters):
                # Its cluster is in the state, or is itself listed: the nodes and the load
                # balancers go with their cluster (adopted or deleted with it).
                owned.append(resource)
                continue
            reason = (
                f"its cluster {owner} no longer exists"
                if owner
                else "not in the stack's state and owned by no cluster"
            )
            orphans.append(Orphan(resource, reason))
            continue
        if RESTORE_DRILL_TAG in resource.tags:
            orphans.append(
                Orphan(
                    resource,
                    "a restore drill's MySQL cluster, held by the drill's own stack",
                    remedy=(
                        "a drill runs, or one was not torn down: once none runs,"
                        f" `./scripts/restore-drill {stack} --teardown` removes it"
                    ),
                )
            )
            continue
        duplicate_of = held_names.get((resource.kind, resource.name))
        if duplicate_of is not None:
            reason = (
                f"a second {KIND_NAMES[resource.kind]} named {resource.name}; the state holds"
                f" {duplicate_of}"
            )
            orphans.append(Orphan(resource, reason, duplicate_of))
        else:
            orphans.append(Orphan(resource, "not in the stack's state"))
    return orphans, owned


# -- running it -----------------------------------------------------------------------------------


def check(stack: str, cwd: Path, environ: Mapping[str, str]) -> OrphanReport:
    api = ReadOnlyApi.from_environment(environ)
    if not api.has_token:
        return OrphanReport(stack, errors=("DIGITALOCEAN_TOKEN is not set",))
    try:
        state = read_stack(stack, cwd, environ)
        resources = cloud_resources(api, stack, state.hostname, state.dns_domain)
    except (OrphanCheckFailed, ApiUnreadable) as failure:
        return OrphanReport(stack, errors=(str(failure),))
    orphans, owned = classify(stack, state, resources)
    return OrphanReport(stack, tuple(orphans), tuple(owned))


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/orphans", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="the stack to check, e.g. dev")
    parser.add_argument("--json", type=Path, dest="json_file", help="also write JSON to FILE")
    parser.add_argument(
        "--cwd", type=Path, default=REPO, help="the Pulumi project (default: this repository)"
    )
    options = parser.parse_args(argv)
    report = check(options.stack, options.cwd, os.environ)
    if options.json_file is not None:
        options.json_file.write_text(json.dumps(report.as_json(), indent=2) + "\n")
    print(report.report(), end="", file=sys.stderr if report.errors else sys.stdout)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
