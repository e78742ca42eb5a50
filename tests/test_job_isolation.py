"""A shell job cannot reach the user's repository, nor outlive itself."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo, git
from repo_guard import guard_make_repo

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

ESCAPES = """
empty:
  variables: {GIT_STRATEGY: empty}
  script:
    - git rev-parse --show-toplevel || echo "empty finds no repository"
    - git tag from-empty || true
no-git-folder:
  script:
    - rm -rf .git
    - git checkout -q -b from-job || echo "no-git-folder finds no repository"
adds:
  script: [echo x > file.txt, git add file.txt, git tag from-adds]
"""


def test_a_shell_job_never_reaches_the_users_repository(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": ESCAPES})
    # As git sets them for a hook that runs minirunner.
    hook = {
        "GIT_DIR": str(repo / ".git"),
        "GIT_WORK_TREE": str(repo),
        "GIT_INDEX_FILE": str(repo / ".git" / "index"),
    }
    done = minirunner(repo, "run", "-j", "1", env=hook)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "empty finds no repository" in done.stdout
    assert "no-git-folder finds no repository" in done.stdout


def test_what_a_job_leaves_running_ends_with_it(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    config = f"""
leaves:
  script:
    - (sleep 300 & echo $! >> {pids})
    - sleep 301 >/dev/null 2>&1 & echo $! >> {pids}
    - nohup sleep 302 >/dev/null 2>&1 & echo $! >> {pids}
    - echo done
"""
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 3
    assert not [pid for pid in started if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waits for its parent (init) to reap it: it runs no more.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split(") ")[1][0] != "Z"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a repository away")
def test_a_repository_git_refuses_to_trust_is_one_line(tmp_path: Path) -> None:
    repo = tmp_path / "theirs"
    repo.mkdir()
    (repo / ".gitlab-ci.yml").write_text("job:\n  script: [echo hi]\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Theirs")
    nobody = pwd.getpwnam("nobody").pw_uid
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, nobody, -1)
    untrusting = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = minirunner(repo, "run", env=untrusting)
    assert done.returncode == 3
    assert done.stderr == (
        f"Error: git refuses {repo}: it belongs to another user; run minirunner as "
        "its owner, or trust it with "
        f"`git config --global --add safe.directory {repo}`\n"
    )
    assert not (repo / ".minirunner").exists()
