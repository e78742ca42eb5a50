"""What every executor takes and gives back: a job request in, an outcome out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from minirunner.config.model import Job

LineSink = Callable[[str], None]


@dataclass(frozen=True)
class JobRequest:
    """Everything an executor needs to run one job.

    `cancel` stops the job's script (after_script still runs, as on GitLab);
    `abort` also stops after_script (a second Ctrl-C). `files` maps each
    file-type variable to the host file that holds its value.
    """

    job: Job
    env: Mapping[str, str]
    checkout: Path
    project_dir: str
    scratch: Path
    timeout_s: float
    emit: LineSink
    cancel: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    artifacts_in: Path | None = None
    files: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended. `status` is success, failed or canceled."""

    status: str
    exit_code: int | None
    message: str | None = None


class Executor(Protocol):
    """Runs the scripts of one job and tears down what it started."""

    name: str

    @property
    def checkout_on_host(self) -> bool:
        """Whether jobs see the checkout where it is on this machine.

        Such a checkout borrows the user's objects (git alternates), which the
        job then reads in place, never writes; otherwise it holds its own.
        """
        ...

    def run(self, request: JobRequest) -> JobOutcome:
        """Run the scripts, then after_script; job failures are outcomes."""
        ...

    def close(self) -> None:
        """Release what the executor holds for the whole pipeline."""
        ...


AFTER_SCRIPT_TIMEOUT_S = 300.0
"""GitLab gives after_script its own 5-minute limit."""
