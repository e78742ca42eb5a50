"""A job's files into and out of containers as tar archives, so any engine works."""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from minirunner.files import copy_tree

if TYPE_CHECKING:
    from docker import APIClient

# Archives below this size stay in memory; larger checkouts spill to a file.
SPOOL_BYTES = 32 << 20

TarFilter = Callable[[tarfile.TarInfo], tarfile.TarInfo]


def checkout_archive(
    checkout: Path,
    project_dir: str,
    *,
    overlay: Path | None = None,
    shared: bool = False,
) -> IO[bytes]:
    """A tar for `put_archive("/")` that puts `checkout` at `project_dir`.

    The files of `overlay` (artifacts of earlier jobs) are laid over the checkout.
    Entries belong to root, as the files GitLab's helper checks out; with `shared`
    everyone may write them, as GitLab Runner's umask 0000 allows, for images whose
    `docker:user` is not root.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    target = PurePosixPath(project_dir)
    owned = _ownership(shared)
    with tarfile.open(fileobj=spool, mode="w") as archive:
        _add_parents(archive, target, owned)
        arcname = str(target.relative_to("/"))
        archive.add(checkout, arcname=arcname, filter=owned)
        if overlay is not None:
            for child in sorted(overlay.iterdir()):
                archive.add(child, arcname=f"{arcname}/{child.name}", filter=owned)
    spool.seek(0)
    return spool


def variable_files_archive(
    files: Mapping[str, Path], folder: str, *, shared: bool = False
) -> IO[bytes]:
    """A tar for `put_archive("/")` that puts each file at `folder/NAME`.

    GitLab Runner writes file-type variables to `<project dir>.tmp/NAME`; the
    files are readable by their owner only (0600), the folder 0700, unless
    `shared` opens them to a `docker:user` that is not root.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    target = PurePosixPath(folder)
    owned = _ownership(shared)
    with tarfile.open(fileobj=spool, mode="w") as archive:
        _add_parents(archive, target, owned)
        entry = tarfile.TarInfo(str(target.relative_to("/")))
        entry.type = tarfile.DIRTYPE
        entry.mode = 0o700
        archive.addfile(owned(entry))
        for name, path in sorted(files.items()):
            data = path.read_bytes()
            entry = tarfile.TarInfo(str(target.relative_to("/") / name))
            entry.size = len(data)
            entry.mode = 0o600
            archive.addfile(owned(entry), io.BytesIO(data))
    spool.seek(0)
    return spool


def _add_parents(
    archive: tarfile.TarFile, target: PurePosixPath, owned: TarFilter
) -> None:
    for parent in reversed(target.relative_to("/").parents[:-1]):
        entry = tarfile.TarInfo(str(parent))
        entry.type = tarfile.DIRTYPE
        entry.mode = 0o755
        archive.addfile(owned(entry))


def _ownership(shared: bool) -> TarFilter:
    def owned(entry: tarfile.TarInfo) -> tarfile.TarInfo:
        entry.uid = entry.gid = 0
        entry.uname = entry.gname = "root"
        if shared and not entry.issym():
            entry.mode |= 0o777 if entry.isdir() else 0o666
        return entry

    return owned


def copy_back(api: APIClient, container: str, project_dir: str, checkout: Path) -> None:
    """Replace `checkout` with the container's `project_dir` as the job left it."""
    chunks, _ = api.get_archive(container, project_dir)
    staging = Path(tempfile.mkdtemp(prefix=".from-container-", dir=checkout.parent))
    try:
        with tempfile.TemporaryFile() as spool:
            for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            with tarfile.open(fileobj=spool, mode="r:") as archive:
                archive.extractall(staging, filter="tar")
        shutil.rmtree(checkout, ignore_errors=True)
        (staging / PurePosixPath(project_dir).name).rename(checkout)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def overlay_files(overlay: Path, checkout: Path) -> None:
    """Copy `overlay` over `checkout` (for a checkout bind-mounted into the job)."""
    copy_tree(overlay, checkout)
