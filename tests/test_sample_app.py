"""The sample service serves over real HTTP when run as `python -m sample_project`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from docker_support import REPO_ROOT, free_port


def get_json(url: str) -> tuple[int, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.load(response)


def wait_until_serving(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            get_json(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
            continue
        return
    raise AssertionError(f"nothing answers at {url}")


@pytest.fixture
def server_port() -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "APP_VERSION": "3.1.4",
        "PYTHONPATH": str(REPO_ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "sample_project"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/healthz", server)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=10)
    assert server.returncode == 0


def test_the_server_answers_on_host_and_port_from_the_environment(
    server_port: int,
) -> None:
    index = get_json(f"http://127.0.0.1:{server_port}/")
    health = get_json(f"http://127.0.0.1:{server_port}/healthz")

    assert index == (
        200,
        {
            "service": "server-app",
            "version": "3.1.4",
            "message": "Hello from server-app",
        },
    )
    assert health == (200, {"status": "ok"})
