"""A fresh checkout of one commit for jobs to run in, leaving the user's repo alone."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from minirunner.errors import GitError

# Pushing from a job must not reach the user's repository.
PUSH_DISABLED_URL = "minirunner-snapshot-push-disabled"

# Variables that point git at a repository or index; inherited from a hook they
# would make our commands read, or write, the user's files.
_REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
    }
)


def make_snapshot(
    state_root: Path,
    sha: str,
    dest: Path,
    *,
    worktree: bool = False,
    shared: bool = False,
) -> None:
    """Make `dest` a checkout of commit `sha`, with a `.git` for git commands.

    A local `git clone --no-checkout` reads the user's repository and writes only
    below `dest`: its branches are `origin/*`, its tags are there, HEAD is
    detached at `sha` as in a GitLab job, and `git push` is disabled. The clone
    stands alone, so git works in it inside a container too: its object files
    are hard links to the user's (never written to by git), or copies across
    file systems. With `shared`, it borrows the user's objects through
    `.git/objects/info/alternates` instead (instant, but a container then needs
    `alternate_object_dirs` mounted at the same path).

    With `worktree`, the files are then made those of the working tree as it is:
    what differs from `sha` (uncommitted changes, staged or not, deletions) and
    the untracked files that are not ignored are copied over; HEAD and the index
    stay `sha`'s, so `git status` in the job shows the local changes.
    """
    if dest.exists() and any(dest.iterdir()):
        raise GitError(f"cannot make a snapshot in {dest}: it is not empty")
    source = state_root.resolve()
    _git(
        None,
        "clone",
        "--quiet",
        "--shared" if shared else "--local",
        "--no-checkout",
        "--template=",
        f"--config=remote.origin.pushurl={PUSH_DISABLED_URL}",
        str(source),
        str(dest),
    )
    _git(dest, "checkout", "--quiet", "--detach", sha)
    if worktree:
        _overlay_working_tree(source, dest, sha)


def reuse_snapshot(
    state_root: Path,
    sha: str,
    dest: Path,
    *,
    clean_flags: Sequence[str],
    worktree: bool = False,
    shared: bool = False,
) -> bool:
    """Bring an earlier job's checkout in `dest` back to commit `sha`.

    As GitLab's `fetch` strategy does: the branches and tags fetched again from
    the user's repository (when a ref changed here or there since the last
    fetch), a forced checkout of `sha`, then `git clean` with `clean_flags`
    (none: no clean). False when `dest` holds no
    checkout of the kind asked for (`shared` or not) or git fails on it: the
    caller then makes a fresh one. The git folder and work tree are named on
    the command line, so a job's `core.worktree` cannot point our clean
    elsewhere.
    """
    git_dir = dest / ".git"
    if dest.is_symlink() or git_dir.is_symlink() or not git_dir.is_dir():
        return False
    if bool(alternate_object_dirs(dest)) != shared:
        return False
    source = state_root.resolve()
    located = (f"--git-dir={git_dir}", f"--work-tree={dest}")
    stamp = git_dir / SYNCED_STAMP
    try:
        if not _refs_in_step(source / ".git", git_dir, stamp):
            _git(
                dest,
                *located,
                "fetch",
                "--quiet",
                "--prune",
                "--force",
                str(source),
                *FETCHED_REFS,
            )
            stamp.write_text(_refs_stamp(source / ".git", git_dir))
        _git(dest, *located, "checkout", "--quiet", "--force", "--detach", sha)
        if clean_flags:
            _git(dest, *located, "clean", *clean_flags)
    except (GitError, OSError):
        return False
    if worktree:
        _overlay_working_tree(source, dest, sha)
    return True


def _refs_in_step(source_git: Path, git_dir: Path, stamp: Path) -> bool:
    """Whether no ref changed, here or in the user's repository, since the last fetch.

    Fetching from a local repository costs a git process and an upload-pack;
    comparing when the ref files last changed costs a few `stat` calls.
    """
    if not source_git.is_dir() or not stamp.is_file():
        return False
    return stamp.read_text() == _refs_stamp(source_git, git_dir)


def _refs_stamp(source_git: Path, git_dir: Path) -> str:
    """The size and change time of every ref file of both repositories."""
    lines = []
    for root in (source_git, git_dir):
        packed = root / "packed-refs"
        paths = [packed] if packed.is_file() else []
        for folder, _, names in os.walk(root / "refs"):
            paths += [Path(folder) / name for name in sorted(names)]
        for path in paths:
            status = path.lstat()
            lines.append(f"{path} {status.st_size} {status.st_mtime_ns}")
    return "\n".join(lines)


def alternate_object_dirs(dest: Path) -> tuple[Path, ...]:
    """The object directories a snapshot borrows from, to mount read-only."""
    alternates = dest / ".git" / "objects" / "info" / "alternates"
    if not alternates.is_file():
        return ()
    lines = alternates.read_text().splitlines()
    return tuple(Path(line) for line in lines if line and not line.startswith("#"))


def _overlay_working_tree(source: Path, dest: Path, sha: str) -> None:
    """Bring over what differs between commit `sha` and the working tree."""
    # Plumbing: `git diff` would refresh and rewrite the user's index. Entries
    # whose stat data is stale are listed too, and merely copied again.
    changed = _git(
        source,
        "diff-index",
        "--name-only",
        "-z",
        "--no-renames",
        "--ignore-submodules",
        sha,
        "--",
    )
    untracked = _git(source, "ls-files", "-z", "--others", "--exclude-standard")
    inside = dest.resolve()
    for relative in dict.fromkeys(f"{changed}\0{untracked}".split("\0")):
        origin = source / relative
        if not relative or origin == inside or inside in origin.parents:
            continue
        target = dest / relative
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        if origin.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(origin), target)
        elif origin.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)


# The refs a fresh clone has: branches as origin/*, and tags.
FETCHED_REFS = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
# Written in a reused clone's git folder after each fetch: the state of the refs.
SYNCED_STAMP = "minirunner-synced-refs"


def _git(cwd: Path | None, *args: str) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _REPOSITORY_VARIABLES
    }
    # A post-checkout hook from the user's global configuration must not run,
    # nor may Git LFS try to download anything.
    env["GIT_LFS_SKIP_SMUDGE"] = "1"
    command = [
        "git",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "advice.detachedHead=false",
    ]
    done = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        encoding="utf-8",
        errors="surrogateescape",
        check=False,
    )
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()
        detail = reason[-1] if reason else f"exit status {done.returncode}"
        action = next(arg for arg in args if not arg.startswith("-"))
        raise GitError(f"cannot make a snapshot: git {action} failed: {detail}")
    return done.stdout
