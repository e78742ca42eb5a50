"""What a run produced: each job's result, the summary table and the JSON report."""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from minirunner.output import STATUS_COLOURS, Console, is_terminal, paint, printable

TAIL_LINES = 10
MIN_TABLE_WIDTH = 40
LABELS = {"success": "passed"}
# The order the totals line lists them in.
LABEL_ORDER = (
    "passed",
    "failed",
    "allowed to fail",
    "skipped",
    "manual",
    "created",
    "canceled",
)


@dataclass(frozen=True)
class JobResult:
    """How one job of the pipeline ended."""

    name: str
    stage: str
    status: str
    allow_failure: bool
    exit_code: int | None = None
    duration_s: float = 0.0
    log: Path | None = None
    message: str | None = None
    # Percent, from the log by the job's `coverage` expression.
    coverage: float | None = None

    @property
    def label(self) -> str:
        """The status as the summary shows it: passed, failed, allowed to fail,
        skipped, manual, created (waiting for a manual job) or canceled."""
        if self.status == "failed" and self.allow_failure:
            return "allowed to fail"
        return LABELS.get(self.status, self.status)

    @property
    def blocks(self) -> bool:
        """Whether this result fails the pipeline."""
        return self.status in ("failed", "canceled") and not self.allow_failure


@dataclass(frozen=True)
class PipelineResult:
    """The run as a whole; `snapshot` says which files the jobs ran on."""

    pipeline_id: int
    jobs: tuple[JobResult, ...]
    interrupted: int | None = None
    snapshot: str = ""
    duration_s: float = 0.0

    @property
    def status(self) -> str:
        """`success` or `failed`, as the report contract names them."""
        if self.interrupted or any(job.blocks for job in self.jobs):
            return "failed"
        return "success"

    @property
    def label(self) -> str:
        """passed, passed with warnings, blocked, failed or canceled, as GitLab
        shows it; blocked is a manual job not allowed to fail left unplayed."""
        if self.interrupted:
            return "canceled"
        if self.status == "failed":
            return "failed"
        if any(job.status == "manual" and not job.allow_failure for job in self.jobs):
            return "blocked"
        if any(job.label == "allowed to fail" for job in self.jobs):
            return "passed with warnings"
        return "passed"


def write_report(result: PipelineResult, path: Path) -> None:
    """The machine-readable report documented in README.md."""
    data = {
        "status": result.status,
        "pipeline_id": result.pipeline_id,
        "jobs": [
            {
                "name": job.name,
                "stage": job.stage,
                "status": job.status,
                "allow_failure": job.allow_failure,
                "exit_code": job.exit_code,
                "duration_s": round(job.duration_s, 3),
                "log": str(job.log) if job.log else None,
                "coverage": job.coverage,
            }
            for job in result.jobs
        ],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def format_duration(seconds: float) -> str:
    """`0.4s`, `12.0s`, `3m 05s`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m {secs:02d}s"


def print_summary(
    console: Console, result: PipelineResult, tail_lines: int = TAIL_LINES
) -> None:
    """A table of the jobs, the last lines of failed jobs, and the pipeline status.

    On a terminal the table is drawn with rich; elsewhere it is plain columns.
    """
    if result.jobs:
        # A terminal too narrow for rich's table gets the plain one, which wraps.
        narrow = shutil.get_terminal_size((100, 24)).columns < MIN_TABLE_WIDTH
        rich = is_terminal(console.stream) and not narrow
        table = rich_table(result, console.colour) if rich else plain_table(result)
        console.write(("" if console.quiet else "\n") + table)
        for job in result.jobs:
            if job.status == "failed" and job.log is not None:
                console.write(failure(job, tail_lines, console.colour))
    console.write("\n" + pipeline_line(result, console.colour) + "\n")


def plain_table(result: PipelineResult) -> str:
    """Left-aligned columns: job, stage, status, duration (and coverage when a
    job has one)."""
    with_coverage = any(job.coverage is not None for job in result.jobs)
    rows: list[tuple[str, ...]] = [("job", "stage", "status", "duration", "coverage")]
    rows += [
        (printable(job.name), job.stage, job.label, duration(job), percent(job))
        for job in result.jobs
    ]
    if not with_coverage:
        rows = [row[:4] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        + "\n"
        for row in rows
    )


def rich_table(result: PipelineResult, colour: bool) -> str:
    """The same table drawn by rich, with each status in its colour."""
    from rich import box
    from rich.console import Console as RichConsole
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("job", style="bold")
    table.add_column("stage")
    table.add_column("status")
    table.add_column("duration", justify="right")
    with_coverage = any(job.coverage is not None for job in result.jobs)
    if with_coverage:
        table.add_column("coverage", justify="right")
    for job in result.jobs:
        style = RICH_STYLES.get(job.label, "")
        name = escape(printable(job.name))
        stage = escape(printable(job.stage))
        cells = [name, stage, f"[{style}]{job.label}[/]", duration(job)]
        table.add_row(*cells, *([percent(job)] if with_coverage else []))
    buffer = io.StringIO()
    width = shutil.get_terminal_size((100, 24)).columns
    RichConsole(
        file=buffer,
        force_terminal=colour,
        color_system="auto" if colour else None,
        width=width,
    ).print(table)
    return buffer.getvalue()


RICH_STYLES = {
    "passed": "green",
    "failed": "bold red",
    "allowed to fail": "yellow",
    "skipped": "dim",
    "manual": "dim",
    "created": "dim",
    "canceled": "magenta",
}


def duration(job: JobResult) -> str:
    """The job's duration, or `-` for a job that did not run."""
    return format_duration(job.duration_s) if job.duration_s else "-"


def percent(job: JobResult) -> str:
    """The job's coverage as GitLab shows it (`87.5%`), or `-`."""
    return "-" if job.coverage is None else f"{job.coverage:g}%"


def failure(job: JobResult, tail_lines: int, colour: bool) -> str:
    """A failed job's reason, the last lines of its log, and where the log is."""
    title = f"{printable(job.name)} failed"
    if job.allow_failure:
        title += " (allowed to fail)"
    if job.message:
        title += f": {job.message}"
    lines = ["", paint(title, 33 if job.allow_failure else 31, colour)]
    assert job.log is not None
    lines.extend(f"  {line}" for line in read_tail(job.log, tail_lines))
    lines.append(f"  full log: {job.log}")
    return "\n".join(lines) + "\n"


def pipeline_line(result: PipelineResult, colour: bool) -> str:
    """`Pipeline #3 passed in 4.2s: 2 passed, 1 skipped (commit 1a2b3c4d)`."""
    label = result.label
    text = f"Pipeline #{result.pipeline_id} " + paint(
        label, STATUS_COLOURS.get(label, 0), colour
    )
    if result.duration_s:
        text += f" in {format_duration(result.duration_s)}"
    counts = Counter(job.label for job in result.jobs)
    if counts:
        text += ": " + ", ".join(
            f"{counts[name]} {name}" for name in LABEL_ORDER if counts[name]
        )
    if result.snapshot:
        text += f" ({result.snapshot})"
    return text


def read_tail(path: Path, count: int) -> Sequence[str]:
    """The last lines of a log file, read from its end; nothing if unreadable."""
    try:
        with path.open("rb") as stream:
            start = stream.seek(0, 2)
            data = b""
            block = 1 << 16
            while start > 0 and data.count(b"\n") <= count:
                step = min(block, start)
                start -= step
                stream.seek(start)
                data = stream.read(step) + data
                block *= 2
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-count:]
