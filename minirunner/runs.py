"""The project's `.minirunner/` folder: numbered run folders, logs and reports."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER = ".minirunner"


def project_folder(root: Path) -> Path:
    """`.minirunner/` in the project, ignoring itself so `git status` stays clean."""
    folder = root / FOLDER
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# Written by minirunner: nothing here is to be committed.\n*\n"
        )
    return folder


def run_ids(root: Path) -> list[int]:
    """The numbers of the runs kept so far, ascending."""
    runs = root / FOLDER / "runs"
    if not runs.is_dir():
        return []
    return sorted(int(entry.name) for entry in runs.iterdir() if entry.name.isdigit())


def next_run_id(root: Path) -> int:
    """The number the next run would get (for plans that run nothing)."""
    ids = run_ids(root)
    return ids[-1] + 1 if ids else 1


def new_run_folder(root: Path) -> tuple[int, Path]:
    """Claim the next run number; concurrent runs each get their own."""
    runs = project_folder(root) / "runs"
    runs.mkdir(exist_ok=True)
    number = next_run_id(root)
    while True:
        folder = runs / str(number)
        try:
            os.mkdir(folder)
        except FileExistsError:
            number += 1
            continue
        return number, folder


def last_run_folder(root: Path) -> Path | None:
    """The folder of the most recent run that ran jobs, if any."""
    for number in reversed(run_ids(root)):
        folder = root / FOLDER / "runs" / str(number)
        if any(folder.iterdir()):
            return folder
    return None
