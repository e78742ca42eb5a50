"""Run a command several times and keep its wall time, CPU time and peak memory."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class Sample:
    """One run: seconds of wall and CPU time (children included), peak RSS in MB.

    `peak_mb` is the largest resident set of the process or of any descendant it
    waited for (Linux's ru_maxrss through wait4), as `/usr/bin/time -v` shows.
    """

    wall: float
    cpu: float
    peak_mb: float
    returncode: int
    timed_out: bool = False


@dataclass(frozen=True)
class Series:
    """The runs of one row of a table."""

    label: str
    samples: tuple[Sample, ...]
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when every run finished and exited 0."""
        return bool(self.samples) and all(
            s.returncode == 0 and not s.timed_out for s in self.samples
        )

    @property
    def walls(self) -> list[float]:
        """Wall times of the runs."""
        return [s.wall for s in self.samples]

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(self.walls)

    @property
    def cpu_median(self) -> float:
        """Median CPU time (user + system, children included)."""
        return statistics.median(s.cpu for s in self.samples)

    @property
    def peak_mb(self) -> float:
        """Largest peak resident memory over the runs."""
        return max(s.peak_mb for s in self.samples)


def run_once(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stdout: int | IO[bytes] | None = subprocess.DEVNULL,
) -> Sample:
    """Run `command` once; a run past `timeout` is killed (its whole group)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    # The group may leave stragglers (a job's background process): end them too.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return Sample(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mb=usage.ru_maxrss / 1024,
        returncode=process.returncode,
        timed_out=expired.is_set(),
    )


@dataclass(frozen=True)
class Row:
    """What to measure for one row: an action, how often, and whether to warm up.

    A slow peer gets fewer runs (and no warm-up) to keep the suite bounded.
    """

    label: str
    action: Callable[[], Sample]
    runs: int
    warmup: bool = True
    note: str = ""


def command(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    before: Callable[[], None] | None = None,
    output: Path | None = None,
) -> Callable[[], Sample]:
    """An action that runs `argv` (after `before`, which is not timed).

    With `output`, standard output goes to that file (the last run's stays).
    """

    def action() -> Sample:
        if before is not None:
            before()
        if output is None:
            return run_once(argv, cwd=cwd, env=env, timeout=timeout)
        with output.open("wb") as stream:
            return run_once(argv, cwd=cwd, env=env, timeout=timeout, stdout=stream)

    return action


def measure(rows: Sequence[Row]) -> dict[str, Series]:
    """Run the rows in turns (a, b, c, a, b, c...), so drift hits them alike.

    Warm-ups come first, uncounted. A row whose run fails or times out is not
    run again: repeating it tells nothing new.
    """
    stopped: dict[str, Sample] = {}
    for row in rows:
        if row.warmup:
            first = row.action()
            if first.timed_out or first.returncode != 0:
                stopped[row.label] = first
    results: dict[str, list[Sample]] = {
        row.label: [stopped[row.label]] if row.label in stopped else [] for row in rows
    }
    for round_number in range(max(row.runs for row in rows)):
        for row in rows:
            if row.label in stopped or round_number >= row.runs:
                continue
            sample = row.action()
            results[row.label].append(sample)
            if sample.timed_out or sample.returncode != 0:
                stopped[row.label] = sample
    return {
        row.label: Series(row.label, tuple(results[row.label]), row.note)
        for row in rows
    }
