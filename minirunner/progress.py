"""The live view of a running pipeline on a terminal: jobs pending, running, done."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import RenderableType

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SHOWN_RUNNING = 8
BAD = ("failed", "canceled")


@dataclass
class _Job:
    started: float | None = None
    ended: float | None = None
    status: str | None = None


def clock(seconds: float) -> str:
    """`0:07`, `12:30`, `1:02:03`."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class ProgressView:
    """A rich Live region under the job lines, redrawn four times a second.

    Job lines are printed above it as they come; the region goes away when the
    run stops, so the terminal keeps the lines and then the summary.
    """

    def __init__(self, stream: TextIO, names: Sequence[str], *, colour: bool) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(
            file=stream,
            force_terminal=True,
            color_system="auto" if colour else None,
            highlight=False,
            soft_wrap=True,
        )
        self.jobs = {name: _Job() for name in names}
        self.begun = time.monotonic()
        self.live = Live(
            console=self.console,
            get_renderable=self.render,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start()

    def print(self, text: str) -> None:
        """Lines (with ANSI colours) above the live region."""
        from rich.text import Text

        self.console.print(Text.from_ansi(text.removesuffix("\n")))

    def started(self, name: str) -> None:
        """A job began to run."""
        self.jobs.setdefault(name, _Job()).started = time.monotonic()
        self.live.refresh()

    def finished(self, name: str, status: str | None) -> None:
        """A job ended; its status may come later or not at all."""
        job = self.jobs.setdefault(name, _Job())
        if job.ended is None:
            job.ended = time.monotonic()
        if status is not None:
            job.status = status
        self.live.refresh()

    def counts(self) -> dict[str, int]:
        """How many jobs are pending, running, done and failed."""
        jobs = self.jobs.values()
        done = [job for job in jobs if job.ended is not None]
        return {
            "running": sum(
                1 for j in jobs if j.started is not None and j.ended is None
            ),
            "done": len(done),
            "failed": sum(1 for job in done if job.status in BAD),
            "pending": sum(1 for j in jobs if j.started is None and j.ended is None),
        }

    def render(self) -> RenderableType:
        """The region: one line per running job, then the totals."""
        from rich.text import Text

        now = time.monotonic()
        frame = SPINNER[int(now * 8) % len(SPINNER)]
        lines = Text()
        running = [
            (name, job)
            for name, job in self.jobs.items()
            if job.started is not None and job.ended is None
        ]
        width = max((len(name) for name, _ in running), default=0)
        for name, job in running[:SHOWN_RUNNING]:
            assert job.started is not None
            lines.append(f" {frame} ", style="cyan")
            lines.append(name.ljust(width), style="bold")
            lines.append(f"  {clock(now - job.started)}\n", style="dim")
        if len(running) > SHOWN_RUNNING:
            lines.append(f"   ... and {len(running) - SHOWN_RUNNING} more\n", "dim")
        counts = self.counts()
        lines.append(" ")
        lines.append(f"{counts['running']} running", style="cyan")
        lines.append(" · ")
        lines.append(f"{counts['done']} done", style="green")
        if counts["failed"]:
            lines.append(" · ")
            lines.append(f"{counts['failed']} failed", style="red")
        lines.append(" · ")
        lines.append(f"{counts['pending']} pending", style="dim")
        lines.append(f" · {clock(now - self.begun)}", style="dim")
        return lines

    def stop(self) -> None:
        """Remove the region."""
        self.live.stop()
