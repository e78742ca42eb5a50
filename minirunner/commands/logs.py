"""`minirunner logs`: the jobs' logs of the last run (or of another one)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from minirunner.errors import UsageError
from minirunner.output import printable
from minirunner.runs import FOLDER, last_run_folder, run_ids
from minirunner.userconfig import find_root


@dataclass(frozen=True)
class LoggedJob:
    """One job of a past run, as its report lists it."""

    name: str
    stage: str
    status: str
    duration_s: float | None
    log: Path | None
    allow_failure: bool = False

    @property
    def label(self) -> str:
        """The status as the run's summary showed it."""
        from minirunner.results import JobResult

        return JobResult(self.name, self.stage, self.status, self.allow_failure).label


def run_folder(root: Path, run: int | None) -> Path:
    """The folder of run `run`, or of the last run."""
    if run is None:
        folder = last_run_folder(root)
        if folder is None:
            raise UsageError("no run yet in this project: `minirunner run` first")
        return folder
    folder = root / FOLDER / "runs" / str(run)
    if not folder.is_dir():
        known = ", ".join(str(number) for number in run_ids(root)) or "none"
        raise UsageError(f"no run #{run} (runs kept: {known})")
    return folder


def logged_jobs(folder: Path) -> tuple[str, list[LoggedJob]]:
    """The run's status as its summary showed it and its jobs, from its report,
    or from its log files when the run was stopped before it wrote one."""
    report = folder / "report.json"
    try:
        data: dict[str, Any] = json.loads(report.read_text())
    except (OSError, ValueError):
        jobs = [
            LoggedJob(path.stem, "?", "unfinished", None, path)
            for path in sorted(folder.glob("*.log"))
        ]
        return "unfinished", jobs
    jobs = []
    for job in data.get("jobs", []):
        logged = LoggedJob(
            job["name"],
            job["stage"],
            job["status"],
            job.get("duration_s"),
            Path(job["log"]) if job.get("log") else None,
            bool(job.get("allow_failure")),
        )
        jobs.append(logged)
    status = str(data.get("status", "?"))
    if status == "success":
        status = _label(jobs)
    return status, [each for job in jobs for each in (job, *_child_jobs(folder, job))]


def _label(jobs: Sequence[LoggedJob]) -> str:
    """The run's status as its summary showed it (passed with warnings, blocked)."""
    from minirunner.results import JobResult, PipelineResult

    results = tuple(
        JobResult(job.name, job.stage, job.status, job.allow_failure) for job in jobs
    )
    return PipelineResult(0, results).label


def _child_jobs(folder: Path, trigger: LoggedJob) -> list[LoggedJob]:
    """The jobs of the child pipeline a trigger job ran, named `trigger > job`."""
    if trigger.log is None:
        return []
    child_folder = folder / f"{trigger.log.stem}-child"
    if not child_folder.is_dir():
        return []
    _, jobs = logged_jobs(child_folder)
    return [replace(job, name=f"{trigger.name} > {job.name}") for job in jobs]


def show_logs(
    cwd: Path, names: Sequence[str], *, run: int | None, tail: int | None
) -> None:
    """Print the logs of the jobs named, or list the run's jobs and logs."""
    root = find_root(cwd)
    folder = run_folder(root, run)
    status, jobs = logged_jobs(folder)
    if not names:
        click.echo(f"Run #{folder.name}: {status}")
        rows = [("job", "stage", "status", "log")] + [
            (printable(job.name), job.stage, job.label, _shown_path(job.log, root))
            for job in jobs
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            ]
            click.echo("  ".join([*cells, row[3]]))
        click.echo("`minirunner logs JOB` prints a job's log.")
        return
    chosen = [find_job(jobs, name) for name in names]
    for index, job in enumerate(chosen):
        if len(chosen) > 1:
            click.echo(("\n" if index else "") + f"==> {job.name} ({job.label}) <==")
        if job.log is None or not job.log.is_file():
            click.echo(f"{job.name} has no log: it did not run ({job.label})")
            continue
        lines = job.log.read_text(encoding="utf-8", errors="replace").splitlines()
        if tail is not None:
            lines = lines[-tail:] if tail else []
        for line in lines:
            click.echo(line)


def find_job(jobs: Sequence[LoggedJob], name: str) -> LoggedJob:
    """The job of that name (or log file name) in the run."""
    for job in jobs:
        if name == job.name:
            return job
    for job in jobs:
        if job.log is not None and name == job.log.stem:
            return job
    names = [job.name for job in jobs]
    message = f"no job '{name}' in this run (jobs: {', '.join(names)})"
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        message = f"no job '{name}' in this run; did you mean '{close[0]}'?"
    raise UsageError(message)


def _shown_path(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
