"""`scripts/diff` shows a reviewer what a change does to each stack: objects added, changed and
removed, matched by Pulumi resource, with the cost, stable from run to run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offline.diff import MARKER, Render, fit_comment, read_render, stack_section
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
    assert "Monthly cost at min and max nodes: $118.00 to $142.00" in text  # unchanged


def test_a_bigger_node_pool_shows_in_the_apps_pool_and_the_cost(
    dev_before: Render, tmp_path: Path
) -> None:
    text = stack_section("dev", dev_before, render_with(tmp_path, maxNodes="4"))
    assert text.startswith("### `dev`: 0 added, 1 changed, 0 removed")
    assert "<code>~ KubernetesNodePool cluster-app-pool</code> (DigitalOcean)" in text
    assert "-  maxNodes: 3\n+  maxNodes: 4" in text
    assert "$118.00 to $142.00 → **$118.00 to $166.00**" in text


def test_a_new_node_size_is_a_new_pool_the_app_moves_to(dev_before: Render, tmp_path: Path) -> None:
    """The pool is named after its size: a new size shows as the pool changing name and size
    (the engine replaces it, new before old), and every Deployment and the scheduler's CronJob
    as moving onto it; the cluster and the migration Job do not change."""
    text = stack_section("dev", dev_before, render_with(tmp_path, nodeSize="s-4vcpu-8gb"))
    assert text.startswith("### `dev`: 0 added, 6 changed, 0 removed")
    assert "<code>~ KubernetesNodePool cluster-app-pool</code> (DigitalOcean)" in text
    assert "-  name: posts-dev-s-2vcpu-4gb\n-  size: s-2vcpu-4gb\n" in text
    assert "+  name: posts-dev-s-4vcpu-8gb\n+  size: s-4vcpu-8gb\n" in text
    for workload in ("api", "worker", "nginx", "frontend"):
        assert f"<code>~ Deployment posts/{workload}</code>" in text
    assert "<code>~ CronJob posts/scheduler</code>" in text
    assert "+        doks.digitalocean.com/node-pool: posts-dev-s-4vcpu-8gb" in text
    assert "KubernetesCluster" not in text and "Job posts/migrate" not in text


def test_objects_only_on_one_side_are_added_or_removed(dev_before: Render, tmp_path: Path) -> None:
    after = render_with(tmp_path, hostname="posts.example.com", dnsDomain="example.com")
    text = stack_section("dev", dev_before, after)
    assert text.startswith("### `dev`: 1 added, 4 changed, 0 removed")
    assert "<code>+ DnsRecord edge-dns</code> (DigitalOcean)" in text
    assert "+  hostnames:\n+  - posts.example.com" in text
    # the uptime check follows the public entry to its name
    assert "<code>~ UptimeCheck monitoring-uptime-check</code> (DigitalOcean)" in text
    assert "+  target: http://posts.example.com/api/health-check" in text
    back = stack_section("dev", after, dev_before)
    assert back.startswith("### `dev`: 0 added, 4 changed, 1 removed")
    assert "<code>- DnsRecord edge-dns</code>" in back


def test_no_change_says_so_and_is_byte_for_byte_stable(dev_before: Render) -> None:
    first = stack_section("dev", dev_before, dev_before)
    assert "No change to any Kubernetes object or DigitalOcean resource." in first
    assert first == stack_section("dev", dev_before, dev_before)


def test_a_new_stack_is_all_additions(dev_before: Render) -> None:
    text = stack_section("staging", Render(exists=False), dev_before)
    assert text.startswith("### `staging`: new stack, 46 added, 0 changed, 0 removed")


def test_a_stack_that_fails_to_render_on_one_side_is_reported_in_its_section(
    dev_before: Render,
) -> None:
    broken = Render(exists=True, error="the render failed: posts-infra:maxNodes must be >= 1")
    text = stack_section("dev", broken, dev_before)
    assert text.startswith("### `dev`: not rendered at the base: the render failed: posts-infra")


def test_renders_from_before_the_resource_header_are_matched_by_kind_and_name(
    renders: dict[str, Path], dev_before: Render, tmp_path: Path
) -> None:
    old = tmp_path / "dev"
    shutil.copytree(renders["dev"], old)
    for path in (old / "kubernetes").glob("*.yaml"):
        path.write_text(path.read_text().partition("\n")[2])  # drop the header line
    without_header = read_render(old)
    assert not without_header.by_resource
    text = stack_section("dev", without_header, dev_before)
    assert text.startswith("### `dev`: 0 added, 0 changed, 0 removed")


def test_a_long_diff_is_cut_between_objects_below_the_comment_limit() -> None:
    details = "<details><summary>x</summary>\n\n```diff\n" + "+ line\n" * 50 + "```\n</details>\n"
    text = MARKER + "\n| summary |\n\n" + details * 40
    cut = fit_comment(text, limit=2000)
    assert len(cut) < 2000 + 100
    assert cut.startswith(MARKER + "\n| summary |")
    assert cut.count("<details>") == cut.count("</details>") >= 1
    assert cut.endswith("for the whole diff)*\n")


def git(cwd: Path, *args: str) -> None:
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **identity}
    )


def test_the_command_diffs_the_working_tree_against_main_with_each_side_from_git(
    tmp_path: Path,
) -> None:
    # A repository of this working tree with one commit on main, then an uncommitted release.
    repo = tmp_path / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("imageTag: 3f9c2e7", "imageTag: 4a5b6c7"))

    result = subprocess.run(
        [sys.executable, "-m", "offline.diff", "dev"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(MARKER + "\n## Offline render diff")
    assert "(merge base with `main`) → head the working tree (with uncommitted changes)" in text
    assert "| `dev` | 0 added, 6 changed, 0 removed | $118.00 to $142.00 |" in text
    assert "<code>~ Job posts/migrate-4a5b6c7 (was posts/migrate-3f9c2e7)</code>" in text
    assert str(tmp_path) not in text and "offline-placeholder" not in text
    assert not (repo / "build").exists(), "the diff overwrote the user's build/"


def run_diff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline.diff", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_an_unknown_base_is_a_clear_error_without_traceback() -> None:
    result = run_diff("dev", "--base", "no-such-branch")
    assert result.returncode == 2
    assert "no revision no-such-branch" in result.stderr
    assert "Traceback" not in result.stderr
