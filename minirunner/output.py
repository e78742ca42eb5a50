"""Everything minirunner writes to the terminal and to job logs."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from minirunner.masking import ANSI, MASK, Masker, mask, unsplit_secrets

if TYPE_CHECKING:
    from minirunner.progress import ProgressView

__all__ = ["ANSI", "MASK", "Console", "JobLog", "mask", "paint", "use_colour"]

# GitLab's collapsible sections (https://docs.gitlab.com/ci/jobs/job_logs/):
# `section_start:TIME:NAME[collapsed=true]\r\e[0KHeader` ... `section_end:TIME:NAME`.
# The "\r" is required, so an echoed command that prints a marker is no marker.
SECTION = re.compile(
    r"section_(start|end):(\d+):([A-Za-z0-9_.-]+)(\[[^\]]*\])?\r(?:\x1b\[0K)?(.*)"
)
JOB_COLOURS = (36, 35, 33, 34, 32, 96, 95, 93, 94, 92)
STATUS_COLOURS = {
    "success": 32,
    "passed": 32,
    "failed": 31,
    "allowed to fail": 33,
    "passed with warnings": 33,
    "blocked": 33,
    "skipped": 90,
    "manual": 90,
    "created": 90,
    "canceled": 35,
}
NAME_LIMIT = 40
# Output that has not ended its line after this many characters is written out
# as a line: holding it whole would cost memory and time without bound.
LONG_LINE = 64 * 1024


def use_colour(choice: str, stream: TextIO) -> bool:
    """Resolve --color auto|always|never; auto honours NO_COLOR and TERM=dumb.

    An explicit `always` wins over NO_COLOR, as https://no-color.org asks.
    """
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def is_terminal(stream: TextIO) -> bool:
    """Whether the stream is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint(text: str, colour: int, enabled: bool) -> str:
    """Wrap text in an SGR colour when colour is on."""
    return f"\x1b[{colour}m{text}\x1b[0m" if enabled else text


class Console:
    """The one place that writes to the terminal; safe to use from job threads.

    Job output reaches it in whole lines from JobLog, so the lines of jobs that
    run at once never mix. With `progress` (a terminal only), a live view of
    the jobs stays under the lines while the pipeline runs.
    """

    def __init__(
        self,
        *,
        colour: bool = False,
        quiet: bool = False,
        verbose: bool = False,
        stream: TextIO | None = None,
        errors: TextIO | None = None,
        progress: bool = False,
    ) -> None:
        self.colour = colour
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.errors = errors or sys.stderr
        self.progress = progress and not quiet
        self.masker = Masker()
        self._lock = threading.RLock()
        self._width = 0
        self._colours: dict[str, int] = {}
        self._view: ProgressView | None = None
        self._gone: set[TextIO] = set()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Values to hide everywhere this console writes, job output included."""
        self.masker.add(secrets)

    def write(self, text: str, *, err: bool = False) -> None:
        """Write whole lines atomically, masked."""
        self._emit(self.masker.mask(text), err=err)

    def _emit(self, text: str, *, err: bool = False) -> None:
        with self._lock:
            target = self.errors if err else self.stream
            if target in self._gone:
                return
            try:
                if self._view is not None:
                    self._view.print(text)
                    return
                target.write(text)
                target.flush()
            except OSError:
                # A reader such as `| head` left, or the terminal was closed:
                # the run goes on, its logs are kept, and nothing more is
                # written there.
                self._gone.add(target)
                silence(target)

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
        """Pad job prefixes to the longest name that will run; the run starts."""
        widest = max(
            (_cells(printable(name)[:NAME_LIMIT]) for name in names), default=0
        )
        self._width = min(widest, NAME_LIMIT)
        for index, name in enumerate(names):
            self._colours.setdefault(name, JOB_COLOURS[index % len(JOB_COLOURS)])
        if self.progress and self._view is None and names:
            from minirunner.progress import ProgressView

            self._view = ProgressView(self.stream, names, colour=self.colour)

    def prefix(self, name: str) -> str:
        """`name | `, padded and in the job's colour."""
        colour = self._colours.setdefault(
            name, JOB_COLOURS[len(self._colours) % len(JOB_COLOURS)]
        )
        shown = printable(name)[:NAME_LIMIT]
        shown += " " * (self._width - _cells(shown))
        return paint(shown, colour, self.colour) + " | "

    def job_log(self, name: str, path: Path, secrets: Sequence[str]) -> JobLog:
        """A sink for one job's output: its log file and the terminal."""
        masker = Masker(self.masker.secrets)
        masker.add(secrets)
        if self._view is not None:
            self._view.started(name)
        return JobLog(self, self.prefix(name), path, masker, name=name)

    def job_finished(self, name: str, status: str | None = None) -> None:
        """A job has ended (its status, when known, for the progress view)."""
        if self._view is not None:
            self._view.finished(name, status)

    def settled(self, name: str, status: str, reason: str) -> None:
        """A job that ends without running: skipped, manual, created or canceled."""
        self.info(f"{printable(name)}: {status} ({reason})")
        self.job_finished(name, status)

    def close(self) -> None:
        """Stop the progress view, leaving the terminal to the summary."""
        with self._lock:
            view, self._view = self._view, None
        if view is not None:
            view.stop()


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Text for one line of a terminal: control characters written as escapes
    (a job name holding a newline stays on its line)."""
    return _UNPRINTABLE.sub(lambda found: repr(found.group())[1:-1], text)


def _cells(text: str) -> int:
    """How many terminal columns text takes (a wide character takes two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def silence(stream: TextIO) -> None:
    """Point a standard stream whose reader left at /dev/null, so that Python's
    own flush at exit does not fail on it too."""
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


# Section markers need "\r" and colours "\x1b": text without control characters
# needs no work line by line.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])


def has_control_chars(text: str) -> bool:
    """Whether text holds a control character other than tab and newline."""
    if text.isascii():
        # Deleting bytes runs several times faster than a regular expression.
        data = text.encode("ascii")
        return len(data.translate(None, _CONTROL_BYTES)) != len(data)
    return _CONTROL_CHARS.search(text) is not None


class JobLog:
    """Receives a job's output; masks it, keeps it in the log, shows it.

    Text is handled in whole lines: a chunk's unfinished last line waits for
    the next chunk (or close), so a secret cut across two chunks is masked
    too. The log file gets plain text; the terminal gets colours when on, and
    the body of a `collapsed=true` section only with --verbose.
    """

    def __init__(
        self,
        console: Console,
        prefix: str,
        path: Path,
        secrets: Masker | Sequence[str],
        *,
        name: str = "",
    ) -> None:
        self.console = console
        self.prefix = prefix
        self.name = name
        self.masker = secrets if isinstance(secrets, Masker) else Masker(secrets)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")
        self._sections: list[bool] = []
        # The unfinished line, in the pieces it came in.
        self._pending: list[str] = []
        self._pending_size = 0
        self._lock = threading.Lock()
        self._closed = False

    @property
    def secrets(self) -> list[str]:
        """The values this log masks, longest first."""
        return self.masker.secrets

    def __call__(self, chunk: str) -> None:
        with self._lock:
            # Lines end at "\n" only: "\r" belongs to the line (progress
            # redraws, section markers).
            cut = chunk.rfind("\n") + 1
            if not cut:
                self._pending.append(chunk)
                self._pending_size += len(chunk)
                if self._pending_size > LONG_LINE:
                    self._break_long_line()
                return
            self._pending.append(chunk[: cut - 1])
            text = "".join(self._pending)
            rest = chunk[cut:]
            self._pending = [rest] if rest else []
            self._pending_size = len(rest)
            self._write(text)

    def _break_long_line(self) -> None:
        """Write an unfinished line that grew long as a line of its own, but
        for its end, which could be the start of a secret."""
        text = "".join(self._pending)
        longest = len(self.masker.secrets[0]) if self.masker.secrets else 1
        cut = unsplit_secrets(text, len(text) - (longest - 1), self.masker.secrets)
        rest = text[cut:]
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        if cut:
            self._write(text[:cut])

    def _write(self, block: str) -> None:
        """Handle whole lines, `block` being them joined by "\n"."""
        plain, shown = self._render(block)
        if self._closed:
            return
        self._file.write(plain)
        self._file.flush()
        if shown and not self.console.quiet:
            self.console._emit(shown)

    def _render(self, block: str) -> tuple[str, str]:
        if not has_control_chars(block):
            # The common case, kept fast: no colour, no redraw, no section.
            masked = self.masker.mask(block)
            if self._folded() or self.console.quiet:
                return masked + "\n", ""
            end = "\x1b[0m\n" if self.console.colour else "\n"
            body = masked.replace("\n", end + self.prefix)
            return masked + "\n", "".join((self.prefix, body, end))
        plain: list[str] = []
        shown: list[str] = []
        colour = self.console.colour
        for line in block.split("\n"):
            text, coloured = self.masker.line(line)
            marker = SECTION.search(line)
            if marker:
                self._section(marker, plain, shown)
                continue
            plain.append(text)
            if not self._folded():
                shown.append(coloured if colour else text)
        plain_text = "".join(f"{line}\n" for line in plain)
        end = "\x1b[0m\n" if colour else "\n"
        shown_text = "".join(f"{self.prefix}{line}{end}" for line in shown)
        return plain_text, shown_text

    def _section(
        self, marker: re.Match[str], plain: list[str], shown: list[str]
    ) -> None:
        kind, _, name, options, rest = marker.groups()
        rest_plain, rest_shown = self.masker.line(rest)
        if kind == "end":
            if self._sections:
                self._sections.pop()
            if rest_plain.strip():
                plain.append(rest_plain)
                if not self._folded():
                    shown.append(rest_shown if self.console.colour else rest_plain)
            return
        title = rest_plain.strip() or self.masker.mask(name)
        hidden = self._folded()
        self._sections.append("collapsed=true" in (options or ""))
        plain.append(f"> {title}")
        if not hidden:
            folded = " (folded)" if self._folded() else ""
            shown.append(paint(f"> {title}{folded}", 1, self.console.colour))

    def _folded(self) -> bool:
        return any(self._sections) and not self.console.verbose

    def note(self, message: str) -> None:
        """A line from minirunner itself about this job."""
        self(message + "\n")

    def tail(self, count: int) -> list[str]:
        """The last lines of the log, for the summary of a failed job."""
        from minirunner.results import read_tail

        return list(read_tail(self.path, count))

    def close(self) -> None:
        """Write what is left of an unfinished line and close the log file."""
        with self._lock:
            if self._closed:
                return
            if self._pending:
                pending, self._pending = "".join(self._pending), []
                self._pending_size = 0
                if pending:
                    self._write(pending)
            self._closed = True
            self._file.close()
        self.console.job_finished(self.name)
