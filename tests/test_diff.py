"""`scripts/diff` shows a reviewer what a change does to each stack: objects added, changed and
removed, matched by Pulumi resource, with the cost, stable from run to run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from offline.diff import MARKER, Render, read_render, stack_section
from offline.render import render
from offline.simulate import REPO, run_stack


@pytest.fixture(scope="module")
def dev_before(renders: dict[str, Path]) -> Render:
    return read_render(renders["dev"])


def render_with(tmp_path: Path, **overrides: str) -> Render:
    return read_render(render("dev", tmp_path, run_stack("dev", overrides=overrides)))


def test_a_release_changes_the_workloads_and_renames_the_migrate_job(
    dev_before: Render, tmp_path: Path
) -> None:
    after = render_with(tmp_path, imageTag="4a5b6c7")
    text = stack_section("dev", dev_before, after)
    assert text.startswith("### `dev`: 0 added, 6 changed, 0 removed")
    # the Job is the same Pulumi resource under a new name: one change, not a removal + addition
    assert "<code>~ Job posts/migrate-4a5b6c7 (was posts/migrate-3f9c2e7)</code>" in text
    for workload in ("Deployment posts/api", "Deployment posts/worker", "CronJob posts/scheduler"):
        assert f"<code>~ {workload}</code>" in text
    assert "-        image: docker.io/martinjoo/posts-api:3f9c2e7" in text
    assert "+        image: docker.io/martinjoo/posts-api:4a5b6c7" in text
    assert "Monthly cost at min and max nodes: $69.00 to $93.00" in text  # unchanged


def test_a_bigger_node_pool_shows_in_the_cluster_and_the_cost(
    dev_before: Render, tmp_path: Path
) -> None:
    text = stack_section("dev", dev_before, render_with(tmp_path, maxNodes="4"))
    assert text.startswith("### `dev`: 0 added, 1 changed, 0 removed")
    assert "<code>~ KubernetesCluster cluster-doks</code> (DigitalOcean)" in text
    assert "-    maxNodes: 2\n+    maxNodes: 4" in text
    assert "$69.00 to $93.00 → **$69.00 to $141.00**" in text


def test_objects_only_on_one_side_are_added_or_removed(dev_before: Render, tmp_path: Path) -> None:
    after = render_with(tmp_path, hostname="posts.example.com", dnsDomain="example.com")
    text = stack_section("dev", dev_before, after)
    assert text.startswith("### `dev`: 1 added, 3 changed, 0 removed")
    assert "<code>+ DnsRecord edge-dns</code> (DigitalOcean)" in text
    assert "+  hostnames:\n+  - posts.example.com" in text
    back = stack_section("dev", after, dev_before)
    assert back.startswith("### `dev`: 0 added, 3 changed, 1 removed")
    assert "<code>- DnsRecord edge-dns</code>" in back


def test_no_change_says_so_and_is_byte_for_byte_stable(dev_before: Render) -> None:
    first = stack_section("dev", dev_before, dev_before)
    assert "No change to any Kubernetes object or DigitalOcean resource." in first
    assert first == stack_section("dev", dev_before, dev_before)


def test_a_new_stack_is_all_additions(dev_before: Render) -> None:
    text = stack_section("staging", Render(exists=False), dev_before)
    assert text.startswith("### `staging`: new stack, 36 added, 0 changed, 0 removed")


def run_diff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline.diff", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_renders_both_revisions_from_git(tmp_path: Path) -> None:
    # HEAD against the working tree: exported with git archive and rendered by each side's code
    out = tmp_path / "diff.md"
    result = run_diff("dev", "--base", "HEAD", "--output", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith(MARKER + "\n## Offline render diff")
    assert "### `dev`:" in text and "Monthly cost at min and max nodes" in text
    assert str(tmp_path) not in text and "posts-infra-diff-" not in text
    assert "offline-placeholder" not in text


def test_an_unknown_base_is_a_clear_error_without_traceback() -> None:
    result = run_diff("dev", "--base", "no-such-branch")
    assert result.returncode == 2
    assert "no revision no-such-branch" in result.stderr
    assert "Traceback" not in result.stderr
