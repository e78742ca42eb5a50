"""Everything minirunner writes to the terminal and to job logs."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# GitLab's collapsible sections: https://docs.gitlab.com/ci/jobs/job_logs/
SECTION = re.compile(
    r"section_(start|end):\d+:([A-Za-z0-9_.-]+)(\[[^\]]*\])?\r?(?:\x1b\[0K)?(.*)"
)
MASK = "[MASKED]"
JOB_COLOURS = (36, 35, 33, 34, 32, 96, 95, 93, 94, 92)
STATUS_COLOURS = {
    "success": 32,
    "failed": 31,
    "allowed to fail": 33,
    "skipped": 90,
    "manual": 90,
    "canceled": 35,
}


def use_colour(choice: str, stream: TextIO) -> bool:
    """Resolve --color auto|always|never, honouring NO_COLOR for auto."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def paint(text: str, colour: int, enabled: bool) -> str:
    """Wrap text in an SGR colour when colour is on."""
    return f"\x1b[{colour}m{text}\x1b[0m" if enabled else text


def mask(text: str, secrets: Sequence[str]) -> str:
    """Replace every occurrence of each secret, longest first, as GitLab masks."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


@dataclass
class _Section:
    collapsed: bool


class Console:
    """The one place that writes to the terminal; safe to use from job threads."""

    def __init__(
        self,
        *,
        colour: bool = False,
        quiet: bool = False,
        verbose: bool = False,
        stream: TextIO | None = None,
        errors: TextIO | None = None,
    ) -> None:
        self.colour = colour
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.errors = errors or sys.stderr
        self._lock = threading.Lock()
        self._width = 0
        self._next_colour = 0

    def write(self, text: str, *, err: bool = False) -> None:
        """Write whole lines atomically."""
        with self._lock:
            target = self.errors if err else self.stream
            target.write(text)
            target.flush()

    def info(self, message: str) -> None:
        """A line about the pipeline (hidden by -q)."""
        if not self.quiet:
            self.write(message + "\n")

    def warn(self, message: str) -> None:
        """A warning on stderr (shown even with -q)."""
        self.write(paint("Warning: ", 33, self.colour) + message + "\n", err=True)

    def debug(self, message: str) -> None:
        """minirunner's own diagnostics (shown with --verbose)."""
        if self.verbose:
            self.write(paint(message, 90, self.colour) + "\n", err=True)

    def set_name_width(self, names: Sequence[str]) -> None:
        """Pad job prefixes to the longest name that will run."""
        self._width = min(max((len(name) for name in names), default=0), 40)

    def job_log(self, name: str, path: Path, secrets: Sequence[str]) -> JobLog:
        """A sink for one job's output: its log file and the terminal."""
        colour = JOB_COLOURS[self._next_colour % len(JOB_COLOURS)]
        self._next_colour += 1
        prefix = paint(name.ljust(self._width)[:40], colour, self.colour) + " | "
        return JobLog(self, prefix, path, sorted(set(secrets), key=len, reverse=True))


class JobLog:
    """Receives a job's output in whole lines; masks, logs and shows them."""

    def __init__(
        self, console: Console, prefix: str, path: Path, secrets: Sequence[str]
    ) -> None:
        self.console = console
        self.prefix = prefix
        self.secrets = [secret for secret in secrets if secret]
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")
        self._section: _Section | None = None
        self._lock = threading.Lock()

    def __call__(self, chunk: str) -> None:
        chunk = mask(chunk, self.secrets)
        with self._lock:
            plain, shown = self._render(chunk)
            self._file.write(plain)
            self._file.flush()
        if shown and not self.console.quiet:
            self.console.write(shown)

    def _render(self, chunk: str) -> tuple[str, str]:
        plain: list[str] = []
        shown: list[str] = []
        colour = self.console.colour
        for line in chunk.splitlines():
            marker = SECTION.search(line)
            if marker:
                kind, _, options, header = marker.groups()
                if kind == "start":
                    self._section = _Section("collapsed=true" in (options or ""))
                    title = ANSI.sub("", header).strip() or marker.group(2)
                    plain.append(f"> {title}")
                    shown.append(paint(f"> {title}", 1, colour))
                else:
                    self._section = None
                continue
            text = ANSI.sub("", line).replace("\r", "")
            plain.append(text)
            if self._section is None or not self._section.collapsed:
                shown.append(line if colour else text)
        plain_text = "".join(f"{line}\n" for line in plain)
        shown_text = "".join(f"{self.prefix}{line}\n" for line in shown)
        if colour and shown_text:
            shown_text = shown_text.replace("\n", "\x1b[0m\n")
        return plain_text, shown_text

    def note(self, message: str) -> None:
        """A line from minirunner itself about this job."""
        self(message + "\n")

    def tail(self, count: int) -> list[str]:
        """The last lines of the log, for the summary of a failed job."""
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        return lines[-count:]

    def close(self) -> None:
        """Close the log file."""
        with self._lock:
            self._file.close()
