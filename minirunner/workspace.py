"""The folders jobs run in: one per job running at once, reused as GitLab does.

GitLab Runner keeps a project folder per concurrent job (CI_CONCURRENT_ID) from
one job to the next and, with the `fetch` Git strategy, brings the last job's
checkout back to the commit rather than cloning again; `clone` starts afresh,
`none` leaves the folder as the last job left it and `empty` empties it.
"""

from __future__ import annotations

import fcntl
import shlex
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from minirunner.errors import GitError, UsageError
from minirunner.snapshot import (
    git,
    make_git_template,
    make_snapshot,
    remove_path,
    reuse_snapshot,
)
from minirunner.submodules import check_strategy, update_submodules

STRATEGIES = ("fetch", "clone", "none", "empty")
DEFAULT_STRATEGY = "fetch"
DEFAULT_CLEAN_FLAGS = "-ffdx"


@dataclass(frozen=True)
class Slot:
    """The folder of one job slot; `index` is the job's CI_CONCURRENT_ID."""

    index: int
    folder: Path

    @property
    def checkout(self) -> Path:
        """The project folder, CI_PROJECT_DIR of a shell job."""
        return self.folder / "build"

    @property
    def saved_index(self) -> Path:
        """The checkout's git index as minirunner last left it."""
        return self.folder / "index"

    @property
    def scratch(self) -> Path:
        """A private folder for the job's script files, emptied for each job."""
        return self.folder / "tmp"

    @property
    def docker_config(self) -> Path:
        """DOCKER_CONFIG of a shell job, so a `docker login` stays in the job."""
        return self.folder / "docker"


class Slots:
    """Hands each starting job a slot that no running job holds.

    With `reuse`, a slot's folder serves one job after another of the same
    executor, in this run and the next ones: a lock file per slot keeps
    concurrent runs of the project apart. Without, each job gets a folder of
    its own (kept for inspection after the run).
    """

    def __init__(self, root: Path, *, reuse: bool) -> None:
        # The folder itself is checked on each claim: it may be a link a job left.
        self._root = root.parent.resolve() / root.name
        self._reuse = reuse
        self._jobs = 0
        self._lock = threading.Lock()

    @contextmanager
    def take(self, kind: str) -> Iterator[Slot]:
        """A free slot for a job of executor `kind`, as the last one left it."""
        with self._lock:
            self._jobs += 1
            number = self._jobs
        with ExitStack() as stack:
            if self._reuse:
                own_folder(self._root, empty=False)
                root = self._root / kind
                index = _claim(root, stack)
                slot = Slot(index, root / f"slot-{index}")
            else:
                slot = Slot(0, self._root / f"job-{number}")
            own_folder(slot.folder, empty=False)
            # Only the checkout lives on: what a job wrote beside it goes.
            for entry in slot.folder.iterdir():
                kept = entry in (slot.checkout, slot.saved_index)
                if not kept or entry.is_symlink():
                    remove_path(entry)
            own_folder(slot.scratch, empty=True)
            own_folder(slot.docker_config, empty=True)
            yield slot


def _claim(root: Path, stack: ExitStack) -> int:
    """The lowest slot number no job holds, held until `stack` closes."""
    own_folder(root, empty=False)
    index = 0
    while True:
        stream = stack.enter_context((root / f"slot-{index}.lock").open("a"))
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stream.close()
            index += 1
            continue
        return index


class GitTemplates:
    """One clone of the user's repository per run, copied for each job's checkout.

    Copying a small `.git` that borrows the user's objects costs a millisecond;
    a clone costs a git process. Only borrowing checkouts can use it: a
    checkout with objects of its own is cloned each time. `start` makes the
    clone in the background, while the pipeline is planned.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._folder: Path | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._early: threading.Thread | None = None

    def start(self) -> None:
        """Begin the clone now; the first job that wants it waits for it."""
        self._early = threading.Thread(target=self._clone_early, daemon=True)
        self._early.start()

    def _clone_early(self) -> None:
        try:
            self.get()
        except (GitError, OSError):
            pass  # the first job's own call tries again and reports the error

    def get(self) -> Path:
        """The template, cloned on first use."""
        with self._lock:
            if self._closed:
                raise GitError("the run is over: its git template is removed")
            if self._folder is None:
                folder = Path(tempfile.mkdtemp(prefix="minirunner-git-"))
                try:
                    make_git_template(self._root, folder / "clone")
                except BaseException:
                    remove_path(folder)
                    raise
                self._folder = folder
            return self._folder / "clone"

    def close(self) -> None:
        """Remove the template, once a clone begun by `start` has ended."""
        with self._lock:
            self._closed = True
        if self._early is not None:
            self._early.join()
        if self._folder is not None:
            remove_path(self._folder)
            self._folder = None


@contextmanager
def git_templates(root: Path) -> Iterator[GitTemplates]:
    """A template being cloned from `root` for the block's length."""
    templates = GitTemplates(root)
    templates.start()
    try:
        yield templates
    finally:
        templates.close()


def prepare_checkout(
    root: Path,
    sha: str,
    slot: Slot,
    env: dict[str, str],
    *,
    worktree: bool,
    shared: bool,
    templates: GitTemplates | None = None,
) -> str:
    """Ready the slot's checkout as the job's GIT_STRATEGY asks; say how, for its log.

    `root` is the user's repository, read and never written; `shared` makes
    a clone that borrows its objects (for jobs that see this machine's files),
    copied from `templates` when given.
    """
    checkout = slot.checkout
    strategy = env.get("GIT_STRATEGY") or DEFAULT_STRATEGY
    if strategy not in STRATEGIES:
        raise UsageError(
            f"GIT_STRATEGY '{strategy}' is not one of: {', '.join(STRATEGIES)}"
        )
    if strategy == "none":
        own_folder(checkout, empty=False)
        return "GIT_STRATEGY none: the project folder as the last job left it"
    if strategy == "empty":
        own_folder(checkout, empty=True)
        return "GIT_STRATEGY empty: an empty project folder"
    flags = clean_flags(env)
    submodules = env.get("GIT_SUBMODULE_STRATEGY") or "none"
    template = templates.get() if templates and shared else None
    what = f"{sha[:8]} with the working tree's changes" if worktree else sha[:8]
    why_fresh = ""
    if strategy == "fetch" and slot.saved_index.is_file():
        try:
            reuse_snapshot(
                root,
                sha,
                checkout,
                saved_index=slot.saved_index,
                clean_flags=flags,
                worktree=worktree,
                shared=shared,
                template=template,
            )
        except (GitError, OSError) as error:
            why_fresh = f" (the slot's checkout could not be reused: {error})"
        else:
            _save_index(slot)
            extra = _with_submodules(root, checkout, submodules)
            if worktree:
                return (
                    f"a reused checkout, reset and {_cleaned(flags)}, of {what}{extra}"
                )
            return f"a reused checkout of {what}, reset and {_cleaned(flags)}{extra}"
    remove_path(checkout)
    make_snapshot(
        root, sha, checkout, worktree=worktree, shared=shared, template=template
    )
    _save_index(slot)
    extra = _with_submodules(root, checkout, submodules)
    return f"a fresh checkout of {what}{why_fresh}{extra}"


def _with_submodules(root: Path, checkout: Path, strategy: str) -> str:
    """Check out the submodules GIT_SUBMODULE_STRATEGY asks for; say how many."""
    check_strategy(strategy)
    if not (checkout / ".gitmodules").is_file():
        return ""
    modules = Path(git(root, "rev-parse", "--absolute-git-dir").strip()) / "modules"
    count = update_submodules(modules, checkout, strategy)
    if strategy == "none":
        return ""
    return f", with {count} submodule{'' if count == 1 else 's'} ({strategy})"


def clean_flags(env: dict[str, str]) -> list[str]:
    """The `git clean` flags of GIT_CLEAN_FLAGS; none for `none`."""
    value = env.get("GIT_CLEAN_FLAGS") or DEFAULT_CLEAN_FLAGS
    if value.strip() == "none":
        return []
    try:
        return shlex.split(value)
    except ValueError as error:
        raise UsageError(f"GIT_CLEAN_FLAGS '{value}': {error}") from None


def _cleaned(flags: list[str]) -> str:
    if not flags:
        return "not cleaned (GIT_CLEAN_FLAGS none)"
    if flags == [DEFAULT_CLEAN_FLAGS]:
        return "cleaned"
    return f"cleaned with `git clean {shlex.join(flags)}`"


def _save_index(slot: Slot) -> None:
    """Keep the index as minirunner left it, where no container can reach it."""
    index = slot.checkout / ".git" / "index"
    slot.saved_index.unlink(missing_ok=True)
    if index.is_file():
        staging = slot.saved_index.with_suffix(".new")
        shutil.copyfile(index, staging)
        staging.replace(slot.saved_index)


def own_folder(path: Path, *, empty: bool) -> None:
    """Make `path` a folder of ours: never a link a job left in its place."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif empty:
        remove_path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
