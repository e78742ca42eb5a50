"""The command line, as a user meets it: real repositories, real processes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import isolated_env
from conftest import MakeRepo, git
from repo_guard import RepoGuard, guard_make_repo

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

PIPELINE = """
stages: [build, test, deploy]
variables:
  GREETING: hello
compile:
  stage: build
  script:
    - echo "$GREETING from $CI_JOB_NAME on [$CI_COMMIT_REF_NAME]"
unit:
  stage: test
  needs: [compile]
  script: [echo unit]
release:
  stage: deploy
  script: [echo release]
  rules:
    - if: $CI_COMMIT_TAG
"""


def minirunner(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINIRUNNER_STATE_DIR": str(cwd.parent / "state")}
    return subprocess.run(
        [sys.executable, "-m", "minirunner", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error line, after checking there is exactly one and no traceback."""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def tree_digest(repo: Path) -> dict[str, str]:
    """Every file of the repository (git's own included) with its content's hash."""
    digest = {}
    for path in sorted(repo.rglob("*")):
        if path.is_file() and ".minirunner" not in path.parts:
            digest[str(path.relative_to(repo))] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return digest


def test_list_json_follows_the_contract(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE}, branch="feature/X")
    done = minirunner(repo, "list", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "pipeline": {
            "created": True,
            "ref": "feature/X",
            "tag": None,
            "branch": "feature/X",
            "source": "push",
        },
        "stages": ["build", "test"],
        "jobs": [
            {
                "name": "compile",
                "stage": "build",
                "when": "on_success",
                "allow_failure": False,
                "needs": None,
                "image": None,
            },
            {
                "name": "unit",
                "stage": "test",
                "when": "on_success",
                "allow_failure": False,
                "needs": ["compile"],
                "image": None,
            },
        ],
    }


def test_run_writes_the_report_and_leaves_the_repository_alone(
    make_repo: MakeRepo, repo_guard: RepoGuard
) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE, "notes.txt": "mine\n"}, tag="v1.0")
    (repo / "notes.txt").write_text("uncommitted edit\n")
    repo_guard.settle(repo)
    before = tree_digest(repo)
    status_before = git(repo, "status", "--porcelain")

    done = minirunner(repo, "run", "--report", "report.json", "-v", "GREETING=hi")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "compile | hi from compile on [v1.0]" in done.stdout
    report = json.loads((repo / "report.json").read_text())
    (repo / "report.json").unlink()
    assert report["status"] == "success"
    assert [
        (job["name"], job["status"], job["exit_code"]) for job in report["jobs"]
    ] == [
        ("compile", "success", 0),
        ("unit", "success", 0),
        ("release", "success", 0),
    ]
    log = Path(report["jobs"][0]["log"])
    assert log == repo / ".minirunner" / "runs" / "1" / "compile.log"
    assert "hi from compile on [v1.0]" in log.read_text()
    assert tree_digest(repo) == before
    assert git(repo, "status", "--porcelain") == status_before


def test_a_failing_job_fails_the_run_with_status_1(make_repo: MakeRepo) -> None:
    config = (
        "a:\n  stage: build\n  script: [echo before, exit 4]\nb:\n  script: [echo b]\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run", "--color", "never")
    assert done.returncode == 1
    assert re.search(r"^a +build +failed +\d", done.stdout, re.M)
    assert re.search(r"^b +test +skipped +-$", done.stdout, re.M)
    assert "a failed: exit code 4" in done.stdout


def test_variables_of_a_job(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE}, branch="Feature/Foo_Bar")
    done = minirunner(repo, "vars", "compile", "--json")
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    sha = git(repo, "rev-parse", "HEAD")
    assert values["CI_COMMIT_SHA"] == sha
    assert values["CI_COMMIT_SHORT_SHA"] == sha[:8]
    assert values["CI_COMMIT_BRANCH"] == "Feature/Foo_Bar"
    assert values["CI_COMMIT_REF_SLUG"] == "feature-foo-bar"
    assert values["CI_JOB_NAME"] == "compile"
    assert values["CI_JOB_STAGE"] == "build"
    assert values["GREETING"] == "hello"
    assert "CI_COMMIT_TAG" not in values


def test_a_jobs_folders_follow_its_executor(make_repo: MakeRepo) -> None:
    config = "where:\n  script: [echo at $CI_PROJECT_DIR in $CI_BUILDS_DIR]\n"
    repo = make_repo({".gitlab-ci.yml": config})
    folders = {}
    for executor in ("auto", "docker"):
        done = minirunner(repo, "vars", "where", "--json", "--executor", executor)
        assert done.returncode == 0, done.stderr
        values = json.loads(done.stdout)
        folders[executor] = values["CI_PROJECT_DIR"], values["CI_BUILDS_DIR"]
    slot = repo / ".minirunner" / "builds" / "shell" / "slot-0"
    assert folders == {
        "auto": (str(slot / "build"), str(slot)),
        "docker": (f"/builds/local/{repo.name}", "/builds"),
    }
    ran = minirunner(repo, "run")
    assert f"where | at {slot / 'build'} in {slot}" in ran.stdout


@pytest.mark.parametrize(
    ("files", "args", "code", "message"),
    [
        (None, ["list"], 3, "plain is not in a git repository"),
        ({"README": "x"}, ["list"], 2, "no .gitlab-ci.yml in the commit"),
        ({".gitlab-ci.yml": "a: [\n"}, ["lint"], 2, ".gitlab-ci.yml:"),
        ({".gitlab-ci.yml": PIPELINE}, ["run", "nope"], 2, "no job named 'nope'"),
        (
            {".gitlab-ci.yml": PIPELINE},
            ["run", "release"],
            2,
            "job 'release' is not in this pipeline",
        ),
        (
            {".gitlab-ci.yml": PIPELINE},
            ["run", "complie"],
            2,
            "no job named 'complie' in the configuration; did you mean 'compile'?",
        ),
        (
            {".gitlab-ci.yml": PIPELINE},
            ["vars", "releas"],
            2,
            "no job named 'releas' in the configuration; did you mean 'release'?",
        ),
        (
            {".gitlab-ci.yml": PIPELINE},
            ["vars", "release"],
            2,
            "job 'release' is not in this pipeline: no rule matched",
        ),
        ({".gitlab-ci.yml": PIPELINE}, ["list", "-v", "novalue"], 2, "KEY=VALUE"),
        ({".gitlab-ci.yml": PIPELINE}, ["list", "--tag", "v9"], 2, "v9"),
    ],
)
def test_user_mistakes_get_one_line(
    make_repo: MakeRepo,
    tmp_path: Path,
    files: dict[str, str] | None,
    args: list[str],
    code: int,
    message: str,
) -> None:
    if files is None:
        repo = tmp_path / "plain"
        repo.mkdir()
    else:
        repo = make_repo(files)
    done = minirunner(repo, *args)
    assert done.returncode == code, done.stderr
    line = one_line_error(done)
    assert line.startswith("Error: ")
    assert message in line


def test_no_commits_yet(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q")
    done = minirunner(repo, "list")
    assert done.returncode == 3
    assert "commit" in one_line_error(done)


def test_version() -> None:
    from minirunner import __version__

    done = minirunner(Path.cwd(), "--version")
    assert done.stdout.strip() == f"minirunner, version {__version__}"


def test_a_named_job_runs_alone_and_says_which_needs_it_skips(
    make_repo: MakeRepo,
) -> None:
    config = "build:\n  stage: build\n  script: [echo b]\n"
    config += "unit:\n  needs: [build]\n  script: [echo u]\n"
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run", "unit")
    assert done.returncode == 0, done.stderr
    assert "Note: unit needs build, not in this run (--needs adds them)" in done.stdout
    assert "build |" not in done.stdout


def test_a_delayed_job_runs_at_once_and_says_so(make_repo: MakeRepo) -> None:
    config = (
        "later:\n  script: [echo ran]\n  when: delayed\n  start_in: 5 minutes\n"
        "by-rule:\n  script: [echo ran]\n  rules:\n"
        "    - when: delayed\n      start_in: 1 hour\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run", "--color", "never")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stdout.splitlines() if "when: delayed" in line]
    assert sorted(notes) == [
        "by-rule | when: delayed: GitLab would start it 1 hour later; minirunner "
        "starts it at once",
        "later   | when: delayed: GitLab would start it 5 minutes later; minirunner "
        "starts it at once",
    ]


def test_show_writes_shared_values_out_in_full(make_repo: MakeRepo) -> None:
    config = (
        ".base:\n  tags: [fast]\n"
        "a:\n  extends: .base\n  script: [echo a]\n"
        "b:\n  extends: .base\n  script: [echo b]\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "show")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        ".base:\n  tags:\n  - fast\n"
        "a:\n  tags:\n  - fast\n  extends: .base\n  script:\n  - echo a\n"
        "b:\n  tags:\n  - fast\n  extends: .base\n  script:\n  - echo b\n"
    )


def test_a_command_line_mistake_is_one_line(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    done = minirunner(repo, "run", "-j", "0")
    assert done.returncode == 2
    assert done.stderr == (
        "Error: Invalid value for '-j' / '--concurrency': 0 is not in the range "
        "x>=1. (`minirunner run --help` for help)\n"
    )


def test_a_parallel_jobs_own_name_stands_for_the_jobs_it_makes(
    make_repo: MakeRepo,
) -> None:
    config = (
        "deploy:\n  script: [echo to $CLOUD]\n"
        "  parallel:\n    matrix:\n      - CLOUD: [aws, gcp]\n"
        "shard:\n  script: [echo $CI_NODE_INDEX]\n  parallel: 2\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    ran = minirunner(repo, "run", "deploy", "shard", "--color", "never")
    assert ran.returncode == 0, ran.stderr
    assert "deploy: [gcp] | to gcp" in ran.stdout
    assert "shard 2/2     | 2" in ran.stdout
    asked = minirunner(repo, "vars", "deploy")
    assert asked.returncode == 2
    assert asked.stderr == (
        "Error: 'deploy' is a parallel job: name one of the jobs it makes: "
        "'deploy: [aws]', 'deploy: [gcp]'\n"
    )


def test_an_uncommitted_include_is_pointed_at(
    make_repo: MakeRepo, repo_guard: RepoGuard
) -> None:
    repo = make_repo({".gitlab-ci.yml": "include: ci/more.yml\na:\n  script: [x]\n"})
    (repo / "ci").mkdir()
    (repo / "ci" / "more.yml").write_text("b:\n  script: [y]\n")
    repo_guard.settle(repo)
    done = minirunner(repo, "lint")
    assert done.returncode == 2
    assert done.stderr == (
        "Error: .gitlab-ci.yml:1: include: Local file `ci/more.yml` does not exist! "
        "(it is in the working tree: commit it or pass --worktree)\n"
    )
    assert minirunner(repo, "lint", "--worktree").returncode == 0


def test_lint_lists_the_mistakes_of_every_job(make_repo: MakeRepo) -> None:
    config = (
        "a:\n  script: [x]\n  stage: [build]\n"
        "b:\n  script: [x]\n  when: sometimes\n"
        "c:\n  scirpt: [x]\n"
        "d:\n  script: [x]\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    linted = minirunner(repo, "lint")
    listed = minirunner(repo, "list")
    assert (linted.returncode, listed.returncode) == (2, 2)
    assert linted.stderr.splitlines() == [
        "Error: .gitlab-ci.yml:3: job 'a': stage: should be a string, not a list",
        "Error: .gitlab-ci.yml:6: job 'b': when: should be one of: on_success, "
        "on_failure, always, manual, delayed",
        "Error: .gitlab-ci.yml:7: job 'c': config should implement the script:, "
        "run:, or trigger: keyword ('scirpt' looks like 'script')",
    ]
    assert listed.stderr == (
        "Error: .gitlab-ci.yml:3: job 'a': stage: should be a string, not a list "
        "(and 2 more: `minirunner lint` lists them all)\n"
    )


def test_lint_lists_every_mistake_of_a_job_in_line_order(make_repo: MakeRepo) -> None:
    config = (
        "build:\n  script: echo hi\n  when: sometimes\n  timeout: forever\n"
        "  retry: lots\n  image: 5\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    linted = minirunner(repo, "lint")
    assert linted.returncode == 2
    assert linted.stderr.splitlines() == [
        "Error: .gitlab-ci.yml:3: job 'build': when: should be one of: on_success, "
        "on_failure, always, manual, delayed",
        "Error: .gitlab-ci.yml:4: job 'build': timeout: should be a duration",
        "Error: .gitlab-ci.yml:5: job 'build': retry: config has to be either an "
        "integer or a hash",
        "Error: .gitlab-ci.yml:6: job 'build': image: config should be a hash or a "
        "string, not a number",
    ]


def test_a_job_name_with_a_newline_keeps_every_table_on_its_lines(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({".gitlab-ci.yml": '"two\\nlines":\n  script: [echo hi]\n'})
    ran = minirunner(repo, "run", "--color", "never")
    listed = minirunner(repo, "list")
    assert ran.returncode == 0, ran.stderr
    assert "two\\nlines | hi" in ran.stdout.splitlines()
    assert "two\\nlines  test   passed  " in "\n".join(ran.stdout.splitlines())
    assert listed.stdout.splitlines()[2].startswith("test   two\\nlines  on_success")


def test_a_reader_that_leaves_early_gets_exit_status_141(make_repo: MakeRepo) -> None:
    # More output than a pipe holds, so that writing it must meet the closed end.
    jobs = "".join(f"job-{n:04}:\n  script: [echo {n}]\n" for n in range(3000))
    repo = make_repo({".gitlab-ci.yml": jobs})
    with subprocess.Popen(
        [sys.executable, "-m", "minirunner", "list"],
        cwd=repo,
        env=isolated_env(repo.parent, None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.read(10)
        reader.stdout.close()
        assert reader.wait(timeout=60) == 141
        assert reader.stderr.read() == b""


def test_a_folder_of_minirunners_that_cannot_be_used_is_one_line(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo({".gitlab-ci.yml": "job:\n  script: [echo hi]\n"})
    (repo / ".minirunner").mkdir()
    (repo / ".minirunner" / "runs").symlink_to(tmp_path / "gone")
    done = minirunner(repo, "run")
    assert done.returncode == 3
    assert one_line_error(done) == f"Error: File exists: {repo}/.minirunner/runs"


def test_a_run_with_its_output_closed_still_runs(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": "job:\n  script: [echo hi]\n"})
    env = {**os.environ, "MINIRUNNER_STATE_DIR": str(repo.parent / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "minirunner", "run", "--report", "../report.json"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        # The child starts with its standard output closed, as `>&-` does.
        preexec_fn=lambda: os.close(1),
    )
    assert (done.returncode, done.stderr) == (0, "")
    report = json.loads((repo.parent / "report.json").read_text())
    assert report["status"] == "success"


def test_a_configuration_link_that_loops_is_no_file(
    make_repo: MakeRepo, repo_guard: RepoGuard
) -> None:
    repo = make_repo({"README": "no pipeline\n"})
    (repo / ".gitlab-ci.yml").symlink_to(".gitlab-ci.yml")
    repo_guard.settle(repo)
    done = minirunner(repo, "lint", "--worktree")
    assert done.returncode == 2
    assert one_line_error(done) == "Error: no .gitlab-ci.yml in the working tree"


def test_a_shallow_clone_runs_its_commit_as_a_first_one(
    make_repo: MakeRepo, repo_guard: RepoGuard, tmp_path: Path
) -> None:
    config = "job:\n  script: [echo hi]\n  rules:\n    - changes: [a.txt]\n"
    source = make_repo({".gitlab-ci.yml": config, "a.txt": "1\n"})
    (source / "a.txt").write_text("2\n")
    git(source, "commit", "-q", "-am", "Second")
    repo_guard.settle(source)
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{source}", str(clone))
    repo_guard.watch(clone)
    done = minirunner(clone, "run", "--report", "../report.json")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(job["name"], job["status"]) for job in report["jobs"]] == [
        ("job", "success")
    ]


@pytest.mark.parametrize("path", ["/etc/passwd", "../other.yml", ""])
def test_file_names_a_path_inside_the_repository(
    make_repo: MakeRepo, path: str
) -> None:
    repo = make_repo({".gitlab-ci.yml": "job:\n  script: [echo hi]\n"})
    done = minirunner(repo, "lint", "--file", path)
    assert done.returncode == 2
    assert one_line_error(done) == (
        f"Error: Invalid value for '--file': '{path}' is not a path inside the "
        "repository, relative to its top (`minirunner lint --help` for help)"
    )
