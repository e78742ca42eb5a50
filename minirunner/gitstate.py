"""What minirunner reads from git: HEAD, its branch and tags, remotes, diffs, trees.

The only module that talks to GitPython. Nothing here writes to the repository:
no `git status` (which refreshes the index), no lock files, no ref updates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from minirunner.errors import GitError
from minirunner.sourcetree import GitTree, SourceTree

if TYPE_CHECKING:
    from git import Repo

ZERO_SHA = "0" * 40

_VERSION = re.compile(
    r"[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)
_SIGNATURE_STARTS = (
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
)
_FILE, _SYMLINK = 0o10, 0o12

_VersionKey = tuple[int, int, int, int, int, tuple[tuple[int, int, str], ...]]


@dataclass(frozen=True)
class TagInfo:
    """A tag on HEAD; `message` only for annotated tags, signature removed."""

    name: str
    message: str | None


@dataclass(frozen=True)
class CommitInfo:
    """The parts of a commit the predefined variables use.

    `message` is the raw message, trailing newline included, as GitLab has it.
    """

    sha: str
    message: str
    author_name: str
    author_email: str
    committed_at: datetime
    parent_sha: str | None


@dataclass(frozen=True)
class GitState:
    """The repository as a pipeline sees it.

    `tags` are the tags whose target, peeled, is HEAD, newest version first:
    names that read as versions (`v1.2.3`, `2.0`, `1.0.0-rc.1`, an optional `v`)
    come first, ordered by semantic versioning (a release after its
    pre-releases), then the other names alphabetically.
    `upstream_sha` is the tip of the branch's upstream when that is a proper
    ancestor of HEAD (commits wait to be pushed), else None.
    `default_branch` is origin's HEAD, else the first of `init.defaultBranch`,
    `main`, `master` that exists as a local branch, else `init.defaultBranch`,
    else the current branch, else `main`.
    """

    root: Path
    head: CommitInfo
    branch: str | None
    tags: tuple[TagInfo, ...]
    remote_url: str | None
    default_branch: str
    upstream_sha: str | None
    user_name: str | None
    user_email: str | None


def read_git_state(path: Path) -> GitState:
    """Read the repository that holds `path` (searching upward from it)."""
    with _open(path) as repo:
        root = Path(repo.working_tree_dir or path)
        if not repo.head.is_valid():
            raise GitError(
                f"{root}: the repository has no commits yet; make one with "
                "`git commit` and run again"
            )
        head = _commit_info(repo, repo.head.commit.hexsha)
        branch = None if repo.head.is_detached else repo.active_branch.name
        config = _config(repo)
        return GitState(
            root=root,
            head=head,
            branch=branch,
            tags=_head_tags(repo),
            remote_url=config.get("remote.origin.url"),
            default_branch=_default_branch(repo, config, branch),
            upstream_sha=_upstream(repo, head.sha) if branch else None,
            user_name=config.get("user.name"),
            user_email=config.get("user.email"),
        )


def changed_paths(root: Path, base: str, head: str) -> frozenset[str]:
    """Files that differ between two commits' trees; a rename counts both paths."""
    with _open(root) as repo:
        old, new = _resolve(repo, base), _resolve(repo, head)
        output = _git(
            repo, "diff-tree", "-r", "--name-only", "-z", "--no-renames", old, new
        )
    return frozenset(name for name in output.split("\0") if name)


def merge_base(root: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, None when they share no history."""
    with _open(root) as repo:
        status, output = _git_status(
            repo, "merge-base", _resolve(repo, a), _resolve(repo, b)
        )
    return output.strip() if status == 0 and output.strip() else None


def resolve_commit(root: Path, ref: str) -> str:
    """The commit SHA a branch, tag (peeled) or SHA names; GitError if none."""
    with _open(root) as repo:
        return _resolve(repo, ref)


def commit_tree(root: Path, sha: str) -> SourceTree:
    """A read-only view of a commit's files, read from the object database."""
    with _open(root) as repo:
        tree_sha = _resolve(repo, f"{_resolve(repo, sha)}^{{tree}}")
    return GitTree(lambda: _list_blobs(root, tree_sha), lambda blob: _read(root, blob))


@contextmanager
def _open(path: Path) -> Iterator[Repo]:
    from git import Repo
    from git.exc import GitError as GitPythonError
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    start = path if path.is_dir() else path.parent
    try:
        repo = Repo(start, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise GitError(
            f"{path} is not in a git repository; minirunner runs a repository's "
            "committed pipeline (`git init` and `git commit` first)"
        ) from None
    try:
        if repo.bare:
            raise GitError(
                f"{repo.git_dir} is a bare repository; run minirunner in a checkout"
            )
        # An inherited GIT_DIR (from a hook, say) must not redirect our commands.
        repo.git.update_environment(GIT_DIR=str(repo.git_dir))
        yield repo
    except GitPythonError as error:
        raise GitError(f"git failed in {start}: {_first_line(error)}") from None
    except ValueError as error:
        raise GitError(f"cannot read the repository at {start}: {error}") from None
    finally:
        repo.close()


def _first_line(error: Exception) -> str:
    stderr = getattr(error, "stderr", "") or ""
    lines = [line.strip() for line in str(stderr).splitlines() if line.strip()]
    text = lines[0] if lines else str(error).splitlines()[0]
    return text.removeprefix("stderr: ").strip("' ")


def _git_status(repo: Repo, *args: str) -> tuple[int, str]:
    status, stdout, _stderr = repo.git.execute(
        ["git", *args], with_extended_output=True, with_exceptions=False
    )
    return int(status or 0), str(stdout)


def _git(repo: Repo, *args: str) -> str:
    return str(repo.git.execute(["git", *args]))


def _resolve(repo: Repo, ref: str) -> str:
    target = ref if ref.endswith("}") else f"{ref}^{{commit}}"
    status, output = _git_status(
        repo, "rev-parse", "--verify", "--quiet", "--end-of-options", target
    )
    if status != 0 or not output.strip():
        raise GitError(f"unknown revision '{ref}' in {repo.working_tree_dir}")
    return output.strip()


def _commit_info(repo: Repo, sha: str) -> CommitInfo:
    commit = repo.commit(sha)
    message = commit.message
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return CommitInfo(
        sha=commit.hexsha,
        message=message,
        author_name=commit.author.name or "",
        author_email=commit.author.email or "",
        committed_at=commit.committed_datetime.astimezone(UTC),
        parent_sha=commit.parents[0].hexsha
        if commit.parents and sha not in _shallow_commits(repo)
        else None,
    )


def _shallow_commits(repo: Repo) -> frozenset[str]:
    """The commits a shallow clone has without their parents (`.git/shallow`):
    git takes them for first commits, and so does minirunner."""
    try:
        text = (Path(repo.common_dir) / "shallow").read_text()
    except OSError:
        return frozenset()
    return frozenset(text.split())


def _config(repo: Repo) -> dict[str, str]:
    pattern = r"^(user\.name|user\.email|init\.defaultbranch|remote\.origin\.url)$"
    _status, output = _git_status(repo, "config", "-z", "--get-regexp", pattern)
    values: dict[str, str] = {}
    for record in output.split("\0"):
        key, _, value = record.partition("\n")
        if key:
            values[key.lower()] = value
    if "init.defaultbranch" in values:
        values["init.defaultBranch"] = values.pop("init.defaultbranch")
    return values


def _head_tags(repo: Repo) -> tuple[TagInfo, ...]:
    output = _git(
        repo,
        "for-each-ref",
        "--points-at=HEAD",
        "--format=%(objecttype) %(objectname) %(refname)",
        "refs/tags",
    )
    tags = []
    for line in output.splitlines():
        kind, object_sha, refname = line.split(" ", 2)
        message = _tag_message(repo, object_sha) if kind == "tag" else None
        tags.append(TagInfo(refname.removeprefix("refs/tags/"), message))
    by_name = sorted(tags, key=lambda tag: tag.name)
    return tuple(sorted(by_name, key=lambda tag: _version_key(tag.name), reverse=True))


def _tag_message(repo: Repo, object_sha: str) -> str:
    data = bytes(repo.odb.stream(bytes.fromhex(object_sha)).read())
    _header, _, body = data.partition(b"\n\n")
    cut = len(body)
    offset = 0
    for line in body.splitlines(keepends=True):
        if line.startswith(_SIGNATURE_STARTS):
            cut = offset
        offset += len(line)
    return body[:cut].decode("utf-8", "replace").rstrip("\n")


def _version_key(name: str) -> _VersionKey:
    """Sort key: non-versions lowest, then semantic versioning order."""
    match = _VERSION.fullmatch(name)
    if match is None:
        return (0, 0, 0, 0, 0, ())
    major, minor, patch, prerelease = match.groups()
    # Semantic versioning: numeric identifiers sort below alphanumeric ones, and
    # a release sorts above its pre-releases.
    parts = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in (prerelease or "").split(".")
        if part
    )
    release = 0 if prerelease else 1
    return (1, int(major), int(minor or 0), int(patch or 0), release, parts)


def _default_branch(repo: Repo, config: dict[str, str], branch: str | None) -> str:
    status, output = _git_status(repo, "symbolic-ref", "-q", "refs/remotes/origin/HEAD")
    if status == 0 and output.strip().startswith("refs/remotes/origin/"):
        return output.strip().removeprefix("refs/remotes/origin/")
    configured = config.get("init.defaultBranch")
    local = {head.name for head in repo.heads}
    for candidate in (configured, "main", "master"):
        if candidate and candidate in local:
            return candidate
    return configured or branch or "main"


def _upstream(repo: Repo, head_sha: str) -> str | None:
    try:
        upstream = repo.active_branch.tracking_branch()
        if upstream is None or not upstream.is_valid():
            return None
        sha = upstream.commit.hexsha
    except ValueError:
        return None
    if sha == head_sha:
        return None
    status, _output = _git_status(repo, "merge-base", "--is-ancestor", sha, head_sha)
    return sha if status == 0 else None


def _list_blobs(root: Path, tree_sha: str) -> dict[str, str]:
    with _open(root) as repo:
        listing = repo.git.execute(
            ["git", "ls-tree", "-r", "-z", "--full-tree", tree_sha],
            stdout_as_string=False,
            strip_newline_in_stdout=False,
        )
    blobs: dict[str, str] = {}
    for entry in bytes(listing).split(b"\0"):
        header, _tab, name = entry.partition(b"\t")
        mode, _kind, blob = header.split(b" ") if header else (b"", b"", b"")
        if int(mode or b"0", 8) >> 12 in (_FILE, _SYMLINK):
            blobs[name.decode("utf-8", "surrogateescape")] = blob.decode("ascii")
    return blobs


def _read(root: Path, blob: str) -> bytes:
    with _open(root) as repo:
        return bytes(repo.odb.stream(bytes.fromhex(blob)).read())
