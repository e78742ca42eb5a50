"""Job artifacts: kept in the run's folder, handed to later jobs as GitLab hands them.

A job receives the artifacts of every job of the earlier stages, or with `needs`
only those of the needed jobs whose `artifacts` is true, and with `dependencies`
exactly those jobs (https://docs.gitlab.com/ci/yaml/#dependencies). A
`reports:dotenv` file turns into variables of the jobs that receive it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from minirunner.config.model import Artifacts, Job
from minirunner.files import (
    OutsideProject,
    copy_files,
    copy_tree,
    inside,
    job_patterns,
    select,
)

DOTENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DOTENV_MAX_BYTES = 5 * 1024
DOTENV_MAX_VARIABLES = 20


@dataclass(frozen=True)
class StoredArtifacts:
    """What one job left: its files and its dotenv variables."""

    job: str
    folder: Path
    files: int
    dotenv: Mapping[str, str]


def wanted(artifacts: Artifacts | None, status: str) -> bool:
    """Whether artifacts:when lets a job with this status upload."""
    if artifacts is None:
        return False
    if artifacts.when == "always":
        return True
    if artifacts.when == "on_failure":
        return status == "failed"
    return status == "success"


def store(
    job: Job,
    checkout: Path,
    folder: Path,
    status: str,
    env: Mapping[str, str],
    emit: Callable[[str], None],
) -> StoredArtifacts | None:
    """Copy a job's artifacts out of its checkout; None when it has none to keep.

    Paths, exclusions and reports are expanded with the job's variables.
    """
    artifacts = job.artifacts
    if artifacts is None or not wanted(artifacts, status):
        return None

    def left_out(pattern: str, error: OutsideProject | None) -> None:
        if error is None:
            emit(f"WARNING: {pattern}: no matching files")
        else:
            emit(f"WARNING: artifacts: {error}; it is left out")

    paths = select(
        checkout,
        job_patterns(artifacts.paths, env),
        exclude=job_patterns(artifacts.exclude, env),
        untracked=artifacts.untracked,
        left_out=left_out,
    )
    report_paths = [path for files in artifacts.reports.values() for path in files]
    reports = select(checkout, job_patterns(report_paths, env), left_out=left_out)
    count = copy_files(checkout, [*paths, *reports], folder)
    dotenv_paths = job_patterns(artifacts.reports.get("dotenv", ()), env)
    dotenv = read_dotenv(checkout, dotenv_paths, emit)
    files = "1 artifact file" if count == 1 else f"{count} artifact files"
    emit(f"Uploaded {files} to {folder}")
    return StoredArtifacts(job.name, folder, count, dotenv)


def read_dotenv(
    checkout: Path, names: Sequence[str], emit: Callable[[str], None]
) -> dict[str, str]:
    """Variables from `artifacts:reports:dotenv` files, read as GitLab's
    ParseDotenvArtifactService reads them: `KEY=value` on every line, both sides
    stripped, quotes kept; a file GitLab would refuse gives no variables."""
    values: dict[str, str] = {}
    for name in names:
        path = checkout / name
        if not path.is_file() or not inside(checkout, path):
            continue
        data = path.read_bytes()
        if len(data) > DOTENV_MAX_BYTES:
            emit(
                f"WARNING: {name}: GitLab refuses a dotenv report over 5 KB, "
                "so no job gets its variables"
            )
            continue
        try:
            found = _dotenv_values(data.decode("utf-8", errors="replace"))
        except ValueError as error:
            emit(
                f"WARNING: {name}:{error}: GitLab refuses this dotenv report, "
                "so no job gets its variables"
            )
            continue
        if len(found) > DOTENV_MAX_VARIABLES:
            emit(
                f"WARNING: {name}: {len(found)} variables; GitLab takes at most "
                f"{DOTENV_MAX_VARIABLES} unless its instance allows more"
            )
        values.update(found)
    return values


def _dotenv_values(text: str) -> dict[str, str]:
    """The file's variables; ValueError "LINE: reason" for a line GitLab refuses."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # what follows the file's last newline
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{number}: Invalid Format (a line without `=`)")
        key = key.strip()
        if not DOTENV_KEY.fullmatch(key):
            raise ValueError(f"{number}: Invalid Key '{key}'")
        if "\0" not in value:
            values[key] = value.strip()
    return values


def sources_for(
    job: Job, earlier: Sequence[str], needs: Sequence[tuple[str, bool]] | None
) -> list[str]:
    """The jobs whose artifacts this job downloads, in order."""
    if job.dependencies is not None:
        return list(job.dependencies)
    if needs is not None:
        return [name for name, with_artifacts in needs if with_artifacts]
    return list(earlier)


def restore(
    sources: Sequence[str],
    stored: Mapping[str, StoredArtifacts],
    checkout: Path,
) -> None:
    """Lay the chosen artifacts into a checkout."""
    for name in sources:
        kept = stored.get(name)
        if kept is not None:
            copy_tree(kept.folder, checkout)


def dotenv_of(
    sources: Sequence[str], stored: Mapping[str, StoredArtifacts]
) -> dict[str, str]:
    """The dotenv variables a job receives from the jobs it downloads from."""
    variables: dict[str, str] = {}
    for name in sources:
        kept = stored.get(name)
        if kept is not None:
            variables.update(kept.dotenv)
    return variables
