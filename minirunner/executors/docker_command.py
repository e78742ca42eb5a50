"""The main command of a job container, and the job's outcome from how it ended."""

from __future__ import annotations

from collections.abc import Sequence

from minirunner.executors.base import JobOutcome
from minirunner.executors.process import ProcessResult
from minirunner.executors.script import build_script
from minirunner.executors.shell import format_seconds

# GitLab Runner's shell detection (bash where the image has it, else sh), with
# stderr joined to stdout so that the log keeps the order the script wrote in.
DETECT_SHELL = (
    "exec 2>&1; "
    "for shell in /usr/local/bin/bash /usr/bin/bash /bin/bash; do "
    'if [ -x "$shell" ]; then exec "$shell" -c "$1"; fi; done; '
    'exec sh -c "$2"'
)


def container_command(commands: Sequence[str], project_dir: str) -> list[str]:
    """The main command of a job container: the script in bash, or else in sh."""
    return [
        "sh",
        "-c",
        DETECT_SHELL,
        "sh",
        build_script(commands, "bash", project_dir),
        build_script(commands, "sh", project_dir),
    ]


def job_outcome(result: ProcessResult, timeout_s: float) -> JobOutcome:
    """The job's outcome from how its script's container ended."""
    if result.canceled:
        return JobOutcome("canceled", None, "canceled")
    if result.timed_out:
        return JobOutcome(
            "failed", None, f"the job timed out after {format_seconds(timeout_s)}"
        )
    if result.exit_code == 0:
        return JobOutcome("success", 0)
    return JobOutcome(
        "failed", result.exit_code, f"the script exited with {result.exit_code}"
    )
