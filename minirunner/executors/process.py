"""Run one shell script as a process group, streaming its output, with a deadline."""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from minirunner.executors.base import JobOutcome, LineSink

READ_SIZE = 1 << 16
KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class ProcessResult:
    """The exit code, or how the process was stopped."""

    exit_code: int | None
    timed_out: bool = False
    canceled: bool = False


class OutputDecoder:
    """Hands a job's output on as it comes, as text: whole characters only, so a
    character split between two reads waits for its end. The sink makes lines."""

    def __init__(self, emit: LineSink) -> None:
        self.emit = emit
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._line_open = False

    def feed(self, chunk: bytes) -> None:
        """Decode a chunk and hand on what it completes."""
        text = self._decoder.decode(chunk)
        if text:
            self._line_open = not text.endswith("\n")
            self.emit(text)

    def flush(self) -> None:
        """Hand on the rest, and end an unfinished last line."""
        text = self._decoder.decode(b"", final=True)
        if text or self._line_open:
            self.emit(text + "\n")
            self._line_open = False


def stream_lines(fd: int, emit: LineSink) -> None:
    """Read fd to its end, handing its output on as it comes."""
    output = OutputDecoder(emit)
    while chunk := os.read(fd, READ_SIZE):
        output.feed(chunk)
    output.flush()


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    emit: LineSink,
    timeout_s: float,
    cancel: threading.Event,
) -> ProcessResult:
    """Run argv in its own session; stop its whole group on timeout or cancel."""
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=write_end,
            start_new_session=True,
        )
    finally:
        os.close(write_end)
    reader = threading.Thread(target=stream_lines, args=(read_end, emit), daemon=True)
    reader.start()
    finished = threading.Event()

    def wait_for_exit() -> None:
        process.wait()
        finished.set()

    threading.Thread(target=wait_for_exit, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    timed_out = canceled = False
    try:
        while not finished.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            canceled = cancel.is_set()
            timed_out = time.monotonic() >= deadline
            if canceled or timed_out:
                stop_group(process)
                break
        process.wait()
    finally:
        if process.poll() is None:
            stop_group(process)
        # What the script left running in the background ends with the job.
        kill_group(process.pid)
        reader.join(timeout=KILL_GRACE_S)
        if not reader.is_alive():
            os.close(read_end)
    if timed_out or canceled:
        return ProcessResult(None, timed_out=timed_out, canceled=canceled)
    code = process.returncode
    # A shell killed by signal N reports 128 + N, as shells and Docker do.
    return ProcessResult(128 - code if code < 0 else code)


def kill_group(group: int) -> None:
    """SIGKILL whatever is left of a process group."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL what is still there after a grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=KILL_GRACE_S)
            if sig == signal.SIGTERM:
                os.killpg(process.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def job_outcome(result: ProcessResult, timeout_s: float) -> JobOutcome:
    """The job's outcome from how its script ended."""
    if result.canceled:
        return JobOutcome("canceled", None, "canceled")
    if result.timed_out:
        return JobOutcome(
            "failed", None, f"execution took longer than {format_seconds(timeout_s)}"
        )
    if result.exit_code == 0:
        return JobOutcome("success", 0)
    return JobOutcome("failed", result.exit_code, f"exit code {result.exit_code}")


def format_seconds(seconds: float) -> str:
    """`1h 2m 3s` style, as GitLab shows durations."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    parts.append(f"{secs}s" if secs or not (hours or minutes) else "")
    return " ".join(part for part in parts if part)
