"""Tests for minirunner.snapshot, on real repositories."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from conftest import MakeRepo, git, write_files

from minirunner.errors import GitError
from minirunner.snapshot import alternate_object_dirs, make_snapshot, reuse_snapshot


@pytest.fixture(autouse=True)
def isolated_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's git configuration out of the repositories."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def tree_digest(root: Path, *, skip_git: bool) -> dict[str, str]:
    """Every file, link and folder below root with a digest of content and mode."""
    digests: dict[str, str] = {}
    for folder, subfolders, names in os.walk(root):
        if skip_git and ".git" in subfolders:
            subfolders.remove(".git")
        for name in subfolders + names:
            path = Path(folder) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path).encode()
            elif stat.S_ISREG(info.st_mode):
                content = path.read_bytes()
            else:
                content = b""
            digest = hashlib.sha256(content).hexdigest()
            digests[str(path.relative_to(root))] = f"{info.st_mode:o} {digest}"
    return digests


def fingerprint(repo: Path) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """What must not change in the user's repository."""
    status = git(
        repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"
    )
    refs = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return (
        status,
        refs,
        tree_digest(repo / ".git", skip_git=False),
        tree_digest(repo, skip_git=True),
    )


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    repo = make_repo(
        {
            ".gitignore": "*.log\nbuild/\n",
            "README.md": "first\n",
            "src/app.py": "print('v1')\n",
            "run.sh": "#!/bin/sh\necho run\n",
        },
        tag="v1.0.0",
    )
    (repo / "run.sh").chmod(0o755)
    os.symlink("src/app.py", repo / "app-link")
    write_files(repo, {"src/app.py": "print('v2')\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Second")
    git(repo, "branch", "feature/x")
    return repo


def dirty(repo: Path) -> None:
    """Uncommitted work of every kind."""
    write_files(
        repo,
        {
            "src/app.py": "print('edited')\n",
            "staged.txt": "staged\n",
            "notes/todo.txt": "untracked\n",
            "debug.log": "ignored\n",
            "build/out.bin": "ignored\n",
        },
    )
    git(repo, "add", "staged.txt")
    (repo / "README.md").unlink()
    # Same content, new time: the index's stat data is stale, which is when a
    # careless `git status` or `git diff` would rewrite the user's index.
    os.utime(repo / "run.sh", (1_600_000_000, 1_600_000_000))


def test_snapshot_is_a_detached_checkout_of_the_commit(
    project: Path, tmp_path: Path
) -> None:
    sha = git(project, "rev-parse", "HEAD")
    dest = tmp_path / "snap"

    make_snapshot(project, sha, dest)

    assert git(dest, "rev-parse", "HEAD") == sha
    assert git(dest, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD"
    assert git(dest, "status", "--porcelain") == ""
    assert git(dest, "tag", "--list") == "v1.0.0"
    assert "origin/feature/x" in git(dest, "branch", "--remotes").split()
    assert git(dest, "log", "--format=%s") == "Second\nInitial commit"
    assert (dest / "src" / "app.py").read_text() == "print('v2')\n"
    assert os.access(dest / "run.sh", os.X_OK)
    assert os.readlink(dest / "app-link") == "src/app.py"
    assert sorted(path.name for path in dest.iterdir()) == [
        ".git",
        ".gitignore",
        "README.md",
        "app-link",
        "run.sh",
        "src",
    ]
    assert alternate_object_dirs(dest) == ()


def test_snapshot_stands_alone(project: Path, tmp_path: Path) -> None:
    sha = git(project, "rev-parse", "HEAD")
    dest = tmp_path / "snap"

    make_snapshot(project, sha, dest)
    project.rename(tmp_path / "elsewhere")

    assert git(dest, "log", "--format=%H %s") == (
        f"{sha} Second\n{git(dest, 'rev-parse', 'HEAD~1')} Initial commit"
    )
    assert git(dest, "fsck", "--no-progress") == ""


def test_shared_snapshot_borrows_the_users_objects(
    project: Path, tmp_path: Path
) -> None:
    sha = git(project, "rev-parse", "HEAD")
    dest = tmp_path / "snap"

    make_snapshot(project, sha, dest, shared=True)

    assert git(dest, "rev-parse", "HEAD") == sha
    assert git(dest, "log", "--format=%s") == "Second\nInitial commit"
    assert alternate_object_dirs(dest) == (project / ".git" / "objects",)


def test_snapshot_of_an_older_commit(project: Path, tmp_path: Path) -> None:
    first = git(project, "rev-parse", "HEAD~1")

    make_snapshot(project, first, tmp_path / "snap")

    assert (tmp_path / "snap" / "src" / "app.py").read_text() == "print('v1')\n"
    assert not (tmp_path / "snap" / "app-link").exists()


@pytest.mark.parametrize(
    ("worktree", "shared"), [(False, False), (True, False), (False, True)]
)
def test_snapshot_leaves_the_users_repository_unchanged(
    project: Path, tmp_path: Path, worktree: bool, shared: bool
) -> None:
    dirty(project)
    sha = git(project, "rev-parse", "HEAD")
    dest = tmp_path / "snap"
    before = fingerprint(project)

    make_snapshot(project, sha, dest, worktree=worktree, shared=shared)
    write_files(dest, {"job-output.txt": "made by a job\n"})
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "A job commits")
    git(dest, "tag", "job-tag")
    pushed = subprocess.run(
        ["git", "push", "origin", "HEAD:refs/heads/from-job"],
        cwd=dest,
        capture_output=True,
        text=True,
    )

    assert pushed.returncode != 0
    assert "minirunner-snapshot-push-disabled" in pushed.stderr
    assert fingerprint(project) == before


def test_inherited_git_variables_do_not_touch_the_users_index(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirty(project)
    before = fingerprint(project)
    monkeypatch.setenv("GIT_DIR", str(project / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(project / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(project))

    make_snapshot(project, "HEAD", tmp_path / "snap", worktree=True)

    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert fingerprint(project) == before
    assert (tmp_path / "snap" / "src" / "app.py").read_text() == "print('edited')\n"


def test_worktree_snapshot_copies_the_working_tree_as_it_is(
    project: Path, tmp_path: Path
) -> None:
    dirty(project)
    sha = git(project, "rev-parse", "HEAD")
    dest = tmp_path / "snap"

    make_snapshot(project, sha, dest, worktree=True)

    assert git(dest, "rev-parse", "HEAD") == sha
    assert (dest / "src" / "app.py").read_text() == "print('edited')\n"
    assert (dest / "notes" / "todo.txt").read_text() == "untracked\n"
    assert (dest / "staged.txt").read_text() == "staged\n"
    assert not (dest / "README.md").exists()
    assert not (dest / "debug.log").exists()
    assert not (dest / "build").exists()
    assert os.access(dest / "run.sh", os.X_OK)
    assert os.readlink(dest / "app-link") == "src/app.py"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=dest,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout.splitlines() == [
        " D README.md",
        " M src/app.py",
        "?? notes/todo.txt",
        "?? staged.txt",
    ]


def test_snapshot_into_a_folder_that_is_not_empty(
    project: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "snap"
    write_files(dest, {"left-over": "x"})

    with pytest.raises(GitError) as raised:
        make_snapshot(project, "HEAD", dest)

    assert raised.value.message == f"cannot make a snapshot in {dest}: it is not empty"


def test_snapshot_of_an_unknown_commit(project: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError) as raised:
        make_snapshot(project, "0" * 40, tmp_path / "snap")

    assert raised.value.message.startswith(
        "cannot make a snapshot: git checkout failed: "
    )


def test_snapshot_is_fast(project: Path, tmp_path: Path) -> None:
    sha = git(project, "rev-parse", "HEAD")

    started = time.perf_counter()
    make_snapshot(project, sha, tmp_path / "plain")
    make_snapshot(project, sha, tmp_path / "worktree", worktree=True)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0


def test_reuse_brings_a_used_checkout_back_to_the_commit(
    project: Path, tmp_path: Path
) -> None:
    sha = git(project, "rev-parse", "HEAD")
    dest = tmp_path / "slot" / "build"
    saved_index = tmp_path / "slot" / "index"
    make_snapshot(project, git(project, "rev-parse", "HEAD~1"), dest)
    shutil.copyfile(dest / ".git" / "index", saved_index)
    write_files(dest, {"README.md": "changed\n", "new.txt": "x\n", "a.log": "x\n"})
    git(dest, "tag", "made-in-job")
    git(dest, "config", "core.worktree", str(project))
    git(project, "tag", "v2.0.0")

    reuse_snapshot(project, sha, dest, saved_index=saved_index, clean_flags=["-ffdx"])

    assert git(dest, "rev-parse", "HEAD") == sha
    assert git(dest, "status", "--porcelain", "--ignored") == ""
    assert git(dest, "tag", "--list").split() == ["v1.0.0", "v2.0.0"]
    assert "core.worktree" not in git(dest, "config", "--list")
    assert (dest / "src" / "app.py").read_text() == "print('v2')\n"
    assert (dest / "README.md").read_text() == "first\n"


def test_reuse_replaces_a_git_folder_a_job_turned_against_the_user(
    project: Path, tmp_path: Path
) -> None:
    sha = git(project, "rev-parse", "HEAD")
    before = fingerprint(project)
    dest = tmp_path / "slot" / "build"
    saved_index = tmp_path / "slot" / "index"
    make_snapshot(project, sha, dest)
    shutil.copyfile(dest / ".git" / "index", saved_index)
    ran = tmp_path / "ran"
    monitor = tmp_path / "monitor.sh"
    monitor.write_text(f"#!/bin/sh\ntouch {ran}\n")
    monitor.chmod(0o755)
    git(dest, "config", "core.fsmonitor", str(monitor))
    shutil.rmtree(dest / ".git" / "refs")
    (dest / ".git" / "refs").symlink_to(project / ".git" / "refs")
    (dest / ".git" / "commondir").write_text(str(project / ".git"))

    reuse_snapshot(project, sha, dest, saved_index=saved_index, clean_flags=["-ffdx"])

    assert fingerprint(project) == before
    assert not ran.exists()
    assert not (dest / ".git" / "refs").is_symlink()
    assert not (dest / ".git" / "commondir").exists()
    assert git(dest, "rev-parse", "HEAD") == sha


def test_reuse_refuses_a_checkout_replaced_by_a_link(
    project: Path, tmp_path: Path
) -> None:
    sha = git(project, "rev-parse", "HEAD")
    other = tmp_path / "other"
    make_snapshot(project, sha, other)
    write_files(other, {"README.md": "work in progress\n", "notes.txt": "mine\n"})
    saved_index = tmp_path / "index"
    shutil.copyfile(other / ".git" / "index", saved_index)
    link = tmp_path / "link"
    link.symlink_to(other)

    with pytest.raises(GitError, match="its project folder is gone"):
        reuse_snapshot(project, sha, link, saved_index=saved_index, clean_flags=[])

    assert (other / "README.md").read_text() == "work in progress\n"
    assert (other / "notes.txt").read_text() == "mine\n"


def test_borrowed_objects_are_listed_down_the_chain(
    project: Path, tmp_path: Path
) -> None:
    borrower = tmp_path / "borrower"
    git(tmp_path, "clone", "-q", "--shared", str(project), str(borrower))
    dest = tmp_path / "snap"

    make_snapshot(borrower, git(borrower, "rev-parse", "HEAD"), dest, shared=True)

    assert alternate_object_dirs(dest) == (
        borrower / ".git" / "objects",
        project / ".git" / "objects",
    )
