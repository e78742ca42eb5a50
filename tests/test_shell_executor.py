"""The shell executor runs scripts as GitLab's shell executor does."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from minirunner.config.model import Job
from minirunner.executors.base import JobRequest
from minirunner.executors.script import runs_docker
from minirunner.executors.shell import ShellExecutor


def run(tmp_path: Path, job: Job, *, timeout: float = 30, **env: str):
    lines: list[str] = []
    checkout = tmp_path / "build"
    scratch = tmp_path / "tmp"
    checkout.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    request = JobRequest(
        job=job,
        env=env,
        checkout=checkout,
        project_dir=str(checkout),
        scratch=scratch,
        timeout_s=timeout,
        emit=lines.append,
    )
    outcome = ShellExecutor().run(request)
    return outcome, "".join(lines).splitlines(), request


def test_commands_are_echoed_and_run_in_one_shell(tmp_path: Path) -> None:
    job = Job(
        name="j",
        stage="test",
        before_script=("export GREETING=hello",),
        script=('echo "$GREETING $WHO"', "pwd"),
    )
    outcome, lines, _ = run(tmp_path, job, WHO="world")
    assert outcome.status == "success" and outcome.exit_code == 0
    assert lines == [
        "\x1b[32;1m$ export GREETING=hello\x1b[0;m",
        '\x1b[32;1m$ echo "$GREETING $WHO"\x1b[0;m',
        "hello world",
        "\x1b[32;1m$ pwd\x1b[0;m",
        str(tmp_path / "build"),
    ]


def test_first_failing_command_ends_the_script(tmp_path: Path) -> None:
    job = Job(name="j", stage="test", script=("echo one", "exit 3", "echo never"))
    outcome, lines, _ = run(tmp_path, job)
    assert (outcome.status, outcome.exit_code) == ("failed", 3)
    assert "one" in lines and "never" not in lines


def test_a_failure_inside_a_pipe_fails_the_job(tmp_path: Path) -> None:
    job = Job(name="j", stage="test", script=("false | cat", "echo after"))
    outcome, lines, _ = run(tmp_path, job)
    assert outcome.status == "failed"
    assert "after" not in lines


def test_a_shell_killed_by_a_signal_exits_128_plus_the_signal(tmp_path: Path) -> None:
    job = Job(name="j", stage="test", script=("kill -9 $$",))
    outcome, _, _ = run(tmp_path, job)
    assert (outcome.status, outcome.exit_code, outcome.message) == (
        "failed",
        137,
        "exit code 137",
    )


def test_after_script_runs_in_a_new_shell_with_the_status(tmp_path: Path) -> None:
    job = Job(
        name="j",
        stage="test",
        script=("MINE=set-in-script", "false"),
        after_script=('echo "status=[$CI_JOB_STATUS] mine=[$MINE]"', "exit 9"),
    )
    outcome, lines, _ = run(tmp_path, job)
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert "status=[failed] mine=[]" in lines
    assert "WARNING: after_script failed, but the job goes on" in lines


def test_timeout_stops_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "survivor"
    job = Job(
        name="j",
        stage="test",
        script=(f"(sleep 3; touch {marker}) &", "sleep 30"),
    )
    started = time.monotonic()
    outcome, _, _ = run(tmp_path, job, timeout=0.5)
    assert outcome.status == "failed"
    assert outcome.message == "execution took longer than 0.5s"
    assert time.monotonic() - started < 5
    time.sleep(3.5)
    assert not marker.exists()


def test_cancel_stops_the_job_and_after_script_sees_canceled(tmp_path: Path) -> None:
    job = Job(
        name="j",
        stage="test",
        script=("sleep 30",),
        after_script=('echo "after=$CI_JOB_STATUS"',),
    )
    lines: list[str] = []
    (tmp_path / "b").mkdir()
    (tmp_path / "t").mkdir()
    request = JobRequest(
        job=job,
        env={},
        checkout=tmp_path / "b",
        project_dir=str(tmp_path / "b"),
        scratch=tmp_path / "t",
        timeout_s=60,
        emit=lines.append,
    )
    threading.Timer(0.3, request.cancel.set).start()
    outcome = ShellExecutor().run(request)
    assert outcome.status == "canceled"
    assert "after=canceled" in "".join(lines).splitlines()


def test_user_ci_variables_do_not_leak_into_jobs(tmp_path: Path) -> None:
    os.environ["CI_COMMIT_BRANCH"] = "from-my-shell"
    try:
        job = Job(name="j", stage="test", script=('echo "[$CI_COMMIT_BRANCH]"',))
        _, lines, _ = run(tmp_path, job)
    finally:
        del os.environ["CI_COMMIT_BRANCH"]
    assert lines[-1] == "[]"


@pytest.mark.parametrize(
    ("line", "runs"),
    [
        ("docker build -t app .", True),
        ("make && docker push $IMAGE", True),
        ("TAG=1 docker run --rm app", True),
        ("id=$(docker ps -q)", True),
        ("if true; then sudo docker rmi app; fi", True),
        ("docker-compose up -d", True),
        ('echo "see https://docs.docker.com/"', False),
        ("echo built by docker", False),
        ("cat Dockerfile dockerfiles/a", False),
    ],
)
def test_a_script_runs_docker_only_where_a_shell_would_run_it(
    line: str, runs: bool
) -> None:
    assert runs_docker(["echo start", line]) is runs
