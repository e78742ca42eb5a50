"""The Docker executor against a second engine reached over TCP, as a remote one.

The second engine runs on this machine but is reached at tcp://127.0.0.1:PORT,
so the executor treats it as remote: checkouts go in by put_archive and come back
by get_archive, and services are probed from a container on the job's network.
It has its own data root, exec root, pid file, socket and bridge, and no iptables
rules of its own, so that the first engine is left alone (a `--bridge none` would
delete `docker0`, see /work/shared/ENVIRONMENT.md). One engine serves the module.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from conftest import MakeRepo
from docker_support import PYTHON_IMAGE, free_port, require_image, unavailable

from minirunner.context import Options, load_context
from minirunner.executors.docker import RUN_LABEL
from minirunner.output import Console
from minirunner.plan import make_plan
from minirunner.results import PipelineResult
from minirunner.runner import PipelineRun, RunSettings

pytestmark = pytest.mark.docker

# An image only the second engine has: a job of it can only run there.
REMOTE_ONLY = "minirunner-test/remote-only:1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
# Addresses of the second engine's bridge (10.215.X.1/24) and networks, apart from
# the first's; forward_rule lets traffic between them through the first engine's
# FORWARD policy DROP, since the second engine makes no iptables rules of its own.
ADDRESS_POOL = "base=10.214.0.0/16,size=24"
ADDRESSES = "10.214.0.0/15"
TMPFS_OPTIONS = "size=2g,mode=0700"


@dataclass
class RemoteEngine:
    """A second engine: its TCP address and a client of it."""

    host: str
    client: docker.DockerClient


def bridge_address() -> str:
    """A 10.215.X.1/24 address that no route of this machine covers yet."""
    routes = subprocess.run(
        ["ip", "-4", "route"], capture_output=True, text=True, check=True
    ).stdout
    for third in range(10, 250):
        if f"10.215.{third}." not in routes:
            return f"10.215.{third}.1/24"
    raise AssertionError("no free 10.215.X.0/24 subnet for the second engine")


def forward_rule(bridge: str) -> list[str]:
    """The iptables arguments, after -I or -D, of the test's FORWARD rule."""
    return [
        "FORWARD",
        *("-s", ADDRESSES, "-d", ADDRESSES),
        *("-m", "comment", "--comment", f"minirunner-test-{bridge}"),
        *("-j", "ACCEPT"),
    ]


def start_engine(folder: Path, bridge: str, port: int) -> subprocess.Popen[bytes]:
    """Start dockerd with everything of its own below `folder`."""
    # Its own (empty) configuration file: this machine's daemon.json is the first's.
    (folder / "daemon.json").write_text("{}\n")
    with (folder / "dockerd.log").open("wb") as log:
        return subprocess.Popen(
            [
                "dockerd",
                f"--config-file={folder / 'daemon.json'}",
                f"--data-root={folder / 'data'}",
                f"--exec-root={folder / 'exec'}",
                f"--pidfile={folder / 'docker.pid'}",
                f"--host=unix://{folder / 'docker.sock'}",
                f"--host=tcp://127.0.0.1:{port}",
                f"--bridge={bridge}",
                "--iptables=false",
                f"--default-address-pool={ADDRESS_POOL}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_engine(
    process: subprocess.Popen[bytes], folder: Path, host: str
) -> docker.DockerClient:
    """A client of the engine once it answers; fails with its log if it does not."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return docker.DockerClient(base_url=host, timeout=10)
        except docker.errors.DockerException:
            time.sleep(0.1)
    tail = (folder / "dockerd.log").read_text(errors="replace")[-2000:]
    raise AssertionError(f"the second engine did not start:\n{tail}")


def stop_engine(process: subprocess.Popen[bytes], folder: Path) -> None:
    """Stop dockerd (and its containerd), and unmount what it left below `folder`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    containerd = folder / "exec" / "containerd" / "containerd.pid"
    if containerd.is_file():
        try:
            os.kill(int(containerd.read_text().strip()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    mounts = [
        line.split()[1]
        for line in Path("/proc/mounts").read_text().splitlines()
        if line.split()[1].startswith(str(folder) + "/")
    ]
    for mount in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)


def mount_tmpfs(folder: Path) -> bool:
    """Put a tmpfs at `folder`; False (and the disk) when that is not possible."""
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", TMPFS_OPTIONS, "minirunner-test", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def load_image(env: dict[str, str], name: str, socket: Path) -> None:
    """`docker save | docker load` an image into the second engine (4 to 8 s)."""
    save = subprocess.Popen(["docker", "save", name], stdout=subprocess.PIPE, env=env)
    load = subprocess.run(
        ["docker", "-H", f"unix://{socket}", "load", "-q"],
        stdin=save.stdout,
        capture_output=True,
        check=False,
    )
    assert save.stdout is not None
    save.stdout.close()
    assert save.wait() == 0 and load.returncode == 0, load.stderr


@pytest.fixture(scope="module")
def remote_engine(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RemoteEngine]:
    """A second engine at tcp://127.0.0.1:PORT with minirunner/python:3.11 loaded.

    The engine, its folders and its bridge are removed at the end, always.
    """
    require_image(docker_client, PYTHON_IMAGE)
    tools = ("dockerd", "ip", "iptables")
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in tools):
        unavailable("a second Docker engine needs root, dockerd, ip and iptables")
    folder = tmp_path_factory.mktemp("engine")
    bridge = f"mr{uuid.uuid4().hex[:10]}"
    host = f"tcp://127.0.0.1:{free_port()}"
    process: subprocess.Popen[bytes] | None = None
    mounted = False
    try:
        # In memory: the image loads faster and goes away at once with the unmount.
        mounted = mount_tmpfs(folder)
        subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
        address = bridge_address()
        subprocess.run(["ip", "addr", "add", address, "dev", bridge], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
        subprocess.run(["iptables", "-I", *forward_rule(bridge)], check=True)
        process = start_engine(folder, bridge, int(host.rpartition(":")[2]))
        client = wait_for_engine(process, folder, host)
        try:
            local_env = dict(os.environ)
            if not docker_client.api.base_url.startswith("http+docker://"):
                local_env["DOCKER_HOST"] = docker_client.api.base_url
            load_image(local_env, PYTHON_IMAGE, folder / "docker.sock")
            client.api.tag(PYTHON_IMAGE, REMOTE_ONLY)
            yield RemoteEngine(host, client)
        finally:
            client.close()
    finally:
        if process is not None:
            stop_engine(process, folder)
        subprocess.run(
            ["ip", "link", "delete", bridge], check=False, capture_output=True
        )
        subprocess.run(
            ["iptables", "-D", *forward_rule(bridge)], check=False, capture_output=True
        )
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def labelled(client: docker.DockerClient) -> dict[str, list[str]]:
    """Names of everything an executor made (any run) in an engine."""
    label = {"label": RUN_LABEL}
    return {
        "containers": [
            each.name for each in client.containers.list(True, filters=label)
        ],
        "networks": [each.name for each in client.networks.list(filters=label)],
        "volumes": [each.name for each in client.volumes.list(filters=label)],
    }


NOTHING: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}


def run_pipeline(repo: Path) -> tuple[PipelineResult, Path]:
    """Run a repository's pipeline with the Docker executor; the result and run dir."""
    context = load_context(Options(cwd=repo), pipeline_id=1)
    plan = make_plan(context.config, context.inputs, context.variables, {})
    run_dir = repo / ".minirunner" / "runs" / "1"
    run_dir.mkdir(parents=True)
    settings = RunSettings(executor="docker", concurrency=2)
    console = Console(stream=io.StringIO())
    runner = PipelineRun(context, plan, settings, console, 1, run_dir)
    return runner.run(install_signals=False), run_dir


@pytest.fixture
def on_remote(
    remote_engine: RemoteEngine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RemoteEngine]:
    """DOCKER_HOST set to the second engine; it must be left clean by the test."""
    monkeypatch.setenv("DOCKER_HOST", remote_engine.host)
    yield remote_engine
    assert labelled(remote_engine.client) == NOTHING


ARTIFACTS_PIPELINE = f"""
stages: [build, test]

make:
  stage: build
  image: {REMOTE_ONLY}
  script:
    - mkdir out
    - echo "made from $(cat data.txt)" > out/result.txt
    - grep -q " $CI_PROJECT_DIR " /proc/mounts && echo mounted || echo copied
  after_script:
    - echo "after_script sees $(cat out/result.txt)"
  artifacts:
    paths: [out/]

use:
  stage: test
  image: {REMOTE_ONLY}
  script:
    - cat out/result.txt
"""


def test_artifacts_come_back_from_a_remote_engine_and_reach_later_jobs(
    on_remote: RemoteEngine, make_repo: MakeRepo
) -> None:
    repo = make_repo({".gitlab-ci.yml": ARTIFACTS_PIPELINE, "data.txt": "the repo\n"})

    result, run_dir = run_pipeline(repo)

    assert [(job.name, job.status) for job in result.jobs] == [
        ("make", "success"),
        ("use", "success"),
    ]
    stored = run_dir / "artifacts" / "make" / "out" / "result.txt"
    assert stored.read_text() == "made from the repo\n"
    make_log = (run_dir / "make.log").read_text().splitlines()
    assert "copied" in make_log and "mounted" not in make_log
    assert "after_script sees made from the repo" in make_log
    use_log = (run_dir / "use.log").read_text().splitlines()
    assert use_log[-3:] == [
        "$ cat out/result.txt",
        "made from the repo",
        "Job succeeded",
    ]


SERVICE_PIPELINE = f"""
fetch:
  image: {REMOTE_ONLY}
  services:
    - name: {REMOTE_ONLY}
      alias: web
      command: [python3, -m, http.server, "8000"]
      variables:
        HEALTHCHECK_TCP_PORT: "8000"
  script:
    - >-
      python3 -c 'import urllib.request as u;
      print(u.urlopen("http://web:8000/", timeout=9).status)'
"""


def test_a_service_of_a_remote_engine_is_waited_for_and_reached_by_alias(
    on_remote: RemoteEngine, make_repo: MakeRepo
) -> None:
    repo = make_repo({".gitlab-ci.yml": SERVICE_PIPELINE})

    result, run_dir = run_pipeline(repo)

    assert [(job.name, job.status) for job in result.jobs] == [("fetch", "success")]
    log = (run_dir / "fetch.log").read_text().splitlines()
    assert log[2:4] == [
        f"Starting service {REMOTE_ONLY} ...",
        "Waiting for services to be up and running (timeout 30 seconds)...",
    ]
    assert log[-2:] == ["200", "Job succeeded"]
    assert [line for line in log if "WARNING" in line] == []
