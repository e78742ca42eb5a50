"""Job folders reused from job to job and run to run, as GIT_STRATEGY says."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo, git
from repo_guard import RepoGuard, guard_make_repo

from minirunner.errors import GitError
from minirunner.workspace import git_templates

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

LEAVE_TRACES = """
stages: [first, second]
dirty:
  stage: first
  script:
    - echo changed >> README.md
    - echo new > untracked.txt
    - echo ignored > debug.log
    - git tag job-made-tag
look:
  stage: second
  script:
    - echo "readme=[$(cat README.md)]"
    - ls untracked.txt debug.log 2>/dev/null || echo "no leftovers"
    - echo "tags=[$(git tag | tr '\\n' ' ')]"
    - echo "slot=[$CI_CONCURRENT_ID]"
"""


def job_log(repo: Path, job: str, run: int = 1) -> str:
    return (repo / ".minirunner" / "runs" / str(run) / f"{job}.log").read_text()


def test_the_next_job_finds_the_checkout_as_the_commit_has_it(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo(
        {".gitlab-ci.yml": LEAVE_TRACES, ".gitignore": "*.log\n", "README.md": "hi\n"}
    )

    done = minirunner(repo, "run", "-j", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "in a fresh checkout of" in job_log(repo, "dirty")
    look = job_log(repo, "look")
    assert "in a reused checkout of" in look
    assert "readme=[hi]" in look
    assert "no leftovers" in look
    # Tags come from the user's repository, as a fetch brings them.
    assert "tags=[]" in look
    assert "slot=[0]" in look


def test_a_later_run_reuses_the_folder_and_sees_new_tags_and_commits(
    make_repo: MakeRepo, repo_guard: RepoGuard
) -> None:
    config = """
show:
  script:
    - echo "head=[$(git rev-parse HEAD)] tags=[$(git tag | tr '\\n' ' ')]"
    - cat version.txt
"""
    repo = make_repo({".gitlab-ci.yml": config, "version.txt": "one\n"})
    assert minirunner(repo, "run").returncode == 0
    (repo / "version.txt").write_text("two\n")
    git(repo, "commit", "-q", "-am", "Second")
    git(repo, "tag", "v2.0.0")
    repo_guard.settle(repo)
    sha = git(repo, "rev-parse", "HEAD")

    done = minirunner(repo, "run")

    assert done.returncode == 0, done.stdout + done.stderr
    log = job_log(repo, "show", run=2)
    assert f"in a reused checkout of {sha[:8]}" in log
    assert f"head=[{sha}] tags=[v2.0.0 ]" in log
    assert "two" in log


def test_git_strategy_none_keeps_what_the_last_job_left(make_repo: MakeRepo) -> None:
    config = """
stages: [first, second]
variables:
  GIT_STRATEGY: none
make:
  stage: first
  variables:
    GIT_STRATEGY: fetch
  script: [echo made > made.txt]
use:
  stage: second
  script: [cat made.txt, ls .git >/dev/null && echo "git folder too"]
"""
    repo = make_repo({".gitlab-ci.yml": config})

    done = minirunner(repo, "run", "-j", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    use = job_log(repo, "use")
    assert "GIT_STRATEGY none: the project folder as the last job left it" in use
    assert "made\n" in use
    assert "git folder too" in use


def test_git_strategy_clone_and_empty(make_repo: MakeRepo) -> None:
    config = """
stages: [first, second, third]
first:
  stage: first
  script: [echo x > left.txt]
cloned:
  stage: second
  variables: {GIT_STRATEGY: clone}
  script: [ls -A]
emptied:
  stage: third
  variables: {GIT_STRATEGY: empty}
  script: ['echo "entries=[$(ls -A | wc -l)]"']
"""
    repo = make_repo({".gitlab-ci.yml": config})

    done = minirunner(repo, "run", "-j", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    cloned = job_log(repo, "cloned")
    assert "in a fresh checkout of" in cloned
    assert "left.txt" not in cloned
    emptied = job_log(repo, "emptied")
    assert "GIT_STRATEGY empty: an empty project folder" in emptied
    assert "entries=[0]" in emptied


def test_git_clean_flags_none_keeps_untracked_files(make_repo: MakeRepo) -> None:
    config = """
stages: [first, second]
variables:
  GIT_CLEAN_FLAGS: none
first:
  stage: first
  script: [echo x > left.txt]
second:
  stage: second
  script: [cat left.txt]
"""
    repo = make_repo({".gitlab-ci.yml": config})

    done = minirunner(repo, "run", "-j", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "$ cat left.txt\nx\n" in job_log(repo, "second").replace("second | ", "")


def test_an_unknown_git_strategy_fails_the_job_with_its_name(
    make_repo: MakeRepo,
) -> None:
    config = "job:\n  variables: {GIT_STRATEGY: copy}\n  script: [echo never]\n"
    repo = make_repo({".gitlab-ci.yml": config})

    done = minirunner(repo, "run")

    assert done.returncode == 1
    assert (
        "ERROR: Job failed: GIT_STRATEGY 'copy' is not one of: "
        "fetch, clone, none, empty" in job_log(repo, "job")
    )
    assert "never" not in job_log(repo, "job")


def test_jobs_running_at_once_get_their_own_slots(make_repo: MakeRepo) -> None:
    config = """
a:
  script: [sleep 0.5, 'echo "slot=[$CI_CONCURRENT_ID] dir=[$CI_PROJECT_DIR]"']
b:
  script: [sleep 0.5, 'echo "slot=[$CI_CONCURRENT_ID] dir=[$CI_PROJECT_DIR]"']
"""
    repo = make_repo({".gitlab-ci.yml": config})

    done = minirunner(repo, "run", "-j", "2")

    assert done.returncode == 0, done.stdout + done.stderr
    builds = (repo / ".minirunner" / "builds").resolve()
    seen = {
        line.split("slot=", 1)[1]
        for job in ("a", "b")
        for line in job_log(repo, job).splitlines()
        if "slot=[" in line and "echo" not in line
    }
    assert seen == {
        f"[0] dir=[{builds}/shell/slot-0/build]",
        f"[1] dir=[{builds}/shell/slot-1/build]",
    }


def test_a_job_cannot_turn_the_next_clean_on_another_folder(
    make_repo: MakeRepo, repo_guard: RepoGuard, tmp_path: Path
) -> None:
    # Another repository of the user's, with work not yet committed.
    victim = make_repo({"tracked.txt": "v1\n"}, name="victim")
    (victim / "keep.txt").write_text("precious\n")
    (victim / "tracked.txt").write_text("edited\n")
    repo_guard.settle(victim)
    worktree = tmp_path / "other-worktree"
    worktree.mkdir()
    (worktree / "keep.txt").write_text("precious\n")
    config = f"""
stages: [first, second, third]
point-worktree:
  stage: first
  script: [git config core.worktree {worktree}]
swap-for-link:
  stage: second
  script: [cd .., rm -rf build, ln -s {victim} build]
after:
  stage: third
  script: [ls]
"""
    repo = make_repo({".gitlab-ci.yml": config})

    done = minirunner(repo, "run", "-j", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert (victim / "keep.txt").read_text() == "precious\n"
    assert (victim / "tracked.txt").read_text() == "edited\n"
    assert (worktree / "keep.txt").read_text() == "precious\n"
    assert "in a fresh checkout of" in job_log(repo, "after")


def test_what_a_job_does_to_git_stays_with_it(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = f"""
job:
  script:
    - git config --get core.worktree || echo "no worktree setting"
    - git branch job-branch
    - git config core.worktree {elsewhere}
    - git config remote.origin.url /nowhere
"""
    repo = make_repo({".gitlab-ci.yml": config})

    first = minirunner(repo, "run")
    second = minirunner(repo, "run")

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    log = job_log(repo, "job", run=2)
    assert "in a reused checkout of" in log
    assert "no worktree setting" in log
    assert list(elsewhere.iterdir()) == []


def test_a_link_in_place_of_the_builds_folder_is_not_followed(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    (victim / "slot-0").mkdir(parents=True)
    (victim / "slot-0" / "precious.txt").write_text("precious\n")
    config = f"""
job:
  script:
    - if [ "$ATTACK" ]; then cd ../../../.. && mv builds old; ln -s {victim} builds; fi
"""
    repo = make_repo({".gitlab-ci.yml": config})

    assert minirunner(repo, "run", "-v", "ATTACK=1").returncode == 0
    done = minirunner(repo, "run")

    assert done.returncode == 0, done.stdout + done.stderr
    assert (victim / "slot-0" / "precious.txt").read_text() == "precious\n"
    assert sorted(path.name for path in victim.rglob("*")) == [
        "precious.txt",
        "slot-0",
    ]


def test_a_worktree_run_does_not_copy_through_a_link_a_job_left(
    make_repo: MakeRepo, repo_guard: RepoGuard, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("the victim's own\n")
    config = f"""
variables:
  GIT_CLEAN_FLAGS: none
job:
  script:
    - cat newdir/notes.txt 2>/dev/null || true
    - rm -rf newdir && ln -s {victim} newdir
"""
    repo = make_repo({".gitlab-ci.yml": config})
    assert minirunner(repo, "run").returncode == 0
    (repo / "newdir").mkdir()
    (repo / "newdir" / "notes.txt").write_text("the user's untracked notes\n")
    repo_guard.settle(repo)

    done = minirunner(repo, "run", "--worktree")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "job | the user's untracked notes" in done.stdout
    assert (victim / "notes.txt").read_text() == "the victim's own\n"
    sha = git(repo, "rev-parse", "HEAD")
    assert (
        "in a reused checkout, reset and not cleaned (GIT_CLEAN_FLAGS none), of "
        f"{sha[:8]} with the working tree's changes\n" in done.stdout
    )


def test_clean_flags_git_refuses_give_a_fresh_checkout_and_say_why(
    make_repo: MakeRepo,
) -> None:
    config = """
stages: [first, second]
first:
  stage: first
  script: [echo x > left.txt]
second:
  stage: second
  variables: {GIT_CLEAN_FLAGS: --no-such-flag}
  script: [ls left.txt || echo "no left.txt"]
"""
    repo = make_repo({".gitlab-ci.yml": config})

    done = minirunner(repo, "run", "-j", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    log = job_log(repo, "second")
    assert "in a fresh checkout of" in log
    assert "(the slot's checkout could not be reused: " in log
    assert "git clean failed: error: unknown option `no-such-flag'" in log
    assert "no left.txt" in log


def test_a_template_begun_early_is_the_clone_jobs_copy_and_is_removed(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({"README": "hello\n"})
    with git_templates(repo) as templates:
        assert templates is not None
        clone = templates.get()
        assert git(clone, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")
    assert not clone.parent.exists()
    with pytest.raises(GitError, match="the run is over"):
        templates.get()


def test_a_template_closed_at_once_leaves_nothing(make_repo: MakeRepo) -> None:
    repo = make_repo({"README": "hello\n"})
    before = set(Path(tempfile.gettempdir()).glob("minirunner-git-*"))
    for _ in range(5):
        with git_templates(repo):
            pass
    assert set(Path(tempfile.gettempdir()).glob("minirunner-git-*")) == before


def test_a_template_that_cannot_be_cloned_is_reported_when_wanted(
    tmp_path: Path,
) -> None:
    with git_templates(tmp_path) as templates:
        assert templates is not None
        with pytest.raises(GitError):
            templates.get()
    assert list(tmp_path.iterdir()) == []
