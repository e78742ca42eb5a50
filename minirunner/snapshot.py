"""A fresh checkout of one commit for jobs to run in, leaving the user's repo alone."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePath

from minirunner.errors import GitError

# Pushing from a job must not reach the user's repository.
PUSH_DISABLED_URL = "minirunner-snapshot-push-disabled"

# Variables that point git at a repository or index; inherited from a hook they
# would make our commands read, or write, the user's files.
REPOSITORY_VARIABLES = frozenset(
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
    template: Path | None = None,
) -> None:
    """Make `dest` a checkout of commit `sha`, with a `.git` for git commands.

    A local `git clone --no-checkout` reads the user's repository and writes only
    below `dest`: its branches are `origin/*`, its tags are there, HEAD is
    detached at `sha` as in a GitLab job, and `git push` is disabled. The clone
    stands alone, so git works in it inside a container too: its object files
    are hard links to the user's (never written to by git), or copies across
    file systems. With `shared`, it borrows the user's objects through
    `.git/objects/info/alternates` instead (instant, but a container then needs
    `alternate_object_dirs` mounted at the same path). A shared checkout
    copies the `.git` of `template` (see make_git_template) when given one.

    With `worktree`, the files are then made those of the working tree as it is:
    what differs from `sha` (uncommitted changes, staged or not, deletions) and
    the untracked files that are not ignored are copied over; HEAD and the index
    stay `sha`'s, so `git status` in the job shows the local changes.
    """
    if dest.exists() and any(dest.iterdir()):
        raise GitError(f"cannot make a snapshot in {dest}: it is not empty")
    source = state_root.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    _new_git_folder(source, dest, shared=shared, template=template)
    git(dest, "checkout", "--quiet", "--detach", sha)
    if worktree:
        _overlay_working_tree(source, dest, sha)


def reuse_snapshot(
    state_root: Path,
    sha: str,
    dest: Path,
    *,
    saved_index: Path,
    clean_flags: Sequence[str],
    worktree: bool = False,
    shared: bool = False,
    template: Path | None = None,
) -> None:
    """Bring an earlier job's checkout in `dest` back to commit `sha`.

    As GitLab's `fetch` strategy does, with the branches and tags of the user's
    repository as they are now: a forced checkout of `sha`, then `git clean`
    with `clean_flags` (none: no clean). Only the files are reused. The git
    folder, which a job may have changed (config, hooks, refs, alternates), is
    replaced by a fresh clone's, given `saved_index`, the index as minirunner
    left it, so that the files no job touched are not written again.
    GitError when that cannot be done: the caller then starts afresh.
    """
    if dest.is_symlink() or not dest.is_dir() or not saved_index.is_file():
        raise GitError("its project folder is gone")
    if dest.stat().st_uid != os.geteuid():
        # git in the next job would refuse a folder of another owner.
        raise GitError("a job gave its project folder to another user")
    remove_path(dest / ".git")
    _new_git_folder(state_root.resolve(), dest, shared=shared, template=template)
    shutil.copyfile(saved_index, dest / ".git" / "index")
    git(dest, "checkout", "--quiet", "--force", "--detach", sha)
    if clean_flags:
        git(dest, "clean", *clean_flags)
    if worktree:
        _overlay_working_tree(state_root.resolve(), dest, sha)


def check_git_trusts(root: Path) -> None:
    """GitError in one line when git refuses the repository because it belongs
    to another user (git's `safe.directory`): no job could get a checkout."""
    if root.stat().st_uid == os.geteuid():
        return
    try:
        git(root, "rev-parse", "--git-dir")
    except GitError as error:
        if "dubious ownership" not in str(error):
            raise
        raise GitError(
            f"git refuses {root}: it belongs to another user; run minirunner as "
            "its owner, or trust it with "
            f"`git config --global --add safe.directory {root}`"
        ) from None


def alternate_object_dirs(dest: Path) -> tuple[Path, ...]:
    """The object directories a snapshot borrows from, to mount read-only.

    A borrowed directory may borrow in turn (a user's repository made by
    `git clone --shared`): the whole chain is listed, each once.
    """
    found: list[Path] = []
    pending = [dest / ".git" / "objects"]
    while pending:
        alternates = pending.pop(0) / "info" / "alternates"
        if not alternates.is_file():
            continue
        for line in alternates.read_text().splitlines():
            if not line or line.startswith("#"):
                continue
            # Relative entries are relative to the objects directory they are in.
            borrowed = Path(os.path.normpath(alternates.parent.parent / line))
            if borrowed not in found:
                found.append(borrowed)
                pending.append(borrowed)
    return tuple(found)


def make_git_template(state_root: Path, dest: Path) -> None:
    """Clone the user's repository into `dest`, a `.git` and nothing else.

    Given as `template` to make_snapshot and reuse_snapshot, copies of it
    replace a clone for each job: same refs, same borrowed objects.
    """
    _clone(state_root.resolve(), dest, shared=True)


def _new_git_folder(
    source: Path, dest: Path, *, shared: bool, template: Path | None
) -> None:
    """Give the folder `dest` a `.git` fresh from the user's repository."""
    if template is not None and shared:
        shutil.copytree(template / ".git", dest / ".git", symlinks=True)
        return
    staging = dest.parent / f".{dest.name}-git-staging"
    remove_path(staging)
    _clone(source, staging, shared=shared)
    (staging / ".git").rename(dest / ".git")
    staging.rmdir()


def _clone(source: Path, dest: Path, *, shared: bool) -> None:
    git(
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


def remove_path(path: Path) -> None:
    """Remove a file, link or folder; a link is removed, never followed."""
    if not path.is_dir() or path.is_symlink():
        path.unlink(missing_ok=True)
        return
    try:
        shutil.rmtree(path)
    except PermissionError:
        # A job may leave folders it took its own permissions from.
        path.chmod(0o700)
        for folder, subfolders, _ in os.walk(path):
            for name in subfolders:
                child = Path(folder) / name
                if not child.is_symlink():
                    child.chmod(0o700)
        shutil.rmtree(path)


def _overlay_working_tree(source: Path, dest: Path, sha: str) -> None:
    """Bring over what differs between commit `sha` and the working tree."""
    # Plumbing: `git diff` would refresh and rewrite the user's index. Entries
    # whose stat data is stale are listed too, and merely copied again.
    changed = git(
        source,
        "diff-index",
        "--name-only",
        "-z",
        "--no-renames",
        "--ignore-submodules",
        sha,
        "--",
    )
    untracked = git(source, "ls-files", "-z", "--others", "--exclude-standard")
    inside = dest.resolve()
    for relative in dict.fromkeys(f"{changed}\0{untracked}".split("\0")):
        origin = source / relative
        if not relative or origin == inside or inside in origin.parents:
            continue
        target = dest / relative
        _make_folders(dest, PurePath(relative).parent)
        remove_path(target)
        if origin.is_symlink():
            os.symlink(os.readlink(origin), target)
        elif origin.is_file():
            shutil.copy2(origin, target)


def _make_folders(dest: Path, relative: PurePath) -> None:
    """Make the folders of `relative` below `dest`, never going through a link.

    A link or file in the way (left by a job) is replaced by a folder.
    """
    folder = dest
    for part in relative.parts:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()
        folder.mkdir(exist_ok=True)


def git(cwd: Path | None, *args: str) -> str:
    """Run git for a checkout, without the user's hooks or LFS downloads; its output."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in REPOSITORY_VARIABLES
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
        stdin=subprocess.DEVNULL,
        capture_output=True,
        encoding="utf-8",
        errors="surrogateescape",
        check=False,
    )
    if done.returncode != 0:
        detail = _reason(done.stderr) or f"exit status {done.returncode}"
        action = next(
            arg
            for index, arg in enumerate(args)
            if not arg.startswith("-") and (index == 0 or args[index - 1] != "-c")
        )
        raise GitError(f"cannot make a snapshot: git {action} failed: {detail}")
    return done.stdout


def _reason(stderr: str) -> str:
    """Git's own error line, else the last line it printed."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    if errors:
        return errors[0]
    return lines[-1] if lines else ""
