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
# What the Docker registry (distribution) sends with every answer, lowered.
REGISTRY_HEADER = b"docker-distribution-api-version: registry/2.0"


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
    """Whether a registry answers on the port: 401 without our password, 200 with.

    A registry says what it is in a header; anything else that listens on the
    port is not given the password.
    """
    status, headers = _get_v2(info, authorization=None)
    if status != b"401" or REGISTRY_HEADER not in headers:
        return False
    token = base64.b64encode(f"{info.user}:{info.password}".encode()).decode()
    status, _ = _get_v2(info, authorization=f"Basic {token}")
    return status == b"200"


def _get_v2(info: RegistryInfo, *, authorization: str | None) -> tuple[bytes, bytes]:
    """The status code and the lowered header lines of GET /v2/; empty on failure."""
    lines = ["GET /v2/ HTTP/1.0", f"Host: {info.address}"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    request = "\r\n".join([*lines, "", ""]).encode()
    try:
        with socket.create_connection(
            (BIND_IP, info.port), timeout=PROBE_TIMEOUT
        ) as connection:
            connection.sendall(request)
            answer = connection.makefile("rb")
            status = answer.readline().split(b" ")[1:2]
            headers = []
            for line in answer:
                if not line.strip():
                    break
                headers.append(line.strip().lower())
    except OSError:
        return b"", b""
    return (status[0] if status else b""), b"\n".join(headers)


def _record_path(name: str) -> Path:
    return state_dir() / "registry" / f"{name}.json"
