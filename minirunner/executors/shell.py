"""The shell executor: a job runs on this machine, as with GitLab's shell executor."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping

from minirunner.executors.base import AFTER_SCRIPT_TIMEOUT_S, JobOutcome, JobRequest
from minirunner.executors.process import ProcessResult, job_outcome, run_process
from minirunner.executors.script import build_script
from minirunner.snapshot import REPOSITORY_VARIABLES

# Variables of the user's own shell that must not leak into a job: a job sees
# GitLab's values for these, or none at all (e.g. CI_COMMIT_BRANCH in a tag pipeline).
HIDDEN_PREFIXES = ("CI_", "GITLAB_")
# Set by git for a hook that runs minirunner, they would point a job's git commands
# at the user's repository and index.
HIDDEN_GIT = REPOSITORY_VARIABLES | {"GIT_CEILING_DIRECTORIES"}


def host_environment() -> dict[str, str]:
    """The user's environment, less what would contradict the pipeline's variables."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(HIDDEN_PREFIXES) and key != "CI" and key not in HIDDEN_GIT
    }


def job_environment(request: JobRequest) -> dict[str, str]:
    """What a job's scripts see: the user's environment and the job's variables.

    The job's folder lies inside the user's working tree; git must never climb
    out of it to the user's repository, even when a job removes its `.git`.
    """
    env = {**host_environment(), **request.env}
    env["GIT_CEILING_DIRECTORIES"] = str(request.checkout.parent)
    return env


def find_shell() -> str:
    """bash when the machine has it, as GitLab's shell executor prefers, else sh."""
    return shutil.which("bash") or "/bin/sh"


class ShellExecutor:
    """Runs each job as a process group on the host, in the job's own checkout."""

    name = "shell"
    checkout_on_host = True

    def __init__(self) -> None:
        self.shell = find_shell()

    def run(self, request: JobRequest) -> JobOutcome:
        """Run before_script + script in one shell, after_script in another."""
        job = request.job
        env = job_environment(request)
        commands = (*job.before_script, *job.script)
        main = self._run_script(
            request, "script", commands, env, request.timeout_s, request.cancel
        )
        outcome = job_outcome(main, request.timeout_s)
        if job.after_script:
            after_env = {**env, "CI_JOB_STATUS": outcome.status}
            request.emit("Running after_script\n")
            after = self._run_script(
                request,
                "after_script",
                job.after_script,
                after_env,
                AFTER_SCRIPT_TIMEOUT_S,
                request.abort,
            )
            if after.exit_code not in (0, None) or after.timed_out:
                request.emit("WARNING: after_script failed, but the job goes on\n")
        return outcome

    def _run_script(
        self,
        request: JobRequest,
        label: str,
        commands: tuple[str, ...],
        env: Mapping[str, str],
        timeout_s: float,
        cancel: threading.Event,
    ) -> ProcessResult:
        if not request.checkout.is_dir():
            # The script removed its own folder; `cd` into it would fail on GitLab.
            request.emit(f"ERROR: {label}: the project folder is gone\n")
            return ProcessResult(1)
        request.scratch.mkdir(parents=True, exist_ok=True)
        path = request.scratch / f"{label}.sh"
        path.write_text(build_script(commands, self.shell))
        path.chmod(0o700)
        return run_process(
            [self.shell, str(path)],
            cwd=request.checkout,
            env=env,
            emit=request.emit,
            timeout_s=timeout_s,
            cancel=cancel,
        )

    def close(self) -> None:
        """Nothing is held between jobs."""
