"""Artifacts, dotenv reports and caches flow between jobs and runs as on GitLab."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import MakeRepo
from repo_guard import guard_make_repo
from test_cli import minirunner

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

PIPELINE = """
stages: [build, test, deploy]
build:
  stage: build
  script:
    - mkdir -p out && echo "built at $CI_COMMIT_SHORT_SHA" > out/app.txt
    - echo "scratch" > out/skip.log
    - echo "VERSION=1.2.3" > build.env
  artifacts:
    paths: [out/]
    exclude: ["out/*.log"]
    reports:
      dotenv: build.env
other:
  stage: build
  script: [echo other > other.txt]
  artifacts:
    paths: [other.txt]
test:
  stage: test
  script:
    - cat out/app.txt
    - test ! -e out/skip.log
    - test -e other.txt
    - echo "version=[$VERSION]"
needs-only-build:
  stage: test
  needs: [build]
  script:
    - test -e out/app.txt
    - test ! -e other.txt
no-dependencies:
  stage: deploy
  dependencies: []
  script:
    - test ! -e out/app.txt
    - echo "version=[$VERSION]"
"""


def test_artifacts_reach_later_jobs_as_gitlab_hands_them(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    done = minirunner(repo, "run", "--report", "../report.json", "-j", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "built at" in done.stdout
    assert "version=[1.2.3]" in done.stdout
    assert "no-dependencies  | version=[]" in done.stdout
    stored = repo / ".minirunner" / "runs" / "1" / "artifacts" / "build"
    assert sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*")) == [
        "build.env",
        "out",
        "out/app.txt",
    ]
    report = json.loads((repo.parent / "report.json").read_text())
    assert {job["name"]: job["status"] for job in report["jobs"]} == {
        "build": "success",
        "other": "success",
        "test": "success",
        "needs-only-build": "success",
        "no-dependencies": "success",
    }


CACHED = """
job:
  cache:
    key: deps-$CI_COMMIT_REF_SLUG
    paths: [vendor/]
  script:
    - if [ -f vendor/count ]; then n=$(cat vendor/count); else n=0; fi
    - echo "runs before=[$n]"
    - mkdir -p vendor && echo $((n + 1)) > vendor/count
"""


def test_cache_persists_across_runs(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": CACHED})
    first = minirunner(repo, "run")
    second = minirunner(repo, "run")
    assert "runs before=[0]" in first.stdout, first.stdout
    assert "runs before=[1]" in second.stdout, second.stdout
    lines = second.stdout.splitlines()
    running = next(i for i, line in enumerate(lines) if "| Running job" in line)
    assert lines[running + 1] == "job | Restored cache 'deps-main'"


def test_artifact_paths_outside_the_project_are_refused(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret\n")
    config = f"""
leak:
  script: [ln -s {secret} link.txt]
  artifacts:
    paths: ["../secret.txt", link.txt]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run")
    assert "points outside the project" in done.stdout
    stored = repo / ".minirunner" / "runs" / "1" / "artifacts"
    assert not any(p.is_file() and not p.is_symlink() for p in stored.rglob("*"))


def test_artifacts_to_copies_them_out_after_the_run(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    config = "a:\n  script: [mkdir -p out, echo hi > out/x.txt]\n"
    config += "  artifacts:\n    paths: [out/]\n"
    repo = make_repo({".gitlab-ci.yml": config})
    target = tmp_path / "collected"
    done = minirunner(repo, "run", "--artifacts-to", str(target))
    assert done.returncode == 0, done.stderr
    assert (target / "a" / "out" / "x.txt").read_text() == "hi\n"
    assert f"Copied the artifacts of 1 job to {target}" in done.stdout


def test_each_artifact_path_that_matches_nothing_is_named(make_repo: MakeRepo) -> None:
    config = """
build:
  script: [echo 1.0 > version.txt]
  artifacts:
    paths: [version.txt, dist/, "*.whl"]
    reports:
      dotenv: build.env
"""
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stdout.splitlines() if "WARNING" in line]
    assert [line.split(" | ", 1)[1] for line in warnings] == [
        "WARNING: dist/: no matching files",
        "WARNING: *.whl: no matching files",
        "WARNING: build.env: no matching files",
    ]
    stored = repo / ".minirunner" / "runs" / "1" / "artifacts" / "build"
    assert [p.name for p in stored.iterdir()] == ["version.txt"]


def test_artifacts_that_cannot_be_copied_out_leave_the_result_alone(
    make_repo: MakeRepo,
) -> None:
    config = "a:\n  script: [echo hi > out.txt]\n  artifacts:\n    paths: [out.txt]\n"
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run", "--artifacts-to", "/proc/no-such-folder")
    assert done.returncode == 0, done.stdout + done.stderr
    stored = repo / ".minirunner" / "runs" / "1" / "artifacts"
    assert done.stderr == (
        "Warning: --artifacts-to: [Errno 2] No such file or directory: "
        f"'/proc/no-such-folder'; the artifacts stay in {stored}\n"
    )
    assert "Pipeline #1 passed" in done.stdout


DOTENV_USE = """
stages: [make, use]
make:
  stage: make
  script: [printf "$REPORT" > build.env]
  artifacts:
    reports:
      dotenv: build.env
use:
  stage: use
  script: ['echo "A=[$A] Q=[$Q]"']
"""


def test_a_dotenv_report_is_read_as_gitlab_reads_it(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": DOTENV_USE})
    kept = minirunner(repo, "run", "-v", 'REPORT=A = spaced \\nQ="kept"\\n')
    refused = minirunner(repo, "run", "-v", "REPORT=A=1\\n\\nQ=2\\n")
    assert (kept.returncode, refused.returncode) == (0, 0)
    assert 'use  | A=[spaced] Q=["kept"]' in kept.stdout
    assert (
        "make | WARNING: build.env:2: Invalid Format (a line without `=`): GitLab "
        "refuses this dotenv report, so no job gets its variables"
    ) in refused.stdout
    assert "use  | A=[] Q=[]" in refused.stdout


EXPANDED = """
stages: [build, test]
variables:
  OUT: out
  VENDOR: vendor
build:
  stage: build
  variables:
    REPORT: build.env
  script:
    - mkdir -p out/keep $VENDOR && echo kept > out/keep/a.txt && echo no > out/x.log
    - echo "FROM_DOTENV=yes" > $REPORT && echo dep > vendor/lib.txt
  artifacts:
    paths: [$OUT/keep/, "${CI_PROJECT_DIR}/out/x.log"]
    exclude: ["$OUT/*.log"]
    reports:
      dotenv: $REPORT
  cache:
    key: deps
    paths: [$VENDOR/]
check:
  stage: test
  script:
    - cat out/keep/a.txt
    - test ! -e out/x.log
    - echo "dotenv=[$FROM_DOTENV]"
"""


def test_artifact_and_cache_paths_expand_the_jobs_variables(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({".gitlab-ci.yml": EXPANDED})
    done = minirunner(repo, "run", "-j", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check | kept" in done.stdout
    assert "check | dotenv=[yes]" in done.stdout
    assert "build | Saved cache 'deps' (1 file)" in done.stdout
    assert "no matching files" not in done.stdout
    stored = repo / ".minirunner" / "runs" / "1" / "artifacts" / "build"
    assert sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*")) == [
        "build.env",
        "out",
        "out/keep",
        "out/keep/a.txt",
    ]


def test_artifacts_keep_folders_even_empty_ones(make_repo: MakeRepo) -> None:
    config = """
stages: [build, test]
build:
  stage: build
  script: [mkdir -p dist/empty dist/logs dist/full, touch dist/logs/a.log dist/full/f]
  artifacts:
    paths: [dist]
    exclude: ["dist/logs/*.log"]
check:
  stage: test
  script: [find dist | sort]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run", "-j", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    found = [
        line.split("| ", 1)[1]
        for line in done.stdout.splitlines()
        if line.startswith("check | dist")
    ]
    assert found == ["dist", "dist/empty", "dist/full", "dist/full/f", "dist/logs"]
    assert "build | Uploaded 1 artifact file to" in done.stdout


def test_links_to_parent_folders_do_not_make_a_match_endless(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "hostname").write_text("host\n")
    config = f"""
loops:
  script:
    - mkdir -p d && ln -s .. d/up && ln -s .. d/again && echo kept > d/file.txt
    - ln -s {tmp_path / "outside"} elsewhere
  artifacts:
    paths: ["d/**", elsewhere/hostname]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "loops | WARNING: artifacts: 'elsewhere/hostname' is behind a link out of "
        "the project; it is left out"
    ) in done.stdout
    stored = repo / ".minirunner" / "runs" / "1" / "artifacts" / "loops"
    assert sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*")) == [
        "d",
        "d/again",
        "d/file.txt",
        "d/up",
    ]
    assert (stored / "d" / "up").is_symlink()


def test_a_pages_job_keeps_the_folder_it_publishes(make_repo: MakeRepo) -> None:
    config = """
stages: [deploy, check]
pages:
  stage: deploy
  script: [mkdir -p public, echo home > public/index.html]
site:
  stage: deploy
  pages: {publish: dist}
  script: [mkdir -p dist, echo site > dist/index.html]
check:
  stage: check
  script: [cat public/index.html dist/index.html]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run", "-j", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check | home" in done.stdout
    assert "check | site" in done.stdout
