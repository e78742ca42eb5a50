"""Probing service ports from inside a job's network, for an engine elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from minirunner.executors.docker_run import run_container

if TYPE_CHECKING:
    from docker import APIClient

PROBE_IMAGE = "minirunner/python:3.11"
PROBE = """
import socket, sys, time

deadline = time.monotonic() + float(sys.argv[1])
pending = [each.rsplit(":", 1) for each in sys.argv[2:]]
while pending:
    left = []
    for host, port in pending:
        try:
            socket.create_connection((host, int(port)), timeout=0.5).close()
            print(f"ready {host}:{port}", flush=True)
        except OSError:
            left.append((host, port))
    pending = left
    if not pending or time.monotonic() >= deadline:
        break
    time.sleep(0.05)
"""


def probe_ports(
    api: APIClient,
    image: str,
    *,
    network: str,
    labels: Mapping[str, str],
    name: str,
    addresses: Sequence[tuple[str, int]],
    timeout_s: float,
    cancel: threading.Event,
) -> set[tuple[str, int]]:
    """The addresses that accepted a connection from a container on `network`."""
    import docker

    created = api.create_container(
        image,
        command=[
            "python3",
            "-c",
            PROBE,
            str(timeout_s),
            *(f"{host}:{port}" for host, port in addresses),
        ],
        labels=dict(labels),
        name=name,
        host_config=api.create_host_config(network_mode=network),
    )
    lines: list[str] = []
    try:
        run_container(
            api,
            created["Id"],
            emit=lines.append,
            timeout_s=timeout_s + 10,
            cancel=cancel,
        )
    finally:
        try:
            api.remove_container(created["Id"], v=True, force=True)
        except docker.errors.NotFound:
            pass
    answered: set[tuple[str, int]] = set()
    for line in "".join(lines).splitlines():
        if line.startswith("ready "):
            host, _, port = line.removeprefix("ready ").rpartition(":")
            answered.add((host, int(port)))
    return answered
