"""Fixtures and helpers for tests that use the real Docker engine.

Registered in tests/conftest.py with `pytest_plugins = ["docker_support"]`. Every
container, image and volume a test makes is removed afterwards, even on failure.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from minirunner.engine import connect, image_present
from minirunner.errors import DockerUnavailable
from minirunner.registry import ensure_registry, registry_down
from minirunner.registry_record import RegistryInfo

PYTHON_IMAGE = "minirunner/python:3.11"
REGISTRY_IMAGE = "minirunner/registry:2"
REPO_ROOT = Path(__file__).resolve().parent.parent


def unique(prefix: str) -> str:
    """Return a name no other test run uses, e.g. for a container or volume."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    """Return a TCP port that nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unavailable(reason: str) -> None:
    """Skip a test that needs what this machine lacks; under CI (CI set), fail it."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it: see scripts/setup)")
    pytest.skip(reason)


def require_image(client: docker.DockerClient, name: str) -> None:
    """Skip the test when an offline image is missing, saying how to build it."""
    if not image_present(client, name):
        unavailable(f"{name} is missing: run scripts/build-offline-images")


@dataclass
class Cleanup:
    """What a test made in the engine, removed in reverse order at its end."""

    client: docker.DockerClient
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def remove_all(self) -> None:
        """Remove containers (with their anonymous volumes), images, then volumes."""
        api = self.client.api
        for name in reversed(self.containers):
            _ignore_missing(api.remove_container, name, v=True, force=True)
        for name in reversed(self.images):
            _ignore_missing(api.remove_image, name, force=True)
        for name in reversed(self.volumes):
            _ignore_missing(api.remove_volume, name, force=True)


def _ignore_missing(remove: Callable[..., object], name: str, **options: bool) -> None:
    try:
        remove(name, **options)
    except docker.errors.NotFound:
        pass


def build_tiny_image(client: docker.DockerClient, tag: str, cleanup: Cleanup) -> str:
    """Build `tag` FROM scratch holding one small file (no pull); return its id."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        for name, text in {
            "Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
            "hello.txt": f"hello from {tag}\n",
        }.items():
            data = text.encode()
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    context.seek(0)
    cleanup.images.append(tag)
    image, _ = client.images.build(
        fileobj=context, custom_context=True, tag=tag, rm=True
    )
    return str(image.id)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the real engine; tests that need it skip when it does not answer."""
    try:
        client = connect()
    except DockerUnavailable as error:
        unavailable(str(error))
    yield client
    client.close()


@pytest.fixture
def docker_cleanup(docker_client: docker.DockerClient) -> Iterator[Cleanup]:
    """Record names in `.containers`, `.images`, `.volumes`; all are removed after."""
    cleanup = Cleanup(docker_client)
    yield cleanup
    cleanup.remove_all()


@pytest.fixture
def minirunner_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """minirunner's state directory, private to the test."""
    path = tmp_path / "state"
    monkeypatch.setenv("MINIRUNNER_STATE_DIR", str(path))
    return path


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A docker CLI configuration directory private to the test (logins, contexts)."""
    path = tmp_path / "docker-config"
    path.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    return path


@pytest.fixture
def registry_names(
    docker_client: docker.DockerClient, minirunner_state: Path
) -> Iterator[tuple[str, str]]:
    """A registry container name and volume name for this test; both removed after.

    It needs the private state directory, so that this stays set until removal.
    """
    name, volume = unique("minirunner-test-registry"), unique("minirunner-test-data")
    yield name, volume
    registry_down(docker_client, name=name, volume=volume, remove_data=True)


@pytest.fixture
def registry(
    docker_client: docker.DockerClient,
    minirunner_state: Path,
    registry_names: tuple[str, str],
) -> RegistryInfo:
    """A running registry of the test's own (container, volume, port, password)."""
    require_image(docker_client, REGISTRY_IMAGE)
    name, volume = registry_names
    return ensure_registry(
        docker_client, image=REGISTRY_IMAGE, port=free_port(), name=name, volume=volume
    )
