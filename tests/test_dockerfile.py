"""The repository's Dockerfile builds the sample service offline, and it serves."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

import docker
import pytest
from docker_support import (
    PYTHON_IMAGE,
    REPO_ROOT,
    Cleanup,
    free_port,
    require_image,
    unique,
)

pytestmark = pytest.mark.docker


def docker_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


def get_json(url: str) -> tuple[int, dict[str, str]]:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.load(response)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def server_image(docker_client: docker.DockerClient, docker_cleanup: Cleanup) -> str:
    require_image(docker_client, PYTHON_IMAGE)
    tag = unique("minirunner-test/server-app")
    docker_cleanup.images.append(tag)
    build = docker_cli(
        "build", "--force-rm", "--build-arg", f"BASE_IMAGE={PYTHON_IMAGE}",
        "-t", tag, ".",
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    return tag


def test_the_image_runs_the_service_on_port_8000(
    docker_client: docker.DockerClient, server_image: str
) -> None:
    config = docker_client.images.get(server_image).attrs["Config"]
    files = docker_cli("run", "--rm", server_image, "find", "/app", "-name", "*.py")

    assert config["ExposedPorts"] == {"8000/tcp": {}}
    assert config["Cmd"] == ["python3", "-m", "sample_project"]
    assert config["WorkingDir"] == "/app"
    # .dockerignore keeps the tests (and everything but the service) out.
    assert sorted(files.stdout.split()) == [
        "/app/sample_project/__init__.py",
        "/app/sample_project/__main__.py",
        "/app/sample_project/app.py",
    ]


def test_a_published_container_serves_on_the_host(
    server_image: str, docker_cleanup: Cleanup
) -> None:
    name, port = unique("minirunner-test-server"), free_port()
    docker_cleanup.containers.append(name)
    started = docker_cli(
        "run", "-d", "--name", name, "-p", f"{port}:8000",
        "-e", "APP_VERSION=9.9.9", server_image,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr

    index = get_json(f"http://127.0.0.1:{port}/")
    health = get_json(f"http://127.0.0.1:{port}/healthz")
    stopping = time.monotonic()
    stopped = docker_cli("stop", "-t", "10", name)
    state = docker_cli("inspect", "-f", "{{.State.ExitCode}}", name)

    assert index == (
        200,
        {
            "service": "server-app",
            "version": "9.9.9",
            "message": "Hello from server-app",
        },
    )
    assert health == (200, {"status": "ok"})
    assert stopped.returncode == 0
    # The server handles SIGTERM as process 1, so it stops without the 10 s kill.
    assert time.monotonic() - stopping < 5
    assert state.stdout.strip() == "0"
