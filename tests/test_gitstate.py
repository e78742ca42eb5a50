"""Tests for minirunner.gitstate, on real repositories."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import GIT_IDENTITY, MakeRepo, git, write_files

from minirunner.errors import GitError
from minirunner.gitstate import (
    TagInfo,
    changed_paths,
    commit_tree,
    merge_base,
    read_git_state,
    resolve_commit,
)


@pytest.fixture(autouse=True)
def isolated_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's git configuration out of what the tests read."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def commit(repo: Path, message: str, files: dict[str, str] | None = None) -> str:
    write_files(repo, files or {"change.txt": message})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty-message", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_branch_state(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"}, branch="feature/Foo")
    sha = git(repo, "rev-parse", "HEAD")

    state = read_git_state(repo / ".")

    assert state.root == repo
    assert state.branch == "feature/Foo"
    assert state.tags == ()
    assert state.head.sha == sha
    assert state.head.message == "Initial commit\n"
    assert state.head.author_name == "Test User"
    assert state.head.author_email == "test@example.com"
    assert state.head.committed_at == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    assert state.head.parent_sha is None
    assert state.remote_url is None
    assert state.upstream_sha is None
    assert state.user_name is None
    assert state.user_email is None


def test_state_is_found_from_a_subfolder(make_repo: MakeRepo) -> None:
    repo = make_repo({"src/deep/a.py": "x"})
    assert read_git_state(repo / "src" / "deep").root == repo


def test_commit_time_is_converted_to_utc(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    env = {**os.environ, **GIT_IDENTITY, "GIT_COMMITTER_DATE": "2024-03-01T01:30+02:00"}
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "Later"],
        cwd=repo,
        env=env,
        check=True,
    )

    state = read_git_state(repo)

    assert state.head.committed_at == datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    assert state.head.committed_at.utcoffset() is not None
    assert state.head.parent_sha == git(repo, "rev-parse", "HEAD~1")


def test_user_comes_from_git_config(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    git(repo, "config", "user.name", "Ada Lovelace")
    git(repo, "config", "user.email", "ada@example.org")

    state = read_git_state(repo)

    assert (state.user_name, state.user_email) == ("Ada Lovelace", "ada@example.org")


def test_tags_on_head_newest_version_first(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"}, tag="v0.9.0")
    commit(repo, "Second")
    git(repo, "tag", "-a", "v1.2.0", "-m", "Release 1.2.0\n\nNotes line")
    for name in ("v1.10.0", "v1.10.0-rc.2", "v1.10.0-rc.10", "latest", "v2", "alpha"):
        git(repo, "tag", name)

    state = read_git_state(repo)

    assert state.tags == (
        TagInfo("v2", None),
        TagInfo("v1.10.0", None),
        TagInfo("v1.10.0-rc.10", None),
        TagInfo("v1.10.0-rc.2", None),
        TagInfo("v1.2.0", "Release 1.2.0\n\nNotes line"),
        TagInfo("alpha", None),
        TagInfo("latest", None),
    )


def test_signed_tag_message_has_no_signature(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    sha = git(repo, "rev-parse", "HEAD")
    signature = "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
    tag_object = (
        f"object {sha}\ntype commit\ntag v1\n"
        "tagger Test User <test@example.com> 1705312800 +0000\n\n"
        f"Signed release\n{signature}"
    )
    done = subprocess.run(
        ["git", "hash-object", "-t", "tag", "-w", "--stdin"],
        cwd=repo,
        input=tag_object,
        capture_output=True,
        text=True,
        check=True,
    )
    git(repo, "update-ref", "refs/tags/v1", done.stdout.strip())

    assert read_git_state(repo).tags == (TagInfo("v1", "Signed release"),)


def test_detached_head_has_no_branch(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    git(repo, "checkout", "-q", "--detach")

    state = read_git_state(repo)

    assert state.branch is None
    assert state.head.sha == git(repo, "rev-parse", "HEAD")


def test_clone_gives_remote_default_branch_and_upstream(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    origin = make_repo({"a.txt": "a"}, branch="trunk", name="origin")
    pushed = git(origin, "rev-parse", "HEAD")
    git(tmp_path, "clone", "-q", str(origin), "clone")
    clone = tmp_path / "clone"

    before = read_git_state(clone)
    local = commit(clone, "Local work")
    after = read_git_state(clone)

    assert before.remote_url == str(origin)
    assert before.default_branch == "trunk"
    assert before.upstream_sha is None
    assert after.upstream_sha == pushed
    assert after.head.sha == local


def test_upstream_that_is_not_an_ancestor_is_ignored(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    origin = make_repo({"a.txt": "a"}, name="origin")
    git(tmp_path, "clone", "-q", str(origin), "clone")
    clone = tmp_path / "clone"
    commit(origin, "Upstream moved")
    git(clone, "fetch", "-q")
    commit(clone, "Diverged")

    assert read_git_state(clone).upstream_sha is None


@pytest.mark.parametrize(
    ("branches", "configured", "expected"),
    [
        (("master",), None, "master"),
        (("develop", "main"), None, "main"),
        (("work",), "trunk", "trunk"),
        (("work",), None, "work"),
    ],
)
def test_default_branch_without_remote(
    make_repo: MakeRepo,
    branches: tuple[str, ...],
    configured: str | None,
    expected: str,
) -> None:
    repo = make_repo({"a.txt": "a"}, branch=branches[0])
    for other in branches[1:]:
        git(repo, "branch", other)
    if configured:
        git(repo, "config", "init.defaultBranch", configured)

    assert read_git_state(repo).default_branch == expected


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError) as raised:
        read_git_state(tmp_path)
    assert raised.value.message == (
        f"{tmp_path} is not in a git repository; minirunner runs a repository's "
        "committed pipeline (`git init` and `git commit` first)"
    )


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--template=")
    with pytest.raises(GitError) as raised:
        read_git_state(tmp_path)
    assert raised.value.message == (
        f"{tmp_path}: the repository has no commits yet; make one with "
        "`git commit` and run again"
    )


def test_bare_repository(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo({"a.txt": "a"})
    git(tmp_path, "clone", "-q", "--bare", str(repo), "bare.git")
    with pytest.raises(GitError) as raised:
        read_git_state(tmp_path / "bare.git")
    assert raised.value.message == (
        f"{tmp_path / 'bare.git'} is a bare repository; run minirunner in a checkout"
    )


def test_changed_paths_counts_both_sides_of_a_rename(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {"keep.txt": "k", "edit.txt": "1", "gone.txt": "g", "old.txt": "o"}
    )
    base = git(repo, "rev-parse", "HEAD")
    (repo / "gone.txt").unlink()
    (repo / "dir").mkdir()
    git(repo, "mv", "old.txt", "dir/new name.txt")
    head = commit(repo, "Change", {"edit.txt": "2", "added.txt": "a"})

    assert changed_paths(repo, base, head) == frozenset(
        {"edit.txt", "gone.txt", "old.txt", "dir/new name.txt", "added.txt"}
    )
    assert changed_paths(repo, head, head) == frozenset()


def test_merge_base_of_forked_branches(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    fork = commit(repo, "Shared")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "On feature")
    git(repo, "checkout", "-q", "main")
    commit(repo, "On main")

    assert merge_base(repo, "main", "feature") == fork


def test_merge_base_of_unrelated_histories_is_none(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    git(repo, "checkout", "-q", "--orphan", "other")
    commit(repo, "Unrelated")

    assert merge_base(repo, "main", "other") is None


def test_resolve_commit(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "v1", "-m", "Annotated")

    assert resolve_commit(repo, "main") == sha
    assert resolve_commit(repo, "v1") == sha
    assert resolve_commit(repo, sha[:8]) == sha
    with pytest.raises(GitError) as raised:
        resolve_commit(repo, "nope")
    assert raised.value.message == f"unknown revision 'nope' in {repo}"
    with pytest.raises(GitError):
        resolve_commit(repo, "--all")


def test_commit_tree_reads_the_commit_not_the_working_tree(make_repo: MakeRepo) -> None:
    repo = make_repo({"b.txt": "committed", "a/x.yml": "x: 1\n", "a/b/y": "y"})
    os.symlink("b.txt", repo / "link")
    head = commit(repo, "Add link")
    (repo / "b.txt").write_text("changed on disk")
    (repo / "untracked.txt").write_text("u")

    tree = commit_tree(repo, head)

    assert list(tree.files()) == ["a/b/y", "a/x.yml", "b.txt", "change.txt", "link"]
    assert tree.read_bytes("b.txt") == b"committed"
    assert tree.read_bytes("./a/x.yml") == b"x: 1\n"
    assert tree.read_bytes("link") == b"b.txt"
    assert tree.is_file("a/x.yml")
    assert not tree.is_file("a")
    assert not tree.is_file("untracked.txt")
    assert not tree.is_file("../b.txt")
    with pytest.raises(FileNotFoundError):
        tree.read_bytes("untracked.txt")


def test_commit_tree_lists_ten_thousand_files_quickly(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({"seed.txt": "s"})
    stream = [
        "commit refs/heads/big",
        "committer T <t@x> 1705312800 +0000",
        "data 3",
        "big",
    ]
    for index in range(10_000):
        content = f"{index}\n"
        stream += [
            f"M 100644 inline d{index % 100}/f{index}.txt",
            f"data {len(content)}",
            content,
        ]
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        input="\n".join(stream) + "\n",
        text=True,
        check=True,
    )

    started = time.perf_counter()
    tree = commit_tree(repo, "big")
    count = sum(1 for _ in tree.files())
    elapsed = time.perf_counter() - started

    assert count == 10_000
    assert tree.read_bytes("d7/f4207.txt") == b"4207\n"
    assert elapsed < 1.0


def test_inherited_git_dir_does_not_redirect_reading(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"a.txt": "a"}, name="wanted")
    other = make_repo({"b.txt": "b"}, branch="other", tag="v9", name="other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))

    state = read_git_state(repo)

    assert state.root == repo
    assert state.branch == "main"
    assert state.tags == ()
    assert state.head.sha == git(
        repo, "--git-dir", str(repo / ".git"), "rev-parse", "HEAD"
    )


def test_linked_worktree(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo({"a.txt": "a"})
    git(repo, "worktree", "add", "-q", str(tmp_path / "linked"), "-b", "side")

    state = read_git_state(tmp_path / "linked")

    assert state.root == tmp_path / "linked"
    assert state.branch == "side"
    assert state.head.sha == git(repo, "rev-parse", "main")


def test_reading_never_writes_to_the_repository(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a", "b.txt": "b"}, tag="v1")
    first = git(repo, "rev-parse", "HEAD")
    head = commit(repo, "Second")
    # Stale stat data: what makes `git status` or `git diff` rewrite the index.
    os.utime(repo / "a.txt", (1_600_000_000, 1_600_000_000))

    def snapshot_of_git_dir() -> dict[str, bytes]:
        return {
            str(path.relative_to(repo)): path.read_bytes()
            for path in sorted((repo / ".git").rglob("*"))
            if path.is_file()
        }

    before = snapshot_of_git_dir()
    read_git_state(repo)
    changed_paths(repo, first, head)
    merge_base(repo, first, head)
    resolve_commit(repo, "v1")
    tree = commit_tree(repo, head)
    list(tree.files())
    tree.read_bytes("a.txt")

    assert snapshot_of_git_dir() == before
