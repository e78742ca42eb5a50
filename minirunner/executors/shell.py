"""The shell executor: a job runs on this machine, as with GitLab's shell executor."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping

from minirunner.executors.base import AFTER_SCRIPT_TIMEOUT_S, JobOutcome, JobRequest
from minirunner.executors.process import ProcessResult, job_outcome, run_process
from minirunner.executors.script import build_script

# Variables of the user's own shell that must not leak into a job: a job sees
# GitLab's values for these, or none at all (e.g. CI_COMMIT_BRANCH in a tag pipeline).
HIDDEN_PREFIXES = ("CI_", "GITLAB_")


def host_environment() -> dict[str, str]:
    """The user's environment, less what would contradict the pipeline's variables."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(HIDDEN_PREFIXES) and key != "CI"
    }


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
        env = {**host_environment(), **request.env}
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
