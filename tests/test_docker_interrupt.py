"""Ctrl-C and SIGTERM during a Docker job: canceled, after_script, nothing left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import pytest
from conftest import MakeRepo, git
from docker_support import PYTHON_IMAGE, require_image
from repo_guard import guard_make_repo

from minirunner.executors.docker import RUN_LABEL, DockerExecutor
from minirunner.output import Console

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

pytestmark = pytest.mark.docker

PIPELINE = f"""
stages: [test, deploy]

interrupted:
  stage: test
  image: {PYTHON_IMAGE}
  script:
    - echo started
    - sleep 30
    - echo never
  after_script:
    - echo "after_script sees $CI_JOB_STATUS"

later:
  stage: deploy
  image: {PYTHON_IMAGE}
  script:
    - echo never either
"""
START_TIMEOUT_S = 60.0
CLEAN_S = 10.0


def labelled(client: docker.DockerClient, run: str) -> set[str]:
    """The containers, networks and volumes labelled with run id `run`."""
    label = {"label": f"{RUN_LABEL}={run}"}
    return (
        {f"container {c.name}" for c in client.containers.list(True, filters=label)}
        | {f"network {n.name}" for n in client.networks.list(filters=label)}
        | {f"volume {v.name}" for v in client.volumes.list(filters=label)}
    )


def run_of_job(client: docker.DockerClient, job: str) -> str:
    """The run label of the one container of a job that exists now."""
    filters = {"label": f"minirunner.job={job}"}
    runs = {each.labels[RUN_LABEL] for each in client.containers.list(filters=filters)}
    assert len(runs) == 1, runs
    run: str = runs.pop()
    return run


def start_run(repo: Path, tmp_path: Path) -> subprocess.Popen[str]:
    """`minirunner run --executor docker` in the background, its output piped."""
    env = {
        **os.environ,
        "MINIRUNNER_STATE_DIR": str(tmp_path / "state"),
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "NO_COLOR": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "minirunner", "run", "--executor", "docker"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def ended(process: subprocess.Popen[str]) -> Iterator[None]:
    """Kill the run if the test leaves it running."""
    try:
        yield
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_line(process: subprocess.Popen[str], wanted: str) -> list[str]:
    """The lines of stdout up to and including the first that ends with `wanted`."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if line.rstrip("\n").endswith(wanted):
            return seen
    process.kill()
    _, stderr = process.communicate()
    raise AssertionError(f"no line ending with {wanted!r}: {seen}\n{stderr}")


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
)
def test_a_signal_cancels_the_docker_job_runs_after_script_and_removes_all(
    signum: signal.Signals,
    status: int,
    make_repo: MakeRepo,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    process = start_run(repo, tmp_path)
    with ended(process):
        head = wait_for_line(process, "| $ sleep 30")
        run = run_of_job(docker_client, "interrupted")
        made = labelled(docker_client, run)
        process.send_signal(signum)
        signalled = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
    while labelled(docker_client, run) and time.monotonic() - signalled < CLEAN_S:
        time.sleep(0.1)
    cleaned_s = time.monotonic() - signalled

    assert process.returncode == status, stdout + stderr
    prefix = f"minirunner-{run}"
    expected = {
        f"container {prefix}-1-interrupted-build",
        f"container {prefix}-netns-1",
        f"network {prefix}-jobs",
    }
    if os.geteuid() != 0:
        # Without root the checkout is copied in, and after_script needs a volume.
        expected.add(f"volume {prefix}-1-interrupted-builds")
    assert made == expected
    assert labelled(docker_client, run) == set()
    assert cleaned_s < CLEAN_S
    lines = head + stdout.splitlines()
    started = lines.index("interrupted | started")
    assert lines[started:][:6] == [
        "interrupted | started",
        "interrupted | $ sleep 30",
        "interrupted | Running after_script",
        'interrupted | $ echo "after_script sees $CI_JOB_STATUS"',
        "interrupted | after_script sees canceled",
        "interrupted | ERROR: Job canceled",
    ]
    table = [line.split() for line in lines[started + 7 : started + 10]]
    assert [row[:3] for row in table] == [
        ["job", "stage", "status"],
        ["interrupted", "test", "canceled"],
        ["later", "deploy", "canceled"],
    ]
    assert table[2][3] == "-"
    assert lines[-1].startswith("Pipeline #1 canceled in ")
    assert lines[-1].endswith(
        f": 2 canceled (commit {git(repo, 'rev-parse', 'HEAD')[:8]})"
    )
    warning = (
        "Warning: canceling the pipeline (after_script still runs; "
        "press Ctrl-C again to stop at once)\n"
    )
    # After a hangup there is no terminal to tell.
    assert stderr == ("" if signum == signal.SIGHUP else warning)


@pytest.mark.parametrize("gap_s", [0.3, 1.0])
def test_a_second_ctrl_c_stops_at_once_and_still_removes_all(
    gap_s: float,
    make_repo: MakeRepo,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    process = start_run(repo, tmp_path)
    with ended(process):
        wait_for_line(process, "| $ sleep 30")
        run = run_of_job(docker_client, "interrupted")
        process.send_signal(signal.SIGINT)
        time.sleep(gap_s)
        process.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
    while labelled(docker_client, run) and time.monotonic() - signalled < CLEAN_S:
        time.sleep(0.1)

    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert labelled(docker_client, run) == set()


def test_what_a_killed_run_left_is_removed_by_the_next_run(
    make_repo: MakeRepo, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    process = start_run(repo, tmp_path)
    with ended(process):
        wait_for_line(process, "| $ sleep 30")
        run = run_of_job(docker_client, "interrupted")
        process.kill()
        process.communicate()
    left = labelled(docker_client, run)
    assert f"container minirunner-{run}-1-interrupted-build" in left

    DockerExecutor(Console(), client=docker_client).close()

    assert labelled(docker_client, run) == set()
