"""Choosing what runs: JOB..., --needs, --stage, manual jobs, --dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo
from repo_guard import RepoGuard, guard_make_repo

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

PIPELINE = """
stages: [build, test, deploy]
variables:
  TARGET: staging
compile:
  stage: build
  script: [echo compiled]
unit:
  stage: test
  script: [echo unit]
lint:
  stage: test
  needs: []
  script: [echo lint]
deploy:
  stage: deploy
  script: ['echo "deploying to $TARGET from $CI_COMMIT_REF_NAME"', "echo '$TARGET'"]
  when: manual
"""


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    return make_repo({".gitlab-ci.yml": PIPELINE})


def ran(stdout: str) -> list[tuple[str, str]]:
    """(job, status) rows of the summary table."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("job ")) + 1
    rows = []
    for line in lines[start:]:
        if not line:
            break
        name, _, status, *_ = line.split()
        rows.append((name, status))
    return rows


def test_a_stage_runs_its_jobs(repo: Path) -> None:
    done = minirunner(repo, "run", "--stage", "test", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert ran(done.stdout) == [("unit", "passed"), ("lint", "passed")]


def test_a_manual_job_runs_when_named_with_what_it_needs(repo: Path) -> None:
    done = minirunner(repo, "run", "deploy", "--needs", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert ran(done.stdout) == [
        ("compile", "passed"),
        ("unit", "passed"),
        ("lint", "passed"),
        ("deploy", "passed"),
    ]
    assert "deploy  | deploying to staging from main" in done.stdout


def test_a_stage_of_manual_jobs_only_asks_for_names(repo: Path) -> None:
    done = minirunner(repo, "run", "--stage", "deploy")
    assert done.returncode == 2
    assert done.stdout == "deploy: manual, not started (name it to run it)\n"
    assert done.stderr == (
        "Error: only manual jobs in the stages asked: name them to run them\n"
    )


def test_an_unknown_stage(repo: Path) -> None:
    done = minirunner(repo, "run", "--stage", "nope")
    assert done.stderr == (
        "Error: no stage named 'nope' (stages: .pre, build, test, deploy, .post)\n"
    )


def test_a_dry_run_prints_the_plan_and_the_scripts_and_runs_nothing(
    repo: Path,
) -> None:
    done = minirunner(repo, "run", "deploy", "--dry-run", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "Dry run: nothing runs. These jobs would:",
        "",
        "stage   job     when    allow_failure  needs  image",
        "deploy  deploy  manual  yes            -      -",
        "",
        "── deploy (stage deploy, shell executor)",
        '$ echo "deploying to staging from main"',
        "$ echo '$TARGET'",
    ]
    assert not (repo / ".minirunner" / "runs").exists()


def test_a_dry_run_names_the_uncommitted_changes_it_leaves_out(
    repo: Path, repo_guard: RepoGuard
) -> None:
    (repo / ".gitlab-ci.yml").write_text(
        (repo / ".gitlab-ci.yml").read_text() + "# edited\n"
    )
    repo_guard.settle(repo)
    done = minirunner(repo, "run", "deploy", "--dry-run", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == (
        "Note: 1 uncommitted change (.gitlab-ci.yml) is not in this run; "
        "--worktree runs the working tree as it is"
    )


FORCED = """
stages: [build, test]
b:
  stage: build
  rules:
    - if: $NEVER_SET
  script:
    - sleep 0.5
    - mkdir -p out && echo made > out/a.txt && echo X=1 > b.env
  artifacts:
    paths: [out/]
    reports:
      dotenv: b.env
t:
  stage: test
  script: [cat out/a.txt, echo "t sees X=$X"]
o:
  stage: build
  needs: [{job: b, optional: true}]
  script: [cat out/a.txt, echo "o sees X=$X"]
"""


def test_a_forced_job_hands_on_what_it_makes_as_any_job(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": FORCED})
    done = minirunner(repo, "run", "b", "t", "o", "--force", "--color", "never")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "t | t sees X=1" in lines
    assert "o | o sees X=1" in lines
    assert lines.index("b | Job succeeded") < lines.index("o | made")


def test_what_waits_for_an_unplayed_blocking_manual_job_stays_created(
    make_repo: MakeRepo,
) -> None:
    gated = """
stages: [build, approve, release]
build:
  stage: build
  script: [echo built]
approval:
  stage: approve
  rules:
    - if: $CI_COMMIT_BRANCH
      when: manual
  script: [echo approved]
release:
  stage: release
  script: [echo released]
notify:
  stage: release
  when: always
  script: [echo notified]
"""
    repo = make_repo({".gitlab-ci.yml": gated})
    done = minirunner(repo, "run", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert ran(done.stdout) == [
        ("build", "passed"),
        ("approval", "manual"),
        ("release", "created"),
        ("notify", "created"),
    ]
    assert "release: created (waits for the manual job 'approval')" in done.stdout
    assert "notified" not in done.stdout
    assert "Pipeline #1 blocked in" in done.stdout
    assert ": 1 passed, 1 manual, 2 created (commit " in done.stdout
