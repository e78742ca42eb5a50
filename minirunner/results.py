"""What a run produced: each job's result, the summary table and the JSON report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from minirunner.output import STATUS_COLOURS, Console, paint


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

    @property
    def label(self) -> str:
        """The status as the summary shows it."""
        if self.status == "failed" and self.allow_failure:
            return "allowed to fail"
        return self.status

    @property
    def blocks(self) -> bool:
        """Whether this result fails the pipeline."""
        return self.status in ("failed", "canceled") and not self.allow_failure


@dataclass(frozen=True)
class PipelineResult:
    """The run as a whole."""

    pipeline_id: int
    jobs: tuple[JobResult, ...]
    interrupted: int | None = None
    snapshot: str = ""

    @property
    def status(self) -> str:
        """`success` or `failed`, as the report contract names them."""
        if self.interrupted or any(job.blocks for job in self.jobs):
            return "failed"
        return "success"


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
    console: Console, result: PipelineResult, tail_lines: int = 5
) -> None:
    """A table of the jobs, the last lines of failed jobs, and the pipeline status."""
    jobs = result.jobs
    if not jobs:
        return
    name_width = max(len("job"), *(len(job.name) for job in jobs))
    stage_width = max(len("stage"), *(len(job.stage) for job in jobs))
    colour = console.colour
    lines = [
        "",
        f"{'job':<{name_width}}  {'stage':<{stage_width}}  {'status':<15}  time",
    ]
    for job in jobs:
        label = paint(f"{job.label:<15}", STATUS_COLOURS.get(job.label, 0), colour)
        duration = format_duration(job.duration_s) if job.duration_s else "-"
        lines.append(
            f"{job.name:<{name_width}}  {job.stage:<{stage_width}}  {label}  {duration}"
        )
    for job in jobs:
        if job.status != "failed" or job.log is None:
            continue
        lines.append("")
        lines.append(paint(f"{job.name} failed: {job.message or ''}", 31, colour))
        lines.extend(f"  {line}" for line in read_tail(job.log, tail_lines))
        lines.append(f"  full log: {job.log}")
    status = result.status
    if result.interrupted:
        status = "canceled"
    lines.append("")
    lines.append(
        f"Pipeline #{result.pipeline_id} "
        + paint(status, STATUS_COLOURS.get(status, 0), colour)
        + (f" ({result.snapshot})" if result.snapshot else "")
    )
    console.write("\n".join(lines) + "\n")


def read_tail(path: Path, count: int) -> Sequence[str]:
    """The last lines of a log file, or nothing when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:]
    except OSError:
        return []
