"""Fixtures shared by the test modules: real git repositories in tmp_path."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

pytest_plugins = ["docker_support", "repo_guard"]

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2024-01-15T10:00:00+00:00",
    "GIT_COMMITTER_DATE": "2024-01-15T10:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a fixed identity and dates; return its stdout."""
    env = {**os.environ, **GIT_IDENTITY}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write a dict of relative path -> text below root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """Make a git repository with one commit of the given files.

    `make_repo(files, branch="main", tag=None, message="Initial commit",
    name="project")` returns the repository's path.
    """

    def make(
        files: Mapping[str, str],
        *,
        branch: str = "main",
        tag: str | None = None,
        message: str = "Initial commit",
        name: str = "project",
    ) -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "--template=", "-b", branch)
        write_files(repo, files)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--no-verify", "-m", message)
        if tag:
            git(repo, "tag", tag)
        return repo

    return make
