"""Finding the registry from its record: no password for whatever holds the port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from minirunner import registry_record
from minirunner.registry_record import RegistryInfo, record, recorded_registry

NAME = "minirunner-test-record"


class Impostor(BaseHTTPRequestHandler):
    """Says 200 to every request and notes the credentials it was sent."""

    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        Impostor.seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def impostor() -> Iterator[int]:
    """A server on a loopback port that is not a registry; its port."""
    Impostor.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    (path / "registry").mkdir(parents=True)
    (path / "registry" / "password").write_text("s3cret-password\n")
    monkeypatch.setenv("MINIRUNNER_STATE_DIR", str(path))
    return path


def info_on(port: int) -> RegistryInfo:
    return RegistryInfo(
        address=f"localhost:{port}",
        host="localhost",
        port=port,
        user="gitlab-ci-token",
        password="s3cret-password",
        container=NAME,
        volume=f"{NAME}-data",
        image="registry:2",
    )


def test_the_record_keeps_where_the_registry_is_but_not_its_password(
    state: Path,
) -> None:
    record(info_on(5999))

    kept = json.loads((state / "registry" / f"{NAME}.json").read_text())
    assert kept == {
        "address": "localhost:5999",
        "host": "localhost",
        "port": 5999,
        "user": "gitlab-ci-token",
        "container": NAME,
        "volume": f"{NAME}-data",
        "image": "registry:2",
    }


def test_a_port_no_container_of_ours_publishes_is_no_registry(
    state: Path, impostor: int
) -> None:
    record(info_on(impostor))

    assert recorded_registry(NAME) is None
    assert Impostor.seen == []


def test_a_server_that_is_not_a_registry_never_gets_the_password(
    impostor: int,
) -> None:
    assert not registry_record._accepts(info_on(impostor))
    assert Impostor.seen == [None]


def test_nothing_listening_or_no_record_is_no_registry(state: Path) -> None:
    assert recorded_registry(NAME) is None
    record(info_on(1))
    assert recorded_registry(NAME) is None
