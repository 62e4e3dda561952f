"""kwok's Stages: how pods move through their lifecycle without containers, with the migration
Job's pods held and, for the failing tags, failed."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

MIGRATE_NAME = "migrate"  # app.kubernetes.io/name of the migration Job's pods
# The kwok default Stages kept as they are; pod-complete is replaced (see StageWriter.write).
DEFAULT_STAGES = ("node-initialize", "node-heartbeat-with-lease", "pod-delete")

FAILED_STATUS_TEMPLATE = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: PodFailed
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: PodFailed
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 1
      finishedAt: {{ $now | Quote }}
      reason: Error
      message: "simulated failure: this release's tag is in failing_migrate_tags"
      startedAt: {{ $now | Quote }}
{{ end }}
phase: Failed
"""


# A server that never starts (its image crashes at boot): the pod runs, its container restarts,
# it is never Ready. What a release whose image cannot serve looks like to Kubernetes.
NEVER_READY_STATUS_TEMPLATE = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 5
  started: false
  state:
    waiting:
      reason: CrashLoopBackOff
      message: "simulated: this release's image never starts (never_ready_tags)"
  lastState:
    terminated:
      exitCode: 1
      reason: Error
      finishedAt: {{ $now | Quote }}
      startedAt: {{ $now | Quote }}
{{ end }}
{{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) \
( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
{{ with $podIPs }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
"""


class StageWriter:
    """kwok's default Stages from `source`, pod-complete split for the migration Job."""

    def __init__(
        self,
        source: Path,
        migrate_hold_seconds: float,
        failing_migrate_tags: Sequence[str],
        never_ready_tags: Sequence[str] = (),
    ) -> None:
        self.source = source
        self.migrate_hold_seconds = migrate_hold_seconds
        self.failing_migrate_tags = failing_migrate_tags
        self.never_ready_tags = never_ready_tags

    def write(self, path: Path) -> Path:
        """kwok's default Stages, with pod-ready split for `never_ready_tags` (their servers run,
        never Ready) and pod-complete split three ways for the migration Job.

        Every Job pod that is Running is completed by exactly one of these (kwok picks at random
        among Stages that match, so they must not overlap):
        - pod-complete (kwok's own, narrowed): not a migrate pod: Succeeded at once;
        - migrate-complete: a migrate pod whose version is not failing: Succeeded after the hold;
        - migrate-fail: a migrate pod whose version is failing: Failed (exit code 1) after the
          hold.
        """
        source = self.source
        documents: list[dict[str, Any]] = []
        for name in DEFAULT_STAGES:
            documents.append(yaml.safe_load((source / f"{name}.yaml").read_text()))
        name_label = "app.kubernetes.io/name"
        version_label = "app.kubernetes.io/version"

        # pod-ready, split for the releases that never start: their servers' pods run but are
        # never Ready; their migrate pods (a command, not a server) run as any other.
        pod_ready = yaml.safe_load((source / "pod-ready.yaml").read_text())
        if not self.never_ready_tags:
            documents.append(pod_ready)
        else:
            ready = copy.deepcopy(pod_ready)
            ready["spec"]["selector"]["matchExpressions"].append(
                _label_expression(version_label, "NotIn", self.never_ready_tags)
            )
            migrate_ready = copy.deepcopy(pod_ready)
            migrate_ready["metadata"]["name"] = "migrate-ready"
            migrate_ready["spec"]["selector"]["matchExpressions"] += [
                _label_expression(version_label, "In", self.never_ready_tags),
                _label_expression(name_label, "In", [MIGRATE_NAME]),
            ]
            never = copy.deepcopy(pod_ready)
            never["metadata"]["name"] = "never-ready"
            never["spec"]["selector"]["matchExpressions"] += [
                _label_expression(version_label, "In", self.never_ready_tags),
                _label_expression(name_label, "NotIn", [MIGRATE_NAME]),
            ]
            never["spec"]["next"] = {"statusTemplate": NEVER_READY_STATUS_TEMPLATE}
            documents += [ready, migrate_ready, never]

        pod_complete = yaml.safe_load((source / "pod-complete.yaml").read_text())
        others = copy.deepcopy(pod_complete)
        others["spec"]["selector"]["matchExpressions"].append(
            _label_expression(name_label, "NotIn", [MIGRATE_NAME])
        )
        documents.append(others)

        hold = {"durationMilliseconds": int(self.migrate_hold_seconds * 1000)}
        migrate_ok = copy.deepcopy(pod_complete)
        migrate_ok["metadata"]["name"] = "migrate-complete"
        migrate_ok["spec"]["selector"]["matchExpressions"].append(
            _label_expression(name_label, "In", [MIGRATE_NAME])
        )
        if self.failing_migrate_tags:
            migrate_ok["spec"]["selector"]["matchExpressions"].append(
                _label_expression(version_label, "NotIn", self.failing_migrate_tags)
            )
        migrate_ok["spec"]["delay"] = hold
        documents.append(migrate_ok)

        if self.failing_migrate_tags:
            migrate_fail = copy.deepcopy(pod_complete)
            migrate_fail["metadata"]["name"] = "migrate-fail"
            migrate_fail["spec"]["selector"]["matchExpressions"] += [
                _label_expression(name_label, "In", [MIGRATE_NAME]),
                _label_expression(version_label, "In", self.failing_migrate_tags),
            ]
            migrate_fail["spec"]["delay"] = hold
            migrate_fail["spec"]["next"] = {"statusTemplate": FAILED_STATUS_TEMPLATE}
            documents.append(migrate_fail)

        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return path


def _label_expression(label: str, operator: str, values: Sequence[str]) -> dict[str, Any]:
    return {"key": f'.metadata.labels["{label}"]', "operator": operator, "values": list(values)}
