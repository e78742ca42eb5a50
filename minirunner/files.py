"""Choosing and copying a job's files for artifacts and caches, inside the project."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from minirunner.rules.globs import match
from minirunner.variables.expand import expand

_GLOB_MAGIC = re.compile(r"[*?\[]")


class OutsideProject(ValueError):
    """A path pattern that would reach out of the project folder."""


def check_pattern(pattern: str) -> str:
    """The pattern, if it stays inside the project; OutsideProject otherwise."""
    path = PurePosixPath(pattern)
    if path.is_absolute() or ".." in path.parts:
        raise OutsideProject(f"'{pattern}' points outside the project")
    return pattern


def job_patterns(patterns: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Artifacts and cache paths with the job's variables expanded, as GitLab Runner
    expands them; a path under CI_PROJECT_DIR becomes relative to it."""
    project = env.get("CI_PROJECT_DIR", "").rstrip("/")
    expanded = []
    for pattern in patterns:
        path = expand(pattern, env)
        if project and (path == project or path.startswith(f"{project}/")):
            path = path[len(project) :].lstrip("/") or "."
        expanded.append(path)
    return expanded


def inside(root: Path, path: Path) -> bool:
    """Whether path, with its links resolved, stays below root."""
    real = Path(os.path.realpath(path))
    real_root = Path(os.path.realpath(root))
    return real == real_root or real_root in real.parents


def expand_pattern(root: Path, pattern: str) -> list[str]:
    """Paths matching one artifacts/cache pattern; a matched folder brings its
    folders and files, as GitLab Runner's archiver takes them (an empty folder
    is kept)."""
    found: list[str] = []
    check_pattern(pattern)
    if not pattern.strip("/"):
        return found
    # pathlib's `**` does not descend into linked folders, so a link to `..`
    # cannot make the match endless; a link matched is kept as a link.
    if _GLOB_MAGIC.search(pattern):
        hits = sorted(path.relative_to(root).as_posix() for path in root.glob(pattern))
    else:
        literal = PurePosixPath(pattern).as_posix()
        hits = [literal] if os.path.lexists(root / literal) else []
    for hit in hits:
        full = root / hit
        if full.is_dir() and not full.is_symlink():
            for folder, subfolders, names in os.walk(full):
                subfolders.sort()
                here = Path(folder).relative_to(root)
                found.append(here.as_posix())
                links = [
                    name for name in subfolders if (Path(folder) / name).is_symlink()
                ]
                found.extend((here / name).as_posix() for name in sorted(names + links))
        elif full.exists() or full.is_symlink():
            found.append(hit)
    return found


def untracked_files(root: Path) -> list[str]:
    """Files git does not track in a checkout, ignored ones included (as GitLab)."""
    done = subprocess.run(
        ["git", "ls-files", "--others", "-z"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        return []
    return [name for name in done.stdout.decode("utf-8", "replace").split("\0") if name]


def select(
    root: Path,
    patterns: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    untracked: bool = False,
    left_out: Callable[[str, OutsideProject | None], None] | None = None,
) -> list[str]:
    """Relative paths of the files to keep, in a stable order, without duplicates.

    A pattern leading out of the project raises OutsideProject; with `left_out`,
    it is skipped instead, and it and each pattern matching nothing are reported
    there (with the error, or None).
    """
    chosen: dict[str, None] = {}
    for pattern in patterns:
        try:
            found = expand_pattern(root, pattern)
        except OutsideProject as error:
            if left_out is None:
                raise
            left_out(pattern, error)
            continue
        if not found and left_out is not None:
            left_out(pattern, None)
        behind_link = _behind_links_out(root, found)
        if behind_link and left_out is not None:
            first = next(path for path in found if path in behind_link)
            message = f"'{first}' is behind a link out of the project"
            left_out(pattern, OutsideProject(message))
        for path in found:
            if path not in behind_link:
                chosen[path] = None
    if untracked:
        for path in untracked_files(root):
            chosen[path] = None
    return [
        path
        for path in chosen
        if not any(match(pattern, path) for pattern in exclude)
        and not path.startswith(".git/")
    ]


def _behind_links_out(root: Path, paths: Sequence[str]) -> set[str]:
    """The paths whose folder a link leads out of `root` (each folder looked at
    once): what they name is not the project's."""
    outside: dict[str, bool] = {}
    found = set()
    for path in paths:
        folder = path.rpartition("/")[0]
        if folder not in outside:
            outside[folder] = not inside(root, root / folder)
        if outside[folder]:
            found.add(path)
    return found


def copy_files(source: Path, paths: Iterable[str], destination: Path) -> int:
    """Copy the paths from source to destination, links as links, folders as
    folders; return the count of files and links.

    A link that leads out of the source folder is not followed, so nothing of the
    host outside the project is ever copied; nor is anything written through a
    link below the destination.
    """
    count = 0
    for relative in paths:
        origin = source / relative
        target = destination / relative
        if origin.is_symlink():
            _real_folder(destination, target.parent)
            _clear(target)
            os.symlink(os.readlink(origin), target)
        elif origin.is_file() and inside(source, origin):
            _real_folder(destination, target.parent)
            _clear(target)
            shutil.copy2(origin, target)
        else:
            if origin.is_dir() and inside(source, origin):
                _real_folder(destination, target)
            continue
        count += 1
    return count


def copy_tree(source: Path, destination: Path) -> None:
    """Lay a stored folder over a checkout, as an artifact or cache download does.

    Nothing is written through a link of the checkout: a link (committed, or
    made by a job) where the stored folder has a folder or a file is replaced,
    as an archive extraction replaces what is in its way. Otherwise a link
    `out -> /anywhere` would lead the files of `out/` out of the checkout.
    """
    if not source.is_dir():
        return
    for folder, subfolders, names in os.walk(source):
        here = Path(folder)
        target_folder = destination / here.relative_to(source)
        _real_folder(destination, target_folder)
        links = [name for name in subfolders if (here / name).is_symlink()]
        for name in [*links, *names]:
            origin, target = here / name, target_folder / name
            _clear(target)
            if origin.is_symlink():
                os.symlink(os.readlink(origin), target)
            else:
                shutil.copy2(origin, target)


def _real_folder(root: Path, folder: Path) -> None:
    """Make every component of `folder` below `root` a real folder, replacing
    links and files that stand in the way."""
    root.mkdir(parents=True, exist_ok=True)
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        current.mkdir(exist_ok=True)


def _clear(path: Path) -> None:
    """Remove what is at `path` (a link itself, never its target)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
