"""`--worktree` runs the files as they are; by default a run takes the commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo, git

PIPELINE = """
show:
  script:
    - cat notes.txt
    - ls new.txt 2>/dev/null || echo "no new.txt"
"""


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    repo = make_repo({".gitlab-ci.yml": PIPELINE, "notes.txt": "committed\n"})
    (repo / "notes.txt").write_text("edited\n")
    (repo / "new.txt").write_text("untracked\n")
    return repo


def job_lines(stdout: str) -> list[str]:
    return [line.split(" | ", 1)[1] for line in stdout.splitlines() if " | " in line]


def test_the_default_runs_the_commit_and_says_so(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")[:8]
    done = minirunner(repo, "run", "--color", "never")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == (
        "Note: 2 uncommitted changes (notes.txt, new.txt) are not in this run; "
        "--worktree runs the working tree as it is"
    )
    assert job_lines(done.stdout)[2:5] == [
        "committed",
        '$ ls new.txt 2>/dev/null || echo "no new.txt"',
        "no new.txt",
    ]
    assert lines[-1].startswith("Pipeline #1 passed in ")
    assert lines[-1].endswith(f": 1 passed (commit {sha})")


def test_worktree_runs_the_files_as_they_are_and_says_so(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")[:8]
    done = minirunner(repo, "run", "--worktree", "--color", "never")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Note:" not in done.stdout
    assert job_lines(done.stdout)[2:5] == [
        "edited",
        '$ ls new.txt 2>/dev/null || echo "no new.txt"',
        "new.txt",
    ]
    assert done.stdout.splitlines()[-1].endswith(
        f": 1 passed (the working tree as it is, over {sha})"
    )
    assert (repo / "notes.txt").read_text() == "edited\n"
    assert git(repo, "status", "--porcelain") == " M notes.txt\n?? new.txt".strip()


def test_worktree_rules_do_not_see_minirunners_own_folders(repo: Path) -> None:
    config = """
show:
  rules:
    - exists: ["**/notes.txt"]
      when: never
    - when: on_success
  script: [echo ran]
"""
    (repo / ".gitlab-ci.yml").write_text(config)
    (repo / "notes.txt").unlink()
    builds = repo / ".minirunner" / "builds" / "slot-0" / "build"
    builds.mkdir(parents=True)
    (builds / "notes.txt").write_text("a copy of the project\n")

    done = minirunner(repo, "list", "--worktree")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "show" in done.stdout
