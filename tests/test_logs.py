"""`minirunner logs`: the last run's jobs and their logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo
from repo_guard import guard_make_repo

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

PIPELINE = """
build:
  stage: build
  script: [echo one, echo two, echo three]
test job:
  script: [echo tested, exit 2]
  allow_failure: true
deploy:
  stage: deploy
  script: [echo deploy]
  when: manual
"""


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    assert minirunner(repo, "run").returncode == 0
    return repo


def test_the_last_runs_jobs_and_logs(repo: Path) -> None:
    done = minirunner(repo, "logs")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Run #1: passed with warnings",
        "job       stage   status           log",
        "build     build   passed           .minirunner/runs/1/build.log",
        "test job  test    allowed to fail  .minirunner/runs/1/test-job.log",
        "deploy    deploy  manual           -",
        "`minirunner logs JOB` prints a job's log.",
    ]


def test_one_jobs_log_and_its_tail(repo: Path) -> None:
    whole = minirunner(repo, "logs", "build").stdout.splitlines()
    assert whole[1:7] == [
        "$ echo one",
        "one",
        "$ echo two",
        "two",
        "$ echo three",
        "three",
    ]
    tail = minirunner(repo, "logs", "test job", "-n", "2").stdout
    assert tail == "$ exit 2\nERROR: Job failed: exit code 2\n"


def test_a_job_that_did_not_run_and_an_unknown_one(repo: Path) -> None:
    assert minirunner(repo, "logs", "deploy").stdout == (
        "deploy has no log: it did not run (manual)\n"
    )
    done = minirunner(repo, "logs", "biuld")
    assert done.returncode == 2
    assert done.stderr == "Error: no job 'biuld' in this run; did you mean 'build'?\n"


def test_another_run_and_no_run(repo: Path, make_repo: MakeRepo) -> None:
    assert minirunner(repo, "logs", "--run", "7").stderr == (
        "Error: no run #7 (runs kept: 1)\n"
    )
    fresh = make_repo({".gitlab-ci.yml": PIPELINE}, name="fresh")
    assert minirunner(fresh, "logs").stderr == (
        "Error: no run yet in this project: `minirunner run` first\n"
    )


def test_a_child_pipelines_jobs_are_listed_under_their_trigger(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo(
        {
            ".gitlab-ci.yml": "docs:\n  trigger:\n    include: ci/docs.yml\n",
            "ci/docs.yml": "render:\n  script: [echo rendered]\n",
        }
    )
    assert minirunner(repo, "run").returncode == 0
    listed = minirunner(repo, "logs").stdout.splitlines()
    assert listed[1:4] == [
        "job            stage  status  log",
        "docs           test   passed  .minirunner/runs/1/docs.log",
        "docs > render  test   passed  .minirunner/runs/1/docs-child/render.log",
    ]
    log = minirunner(repo, "logs", "docs > render", "-n", "2").stdout
    assert log == "rendered\nJob succeeded\n"
    assert "Child pipeline: 1 job, success" in minirunner(repo, "logs", "docs").stdout
