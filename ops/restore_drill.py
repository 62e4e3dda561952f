"""The restore drill: prove, cheaply, that the stack's latest MySQL backup restores and holds the
app's data.

    ./scripts/restore-drill STACK [--cwd DIR] [--keep]
    ./scripts/restore-drill STACK --teardown [--cwd DIR]
    python -m ops.restore_drill STACK ...

What it does, as a small Pulumi stack of its own (project `posts-infra-restore-drill`, stack
STACK, in the same backend, driven through Pulumi's Automation API):

1. reads the stack, never changing it (`pulumi stack export` in DIR, default this repository):
   its MySQL cluster, VPC and DOKS cluster, the app's namespace, and the api image of the
   release that runs;
2. lists that MySQL cluster's backups (DigitalOcean's API, read-only) and takes the latest;
3. `pulumi up` of the drill stack: a MySQL cluster `posts-<stack>-drill` created from that backup
   (`backup_restore`) in the stack's VPC, at the source's size with one node, protected as every
   database is; a firewall that admits the stack's DOKS cluster and nothing else; and, on that
   cluster, in the app's namespace, a Secret with the drill cluster's connection and CA and a Job
   `restore-check` on the api image that connects over TLS and checks that the app's database,
   its tables and its migrations are there. Pulumi waits for the Job and fails if it fails;
4. reports the backup, how long the restored cluster took to come online (the create, as the
   provider saw it: it polls a new database every 15 s), and the check's output;
5. tears the drill down through the unprotect path (docs/operations.md, "Deleting a stack"):
   `protect` false, `pulumi up`, `pulumi destroy`, and removes the drill stack. With `--keep` it
   stops before that, for a person to look; `--teardown` does only this step (also after a drill
   that died).

No second DOKS cluster, and the source cluster is only read. It costs the drill cluster for the
hour it is billed (DigitalOcean bills by the hour): one hour of the MySQL size.

It needs what any `pulumi` command of the stack needs (the backend, `PULUMI_CONFIG_PASSPHRASE`),
`DIGITALOCEAN_TOKEN` (also the drill's credential on the cluster, as `kubernetesAuth: token`),
and `DIGITALOCEAN_API_URL` when not api.digitalocean.com.

Exit status: 0 the backup restored and the check passed; 1 the restore or the check failed (the
drill is torn down all the same, unless `--keep`); 2 the drill could not start or finish (no
backup yet, the stack unreadable, a previous drill not torn down: `--teardown`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.app import pods
from components.app.workloads.network_policies import RESTORE_CHECK
from components.platform.kubeconfig import KubeconfigAuth, build_kubeconfig
from config.cloud import DigitalOceanApi
from config.digitalocean_api import ApiUnreadable, ReadOnlyApi, api_url_from, token_from
from config.sections import APP_DATABASE, APP_USER
from config.values import Cpu, Memory, Resources
from ops.cluster_api import CLUSTER_API_ERRORS, ClusterApi
from ops.orphans import (
    REPO,
    RESTORE_DRILL_TAG,
    OrphanCheckFailed,
    pulumi_json,
)

DRILL_PROJECT = "posts-infra-restore-drill"
DRILL_CLUSTER = "drill-mysql"  # the drill cluster's logical name in the drill stack
EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
CHECK_DEADLINE_SECONDS = 300
CHECK_RESOURCES = Resources(
    Cpu(50, "50m"), Memory(64 * 2**20, "64Mi"), Memory(128 * 2**20, "128Mi")
)

# What the check runs on the api image: PHP's PDO (the app's own driver) over TLS, no Laravel.
CHECK_SCRIPT = r"""
$u = parse_url(getenv('DRILL_DATABASE_URL'));
$db = ltrim($u['path'], '/');
$pdo = new PDO("mysql:host={$u['host']};port={$u['port']};dbname=$db", urldecode($u['user']),
    urldecode($u['pass']), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
    PDO::MYSQL_ATTR_SSL_CA => '/drill/ca.pem']);
$tables = (int) $pdo->query('SELECT COUNT(*) FROM information_schema.tables'
    . ' WHERE table_schema = DATABASE()')->fetchColumn();
$ran = (int) $pdo->query('SELECT COUNT(*) FROM migrations')->fetchColumn();
$last = $pdo->query('SELECT migration FROM migrations ORDER BY id DESC LIMIT 1')->fetchColumn();
echo json_encode(['database' => $db, 'tables' => $tables, 'migrations' => $ran,
    'last_migration' => $last]), PHP_EOL;
exit($tables > 1 && $ran > 0 ? 0 : 1);
""".strip()


class DrillError(Exception):
    """The drill could not start or finish: the message says why and what to do."""


# -- what the drill restores, read from the stack --------------------------------------------------


@dataclass(frozen=True)
class DrillSource:
    """The stack's MySQL cluster and where its restored copy goes."""

    stack: str
    mysql_id: str
    mysql_name: str
    region: str
    version: str
    size: str
    vpc_id: str
    cluster_id: str
    cluster_name: str
    namespace: str
    api_image: str
    image_pull_secrets: tuple[str, ...] = ()

    @property
    def drill_name(self) -> str:
        return f"posts-{self.stack}-drill"

    @property
    def release(self) -> str:
        return self.api_image.rsplit(":", 1)[-1]


def _resource(resources: Sequence[Mapping[str, Any]], type_: str, name: str) -> Mapping[str, Any]:
    for resource in resources:
        if resource.get("type") == type_ and str(resource.get("urn", "")).endswith(f"::{name}"):
            return resource
    raise DrillError(
        f"the stack's state holds no {type_.rsplit(':', 1)[-1]} `{name}`: deploy the stack first"
    )


def source_from_state(stack: str, exported: Mapping[str, Any]) -> DrillSource:
    """The drill's source, from `pulumi stack export`."""
    resources = (exported.get("deployment") or {}).get("resources") or []
    mysql = _resource(
        resources, "digitalocean:index/databaseCluster:DatabaseCluster", "mysql-cluster"
    )
    doks = _resource(
        resources, "digitalocean:index/kubernetesCluster:KubernetesCluster", "cluster-doks"
    )
    api = _resource(resources, "kubernetes:apps/v1:Deployment", "app-deployment-api")
    outputs = mysql.get("outputs") or {}
    pod = ((api.get("outputs") or {}).get("spec") or {}).get("template", {}).get("spec", {})
    containers = pod.get("containers") or [{}]
    return DrillSource(
        stack=stack,
        mysql_id=str(mysql.get("id")),
        mysql_name=str(outputs.get("name")),
        region=str(outputs.get("region")),
        version=str(outputs.get("version")),
        size=str(outputs.get("size")),
        vpc_id=str(outputs.get("privateNetworkUuid")),
        cluster_id=str(doks.get("id")),
        cluster_name=str((doks.get("outputs") or {}).get("name")),
        namespace=str(((api.get("outputs") or {}).get("metadata") or {}).get("namespace")),
        api_image=str(containers[0].get("image")),
        image_pull_secrets=tuple(s["name"] for s in pod.get("imagePullSecrets") or []),
    )


def latest_backup(backups: Sequence[Mapping[str, Any]], source: DrillSource) -> str:
    found = sorted((str(b.get("created_at")) for b in backups if b.get("created_at")), reverse=True)
    if not found:
        raise DrillError(
            f"{source.mysql_name} has no backup yet: DigitalOcean takes one a day, at the"
            " cluster's backup time (mysqlBackupTime); run the drill after it"
        )
    return found[0]


# -- the drill stack's program ---------------------------------------------------------------------


@dataclass(frozen=True)
class DrillPlan:
    source: DrillSource
    backup_created_at: str


def check_job_spec(plan: DrillPlan) -> dict[str, Any]:
    """The Job that connects to the restored cluster from the stack's own cluster and checks it."""
    container = pods.container(
        pods.ContainerSpec(
            name=RESTORE_CHECK,
            image=plan.source.api_image,
            resources=CHECK_RESOURCES,
            command=["php", "-r", CHECK_SCRIPT],
        )
    )
    container["env"] = [
        {
            "name": "DRILL_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": RESTORE_CHECK, "key": "DRILL_DATABASE_URL"}},
        }
    ]
    container["volumeMounts"] = [{"name": "ca", "mountPath": "/drill", "readOnly": True}]
    template = pods.pod_template(
        RESTORE_CHECK,
        "restore-drill",
        [container],
        version=plan.source.release,
        image_pull_secrets=list(plan.source.image_pull_secrets),
        restart_policy="Never",
    )
    template["spec"]["volumes"] = [
        {
            "name": "ca",
            "secret": {"secretName": RESTORE_CHECK, "items": [{"key": "ca.pem", "path": "ca.pem"}]},
        }
    ]
    return {
        "backoffLimit": 0,  # a failed check is the drill's answer, not something to retry
        "activeDeadlineSeconds": CHECK_DEADLINE_SECONDS,
        "template": template,
    }


def drill_program(plan: DrillPlan, token: str) -> Callable[[], None]:
    """The drill stack: the restored cluster, its firewall, and the check on the stack's cluster.
    Config `protect` (default true) protects the restored cluster, as every database is."""

    def program() -> None:
        import pulumi
        import pulumi_digitalocean as digitalocean
        import pulumi_kubernetes as kubernetes

        from components.labels import labels

        source = plan.source
        protect = pulumi.Config().get_bool("protect")
        restored = digitalocean.DatabaseCluster(
            DRILL_CLUSTER,
            name=source.drill_name,
            engine="mysql",
            version=source.version,
            size=source.size,
            node_count=1,  # a drill needs no standby
            region=source.region,
            private_network_uuid=source.vpc_id,
            backup_restore=digitalocean.DatabaseClusterBackupRestoreArgs(
                database_name=source.mysql_name, backup_created_at=plan.backup_created_at
            ),
            tags=["posts", f"posts-{source.stack}", RESTORE_DRILL_TAG],
            opts=pulumi.ResourceOptions(protect=True if protect is None else protect),
        )
        firewall = digitalocean.DatabaseFirewall(
            "drill-firewall",
            cluster_id=restored.id,
            rules=[digitalocean.DatabaseFirewallRuleArgs(type="k8s", value=source.cluster_id)],
        )
        user = digitalocean.get_database_user_output(cluster_id=restored.id, name=APP_USER)
        ca = digitalocean.get_database_ca_output(cluster_id=restored.id)
        url: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(user.password, restored.private_host, restored.port).apply(
                lambda v: (
                    f"mysql://{urllib.parse.quote(APP_USER, safe='')}:"
                    f"{urllib.parse.quote(v[0], safe='')}@{v[1]}:{v[2]}/{APP_DATABASE}"
                    "?ssl-mode=REQUIRED"
                )
            )
        )
        cluster = digitalocean.get_kubernetes_cluster_output(name=source.cluster_name)
        provider = kubernetes.Provider(
            "drill-k8s",
            kubeconfig=build_kubeconfig(
                cluster_name=source.cluster_name,
                cluster_id=source.cluster_id,
                endpoint=cluster.endpoint,
                ca_certificate=cluster.kube_configs.apply(
                    lambda c: c[0].cluster_ca_certificate or ""
                ),
                auth=KubeconfigAuth(method="token", token=pulumi.Output.secret(token)),
            ),
            delete_unreachable=False,
        )
        metadata = {
            "name": RESTORE_CHECK,
            "namespace": source.namespace,
            "labels": labels(RESTORE_CHECK, "restore-drill"),
        }
        secret = kubernetes.core.v1.Secret(
            "drill-secret",
            metadata=metadata,
            type="Opaque",
            string_data={"DRILL_DATABASE_URL": url, "ca.pem": ca.certificate},
            opts=pulumi.ResourceOptions(provider=provider),
        )
        kubernetes.batch.v1.Job(
            "drill-check",
            metadata=metadata,
            spec=check_job_spec(plan),
            opts=pulumi.ResourceOptions(
                provider=provider,
                depends_on=[secret, firewall],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{CHECK_DEADLINE_SECONDS + 120}s"),
            ),
        )
        pulumi.export("restoredCluster", restored.name)

    return program


# -- running it ------------------------------------------------------------------------------------


@dataclass
class DrillReport:
    stack: str
    backup: str = ""
    restored: str = ""
    online_seconds: float | None = None
    check_passed: bool | None = None
    check_output: str = ""
    torn_down: bool = False
    seconds: float = 0.0
    failure: str = ""
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"Restore drill of stack {self.stack}:"]
        if self.backup:
            lines.append(f"- backup restored: {self.backup} (the latest)")
        if self.restored:
            lines.append(f"- into {self.restored}, in the stack's VPC, admitting its cluster only")
        if self.online_seconds is not None:
            lines.append(
                f"- the restored cluster came online {self.online_seconds:.0f} s after its create"
                " began (as the provider saw it: it polls every 15 s)"
            )
        if self.check_passed is not None:
            verdict = "passed" if self.check_passed else "FAILED"
            lines.append(
                f"- the check on the stack's cluster {verdict}: {self.check_output or '-'}"
            )
        lines += [f"- {note}" for note in self.notes]
        if self.failure:
            lines.append(f"- {self.failure}")
        lines.append(
            "- torn down (unprotect, up, destroy); nothing of the drill is left"
            if self.torn_down
            else f"- NOT torn down: `./scripts/restore-drill {self.stack} --teardown` removes it"
        )
        lines.append(f"Total: {self.seconds:.0f} s")
        return "\n".join(lines) + "\n"


def _token(environ: Mapping[str, str]) -> str:
    token = token_from(environ)
    if not token:
        raise DrillError("DIGITALOCEAN_TOKEN is not set")
    return token


def _drill_stack(stack: str, program: Callable[[], None], environ: Mapping[str, str]) -> Any:
    from pulumi import automation as auto

    return auto.create_or_select_stack(
        stack_name=stack,
        project_name=DRILL_PROJECT,
        program=program,
        opts=auto.LocalWorkspaceOptions(
            env_vars=dict(environ),
            project_settings=auto.ProjectSettings(name=DRILL_PROJECT, runtime="python"),
        ),
    )


def _say(text: str) -> None:
    print(f"restore-drill: {text}", flush=True)


def teardown(drill: Any, environ: Mapping[str, str], program_known: bool = True) -> None:
    """docs/operations.md, "Deleting a stack": lift the protection, then destroy. A drill that
    died is unprotected with `pulumi state unprotect` instead: its program is not known."""
    from pulumi import automation as auto

    if program_known:
        _say("tearing down: protect false, pulumi up")
        drill.set_config("protect", auto.ConfigValue("false"))
        drill.up(show_secrets=False, on_output=_indent)
    else:
        _say("tearing down: pulumi state unprotect --all")
        unprotect = subprocess.run(
            ["pulumi", "state", "unprotect", "--all", "--yes", "--stack", drill.name],
            cwd=drill.workspace.work_dir,
            env={**os.environ, **environ},
            capture_output=True,
            text=True,
            check=False,
        )
        if unprotect.returncode != 0:
            raise DrillError(f"`pulumi state unprotect` failed: {unprotect.stderr.strip()[-500:]}")
    _say("tearing down: pulumi destroy")
    drill.destroy(on_output=_indent)
    drill.workspace.remove_stack(drill.name)


def _indent(line: str) -> None:
    print(f"    {line}", flush=True)


def _left_over(drill: Any) -> int:
    deployment = drill.export_stack().deployment or {}
    return len(
        [r for r in deployment.get("resources") or [] if r.get("type") != "pulumi:pulumi:Stack"]
    )


def check_log(api: ReadOnlyApi, token: str, source: DrillSource) -> str:
    """The check's output from its pod's log, through the cluster's API (best effort)."""
    try:
        cluster = ClusterApi.from_digitalocean(api, source.cluster_id, token)
        selector = urllib.parse.quote(f"job-name={RESTORE_CHECK}")
        ns = source.namespace
        listed = cluster.get_json(f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}")
        names = [p["metadata"]["name"] for p in listed.get("items") or []]
        if not names:
            return "(no pod of the check found)"
        log = cluster.get_bytes(f"/api/v1/namespaces/{ns}/pods/{names[-1]}/log")
        return log.decode(errors="replace").strip()
    except CLUSTER_API_ERRORS as error:
        return f"(the cluster gave no log: {error})"


def run(stack: str, cwd: Path, environ: Mapping[str, str], keep: bool = False) -> DrillReport:
    started = time.monotonic()
    report = DrillReport(stack)
    token = _token(environ)
    api = ReadOnlyApi(api_url_from(environ), token)
    try:
        exported = pulumi_json(["stack", "export", "--stack", stack], cwd, environ)
    except OrphanCheckFailed as failed:
        raise DrillError(str(failed)) from None
    source = source_from_state(stack, exported)
    try:
        backups = DigitalOceanApi(api).backups(source.mysql_id)
    except ApiUnreadable as unreadable:
        raise DrillError(str(unreadable)) from None
    plan = DrillPlan(source, latest_backup(backups, source))
    report.backup, report.restored = plan.backup_created_at, source.drill_name
    drill = _drill_stack(stack, drill_program(plan, token), environ)
    if _left_over(drill):
        raise DrillError(
            f"a previous drill of {stack} was not torn down: `./scripts/restore-drill {stack}"
            " --teardown` removes it"
        )

    from pulumi import automation as auto

    drill.set_config("protect", auto.ConfigValue("true"))
    began: dict[str, float] = {}

    def timing(event: Any) -> None:
        for part, key in ((event.resource_pre_event, "start"), (event.res_outputs_event, "end")):
            if part is not None and str(part.metadata.urn).endswith(f"::{DRILL_CLUSTER}"):
                began.setdefault(key, time.monotonic())

    _say(
        f"restoring {source.mysql_name}'s backup of {plan.backup_created_at}"
        f" into {source.drill_name}"
    )
    try:
        drill.up(show_secrets=False, on_output=_indent, on_event=timing)
        report.check_passed = True
    except auto.errors.CommandError as failed:
        report.check_passed = False
        report.failure = "the drill's `pulumi up` failed: " + _last_error(str(failed))
    if "start" in began and "end" in began:
        report.online_seconds = began["end"] - began["start"]
    report.check_output = check_log(api, token, source)
    if keep:
        report.notes.append("kept (--keep): look, then tear it down")
    else:
        teardown(drill, environ)
        report.torn_down = True
    report.seconds = time.monotonic() - started
    return report


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if "error" in line.lower()]
    return (lines[-1] if lines else text.strip().splitlines()[-1])[:500]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/restore-drill", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("stack", help="the stack whose latest MySQL backup is drilled, e.g. dev")
    parser.add_argument(
        "--cwd", type=Path, default=REPO, help="the Pulumi project (default: this repository)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the drill in place to look at it"
    )
    parser.add_argument(
        "--teardown", action="store_true", help="only tear down a drill left in place"
    )
    options = parser.parse_args(argv)
    environ = dict(os.environ)
    try:
        if options.teardown:
            _token(environ)
            drill = _drill_stack(options.stack, lambda: None, environ)
            teardown(drill, environ, program_known=False)
            _say(f"the drill of {options.stack} is torn down")
            return EXIT_PASSED
        report = run(options.stack, options.cwd, environ, keep=options.keep)
    except DrillError as error:
        print(f"restore-drill: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(report.text(), end="")
    return EXIT_PASSED if report.check_passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
