"""A fixture plugin that fails a test when minirunner changes a user's repository.

Registered with `pytest_plugins = ["docker_support", "repo_guard"]` in
tests/conftest.py. What is compared: HEAD (the file and the commit it names),
every ref (branches, tags, remotes, the stash) with its target, the stash's
entries, the index file's bytes, `.git/config`, and every path of the work tree
with its mode and content (a link's target), `.git/` and `.minirunner/` aside.
Everything is read with plumbing commands and GIT_OPTIONAL_LOCKS=0, so the
guard itself writes nothing.

Three ways to use it:

- `guarded_repo`: a drop-in for `make_repo` whose repositories are guarded;
- `make_repo = guard_make_repo()` at the top of a test module guards every
  repository its tests make with `make_repo`;
- `repo_guard.watch(path)` for a repository made otherwise (a clone, say).

A test that changes a guarded repository on purpose (a new commit, a file it
writes) calls `repo_guard.settle(path)` afterwards.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

SKIPPED_FOLDERS = frozenset({".git", ".minirunner"})

MakeRepo = Callable[..., Path]


@dataclass(frozen=True)
class RepoState:
    """What a repository looks like to its user, as comparable values."""

    head_file: str
    head: str
    refs: Mapping[str, str]
    stash: tuple[str, ...]
    index: str | None
    config: str | None
    tree: Mapping[str, tuple[str, str]]

    def differences(self, after: RepoState) -> list[str]:
        """One line per difference from this state to `after`."""
        found: list[str] = []
        for item in fields(self):
            old, new = getattr(self, item.name), getattr(after, item.name)
            if old == new:
                continue
            if isinstance(old, Mapping) and isinstance(new, Mapping):
                found.extend(_mapping_differences(item.name, old, new))
            else:
                found.append(f"{item.name}: {old!r} -> {new!r}")
        return found


def _mapping_differences(
    what: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> Iterator[str]:
    for key in sorted(set(old) | set(new)):
        if key not in new:
            yield f"{what}: {key} removed"
        elif key not in old:
            yield f"{what}: {key} added"
        elif old[key] != new[key]:
            yield f"{what}: {key} changed: {old[key]!r} -> {new[key]!r}"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        check=False,
        encoding="utf-8",
        errors="surrogateescape",
    )
    return done.stdout if done.returncode == 0 else ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return None


def _work_tree(root: Path) -> dict[str, tuple[str, str]]:
    """Every path below root (but .git/ and .minirunner/): its mode and content."""
    entries: dict[str, tuple[str, str]] = {}
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        if here == root:
            subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for name in [*subfolders, *names]:
            path = here / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                content = "-> " + os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = _digest(path.read_bytes())
            else:
                content = ""
            relative = path.relative_to(root).as_posix()
            entries[relative] = (oct(info.st_mode), content)
    return entries


def read_state(repo: Path) -> RepoState:
    """The state of the repository whose work tree is `repo`."""
    git_dir = repo / ".git"
    refs_listing = _git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    refs = {}
    for line in refs_listing.splitlines():
        name, _, target = line.partition(" ")
        refs[name] = target
    stash = _git(repo, "reflog", "show", "--format=%H %gs", "refs/stash", "--")
    return RepoState(
        head_file=(git_dir / "HEAD").read_text(),
        head=_git(repo, "rev-parse", "--verify", "-q", "HEAD").strip(),
        refs=refs,
        stash=tuple(stash.splitlines()) if "refs/stash" in refs else (),
        index=_file_digest(git_dir / "index"),
        config=_file_digest(git_dir / "config"),
        tree=_work_tree(repo),
    )


class RepoGuard:
    """Watches repositories; `check` fails the test if one of them changed."""

    def __init__(self) -> None:
        self._watched: dict[Path, RepoState] = {}

    def watch(self, repo: Path) -> Path:
        """Start watching `repo` as it is now; return it."""
        self._watched[repo] = read_state(repo)
        return repo

    def settle(self, repo: Path) -> None:
        """The test changed `repo` on purpose: take its state as it is now."""
        if repo not in self._watched:
            raise KeyError(f"{repo} is not watched")
        self._watched[repo] = read_state(repo)

    def changes(self) -> list[str]:
        """What changed in the watched repositories, one line each."""
        found: list[str] = []
        for repo, before in self._watched.items():
            after = read_state(repo)
            found.extend(f"{repo}: {line}" for line in before.differences(after))
        return found

    def check(self) -> None:
        """Fail the test, listing the changes, if a watched repository changed."""
        found = self.changes()
        if found:
            pytest.fail(
                "minirunner changed a repository:\n  " + "\n  ".join(found),
                pytrace=False,
            )

    @contextmanager
    def unchanged(self, repo: Path) -> Iterator[None]:
        """Check that `repo` is the same after the block as before it."""
        before = read_state(repo)
        yield
        found = before.differences(read_state(repo))
        if found:
            pytest.fail(
                f"minirunner changed {repo}:\n  " + "\n  ".join(found), pytrace=False
            )


@pytest.fixture
def repo_guard() -> Iterator[RepoGuard]:
    """A RepoGuard whose watched repositories are checked when the test ends."""
    guard = RepoGuard()
    yield guard
    guard.check()


@pytest.fixture
def guarded_repo(make_repo: MakeRepo, repo_guard: RepoGuard) -> MakeRepo:
    """`make_repo`, with every repository it makes watched by `repo_guard`."""

    def make(*args: Any, **options: Any) -> Path:
        return repo_guard.watch(make_repo(*args, **options))

    return make


def guard_make_repo() -> Any:
    """A `make_repo` fixture that guards what the outer `make_repo` makes.

    Assign it in a test module, `make_repo = guard_make_repo()`, to guard every
    repository the module's tests make. (Made on call, so that the plugin
    itself defines no second `make_repo`.)
    """

    @pytest.fixture(name="make_repo")
    def guarded_make_repo(make_repo: MakeRepo, repo_guard: RepoGuard) -> MakeRepo:
        def make(*args: Any, **options: Any) -> Path:
            return repo_guard.watch(make_repo(*args, **options))

        return make

    return guarded_make_repo
