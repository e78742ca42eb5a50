"""Job caches, kept between runs in the project's `.minirunner/cache/`, per key.

`key:files` hashes the content of the named files (GitLab uses the last commit
that changed them; the content decides the same thing for a local run).
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from minirunner.config.model import Cache
from minirunner.files import (
    OutsideProject,
    copy_files,
    copy_tree,
    inside,
    job_patterns,
    select,
)
from minirunner.variables.expand import expand
from minirunner.variables.slug import slugify


def cache_key(cache: Cache, checkout: Path, env: Mapping[str, str]) -> str:
    """The key a cache is stored under, as GitLab forms it."""
    if cache.key_files:
        digest = hashlib.sha256()
        for name in cache.key_files:
            path = checkout / expand(name, env)
            if path.is_file() and inside(checkout, path):
                digest.update(name.encode() + b"\0" + path.read_bytes())
        key = digest.hexdigest()[:40]
        prefix = expand(cache.key_prefix, env) if cache.key_prefix else ""
        return f"{prefix}-{key}" if prefix else key
    return expand(cache.key, env) or "default"


def folder_for(root: Path, key: str) -> Path:
    """Where a key's files live; the key is slugged so it names one folder."""
    safe = slugify(key, limit=100) or "default"
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return root / f"{safe}-{digest}"


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Serialise cache writes of concurrent jobs and runs."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def restore(
    caches: tuple[Cache, ...],
    root: Path,
    checkout: Path,
    env: Mapping[str, str],
    emit: Callable[[str], None],
) -> None:
    """Lay each pull cache into the checkout, trying fallback keys in order."""
    for cache in caches:
        if cache.policy == "push":
            continue
        keys = [
            cache_key(cache, checkout, env),
            *(expand(k, env) for k in cache.fallback_keys),
        ]
        for key in keys:
            folder = folder_for(root, key)
            if folder.is_dir():
                copy_tree(folder, checkout)
                emit(f"Restored cache '{key}'")
                break
        else:
            emit(f"No cache for '{keys[0]}' yet")


def save(
    caches: tuple[Cache, ...],
    root: Path,
    checkout: Path,
    env: Mapping[str, str],
    status: str,
    emit: Callable[[str], None],
) -> None:
    """Store each push cache whose `when` matches the job's status."""
    for cache in caches:
        if cache.policy == "pull" or not matches_when(cache.when, status):
            continue
        key = cache_key(cache, checkout, env)
        try:
            patterns = job_patterns(cache.paths, env)
            paths = select(checkout, patterns, untracked=cache.untracked)
        except OutsideProject as error:
            emit(f"ERROR: cache: {error}; not saved")
            continue
        with locked(root):
            staging = Path(tempfile.mkdtemp(prefix=".new-", dir=root))
            count = copy_files(checkout, paths, staging)
            folder = folder_for(root, key)
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
        files = "1 file" if count == 1 else f"{count} files"
        emit(f"Saved cache '{key}' ({files})")


def matches_when(when: str, status: str) -> bool:
    """cache:when against the job's status."""
    if when == "always":
        return True
    if when == "on_failure":
        return status == "failed"
    return status == "success"
