"""The uncommitted changes a run of the commit leaves out, asked of git early.

`.minirunner.toml` is no such change: it is read from the working tree. `git
status` reads the whole working tree; started before the pipeline is planned,
it finishes while Python plans, and its answer costs nothing when it is read.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from minirunner.runs import FOLDER
from minirunner.userconfig import FILE_NAME as SETTINGS_FILE

# --no-optional-locks: a plain status would refresh the index file.
_STATUS = ("git", "--no-optional-locks", "status", "--porcelain", "-uall")
_OWN = f"{FOLDER}/"


class UncommittedChanges:
    """A `git status` started in the background; `paths()` waits for its answer.

    With no folder nothing is asked and there are no changes (a run of the
    working tree leaves nothing out).
    """

    def __init__(self, folder: Path | None) -> None:
        self._process: subprocess.Popen[str] | None = None
        if folder is None:
            return
        try:
            self._process = subprocess.Popen(
                _STATUS,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            pass

    def paths(self) -> Sequence[str]:
        """The changed and untracked paths (not ignored), relative to the root."""
        if self._process is None:
            return []
        output, _ = self._process.communicate()
        if self._process.returncode != 0:
            return []
        # Porcelain paths are relative to the repository's root, wherever git ran;
        # minirunner's own folder may be made while git looks, before it ignores
        # itself.
        paths = (line[3:] for line in output.splitlines())
        return [
            path
            for path in paths
            if path and not path.startswith(_OWN) and path != SETTINGS_FILE
        ]

    def close(self) -> None:
        """End the status if nobody asked for its answer."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            self._process.communicate()


@contextmanager
def uncommitted_changes(folder: Path | None) -> Iterator[UncommittedChanges]:
    """`git status` in `folder` (None asks nothing), for the block's length."""
    changes = UncommittedChanges(folder)
    try:
        yield changes
    finally:
        changes.close()
