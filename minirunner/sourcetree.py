"""The files a pipeline sees: a commit's tree or a folder, behind one protocol."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

# Said of a file a commit lacks but the working tree has.
ONLY_IN_WORKTREE = "it is in the working tree: commit it or pass --worktree"


class SourceTree(Protocol):
    """Read-only view of the project's files, paths relative and `/`-separated."""

    def read_bytes(self, path: str) -> bytes:
        """The content of a file; FileNotFoundError when there is none."""
        ...

    def is_file(self, path: str) -> bool:
        """Whether a regular file is at that path."""
        ...

    def files(self) -> Iterator[str]:
        """Every file, in a stable order."""
        ...


# Git's folder, and minirunner's own (its job folders hold copies of the project).
SKIPPED_AT_TOP = frozenset({".git", ".minirunner"})


class DirectoryTree:
    """A folder on disk, for `--worktree` runs and for tests."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _resolve(self, path: str) -> Path:
        try:
            full = (self.root / path).resolve()
        except RuntimeError:  # links that lead round in a loop
            raise FileNotFoundError(path) from None
        if full != self.root and self.root not in full.parents:
            raise FileNotFoundError(path)
        return full

    def read_bytes(self, path: str) -> bytes:
        return self._resolve(path).read_bytes()

    def is_file(self, path: str) -> bool:
        try:
            return self._resolve(path).is_file()
        except FileNotFoundError:
            return False

    def files(self) -> Iterator[str]:
        for folder, subfolders, names in os.walk(self.root):
            relative = Path(folder).relative_to(self.root)
            skipped = SKIPPED_AT_TOP if relative == Path(".") else {".git"}
            subfolders[:] = sorted(d for d in subfolders if d not in skipped)
            for name in sorted(names):
                yield (relative / name).as_posix()


class GitTree:
    """A commit's files, read from git's object database without a checkout.

    `list_blobs` gives every file path with its blob id, and is called once, on
    first need; `read_blob` gives a blob's content. Symbolic links count as files
    whose content is the link target; submodules are not files.
    """

    def __init__(
        self,
        list_blobs: Callable[[], Mapping[str, str]],
        read_blob: Callable[[str], bytes],
    ) -> None:
        self._list_blobs = list_blobs
        self._read_blob = read_blob
        self._blobs: Mapping[str, str] | None = None
        self._sorted: list[str] = []

    def _index(self) -> Mapping[str, str]:
        if self._blobs is None:
            self._blobs = self._list_blobs()
            self._sorted = sorted(self._blobs)
        return self._blobs

    def read_bytes(self, path: str) -> bytes:
        blob = self._index().get(posixpath.normpath(path))
        if blob is None:
            raise FileNotFoundError(path)
        return self._read_blob(blob)

    def is_file(self, path: str) -> bool:
        return posixpath.normpath(path) in self._index()

    def files(self) -> Iterator[str]:
        self._index()
        return iter(self._sorted)
