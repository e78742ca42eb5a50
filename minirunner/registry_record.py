"""Where the local registry runs, remembered so that a run finds it in one request.

Starting or inspecting the registry container takes the engine and its SDK;
once started, its address is kept in the state folder, and a run that finds it
answering there with our password needs neither.
"""

from __future__ import annotations

import base64
import json
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from minirunner.state import state_dir

CONTAINER_NAME = "minirunner-registry"
VOLUME_NAME = "minirunner-registry-data"
# The engine pushes over plain HTTP only to 127.0.0.0/8 addresses, and publishing on
# loopback alone keeps the registry away from the network.
BIND_IP = "127.0.0.1"
# A registry that is up answers on loopback within milliseconds.
PROBE_TIMEOUT = 1.0


@dataclass(frozen=True)
class RegistryInfo:
    """A running local registry and the credentials it accepts."""

    address: str
    host: str
    port: int
    user: str
    password: str
    container: str
    volume: str
    image: str

    @property
    def url(self) -> str:
        """The registry's base URL for HTTP clients on this machine."""
        return f"http://{BIND_IP}:{self.port}"


def password_path() -> Path:
    """The file holding the registry's password (mode 0600)."""
    return state_dir() / "registry" / "password"


def record(info: RegistryInfo) -> None:
    """Remember where the registry is; never its password."""
    fields = asdict(info)
    del fields["password"]
    path = _record_path(info.container)
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(fields))
    staging.replace(path)


def forget(name: str) -> None:
    """The registry `name` is gone: drop its record."""
    _record_path(name).unlink(missing_ok=True)


def has_record(name: str) -> bool:
    """Whether a registry was started under `name` since it was last taken down."""
    return _record_path(name).is_file()


def recorded_registry(name: str) -> RegistryInfo | None:
    """The registry recorded under `name`, when it answers with our password."""
    try:
        fields = json.loads(_record_path(name).read_text())
        password = password_path().read_text().strip()
        info = RegistryInfo(**fields, password=password)
    except (OSError, ValueError, TypeError):
        return None
    return info if _accepts(info) else None


def _accepts(info: RegistryInfo) -> bool:
    """Whether GET /v2/ with the credentials gets 200 from the registry."""
    token = base64.b64encode(f"{info.user}:{info.password}".encode()).decode()
    request = (
        f"GET /v2/ HTTP/1.0\r\nHost: {info.address}\r\n"
        f"Authorization: Basic {token}\r\n\r\n"
    )
    try:
        with socket.create_connection(
            (BIND_IP, info.port), timeout=PROBE_TIMEOUT
        ) as connection:
            connection.sendall(request.encode())
            status_line = connection.makefile("rb").readline()
    except OSError:
        return False
    return status_line.split(b" ")[1:2] == [b"200"]


def _record_path(name: str) -> Path:
    return state_dir() / "registry" / f"{name}.json"
