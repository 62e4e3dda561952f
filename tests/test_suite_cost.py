"""What the end-to-end suite's CPU report (`python -m tests.e2e.commands.cpu`) makes of a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.commands.cpu import kind_of, main, read, summary


def log(path: Path, first_line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(first_line + "\n--- stdout\n\n--- stderr\n")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run's build/e2e: two workers, the `current` link pytest makes, a process log."""
    dev = tmp_path / "popen-gw1" / "e2e0" / "dev" / "stack" / "logs"
    log(
        dev / "run-005.log",
        "`pulumi up --yes --skip-preview --stack dev` exited 0 after 50.5 s (6.2 CPU-s)",
    )
    log(
        dev / "run-006.log",
        "`pulumi preview --expect-no-changes --stack dev` exited 0 after 4.8 s (5.4 CPU-s)",
    )
    log(
        dev / "run-007.log",
        "`pulumi config set imageTag abc1234 --stack dev` exited 0 after 0.4 s (0.4 CPU-s)",
    )
    log(dev / "recover-008.log", "`/repo/scripts/recover dev` exited 0 (13.5 CPU-s)")
    cloud = tmp_path / "popen-gw3" / "test_lost0" / "lost" / "logs"
    log(cloud / "run-002.log", "`pulumi up --yes --stack lost` exited 1 after 9.1 s (2.9 CPU-s)")
    (tmp_path / "popen-gw1" / "e2ecurrent").symlink_to(tmp_path / "popen-gw1" / "e2e0")
    log(tmp_path / "popen-gw1" / "e2e0" / "dev" / "kube" / "etcd.log", '{"level":"warn"}')
    return tmp_path


def test_each_command_counts_once_under_its_kind_and_its_place(run: Path) -> None:
    logged = read(run)
    assert sorted((e.kind, e.cpu) for e in logged) == [
        ("pulumi config set", 0.4),
        ("pulumi preview", 5.4),
        ("pulumi up", 2.9),
        ("pulumi up", 6.2),
        ("scripts/recover", 13.5),
    ]
    report = summary(logged)
    assert report.startswith("5 commands, 28.4 CPU-s")
    assert "     2      9.1  pulumi up" in report
    assert "popen-gw1/e2e0/dev/stack" in report and "popen-gw3/test_lost0/lost" in report


def test_the_kind_keeps_the_verb_and_drops_the_values() -> None:
    assert kind_of("pulumi stack export --show-secrets --stack dev") == "pulumi stack export"
    assert kind_of("pulumi config set --secret appKey base64:x= --stack dev") == "pulumi config set"
    assert kind_of("pulumi refresh --yes --stack dev") == "pulumi refresh"


def test_without_a_run_it_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 1
    assert "run ./scripts/e2e first" in capsys.readouterr().err
