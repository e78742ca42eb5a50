"""GIT_SUBMODULE_STRATEGY checks out submodules from the user's own clones."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo, git
from repo_guard import RepoGuard, guard_make_repo

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

LOCAL = ("-c", "protocol.file.allow=always")
PIPELINE = """
variables: {GIT_SUBMODULE_STRATEGY: recursive}
deep:
  script: [cat lib/s.txt lib/inner/n.txt]
shallow:
  variables: {GIT_SUBMODULE_STRATEGY: normal}
  script: [cat lib/s.txt, 'test -z "$(ls -A lib/inner)"', echo shallow-done]
plain:
  variables: {GIT_SUBMODULE_STRATEGY: none}
  script: ['test -z "$(ls -A lib)"', echo plain-done]
"""


@pytest.fixture
def project(make_repo: MakeRepo, repo_guard: RepoGuard) -> Path:
    """A project whose submodule `lib` has a submodule `inner`, all initialised."""
    inner = make_repo({"n.txt": "from inner\n"}, name="inner")
    lib = make_repo({"s.txt": "from lib\n"}, name="lib")
    git(lib, *LOCAL, "submodule", "add", "-q", str(inner), "inner")
    git(lib, "commit", "-q", "-m", "Add inner")
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    git(repo, *LOCAL, "submodule", "add", "-q", str(lib), "lib")
    git(repo, *LOCAL, "submodule", "update", "-q", "--init", "--recursive")
    git(repo, "commit", "-q", "-m", "Add lib")
    for made in (inner, lib, repo):
        repo_guard.settle(made)
    return repo


def test_submodules_come_from_the_users_clones(project: Path) -> None:
    for run in (1, 2):  # the second run reuses the slots' checkouts
        done = minirunner(project, "run", "-j", "1")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "deep    | from lib" in done.stdout
        assert "deep    | from inner" in done.stdout
        assert "shallow | shallow-done" in done.stdout
        assert "plain   | plain-done" in done.stdout
        assert ", with 2 submodules (recursive)" in done.stdout, run
        assert ", with 1 submodule (normal)" in done.stdout


def test_a_submodule_without_a_local_clone_is_named(
    make_repo: MakeRepo, repo_guard: RepoGuard
) -> None:
    lib = make_repo({"s.txt": "from lib\n"}, name="lib")
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    git(repo, *LOCAL, "submodule", "add", "-q", str(lib), "lib")
    git(repo, "commit", "-q", "-m", "Add lib")
    git(repo, "submodule", "-q", "deinit", "--all")
    modules = repo / ".git" / "modules" / "lib"
    for path in sorted(modules.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    modules.rmdir()
    repo_guard.settle(repo)
    done = minirunner(repo, "run", "deep")
    assert done.returncode == 1
    assert (
        "deep | ERROR: Job failed: submodule 'lib' (lib) has no clone in your "
        "repository to copy offline: run `git submodule update --init` there first"
    ) in done.stdout
