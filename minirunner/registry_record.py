"""Where the local registry runs, remembered so that a run finds it cheaply.

Starting the registry container takes the Docker SDK, whose import alone costs
more than a small pipeline's planning. Once started, its address is kept in the
state folder; a run confirms it with one question to the engine's socket and
two requests to the registry, without the SDK.
"""

from __future__ import annotations

import base64
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from minirunner.state import state_dir

CONTAINER_NAME = "minirunner-registry"
VOLUME_NAME = "minirunner-registry-data"
CONTAINER_PORT = "5000/tcp"
ROLE_LABEL = "minirunner.role"
ROLE = "registry"
# The engine's socket when the docker CLI would use its default.
DEFAULT_SOCKET = "/var/run/docker.sock"
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
    _port_path(info.container).write_text(f"{info.port}\n")


def forget(name: str) -> None:
    """The registry `name` is gone: drop its record, but not its port."""
    _record_path(name).unlink(missing_ok=True)


def last_port(name: str) -> int | None:
    """The host port the registry `name` had last, so that a new one keeps the
    address that pushed images and logins know."""
    try:
        return int(_port_path(name).read_text())
    except (OSError, ValueError):
        return None


def recorded_registry(name: str) -> RegistryInfo | None:
    """The registry recorded under `name`, when it still runs and takes our password.

    None also when the engine is not the local default one (the caller then
    asks it through the SDK).
    """
    try:
        fields = json.loads(_record_path(name).read_text())
        password = password_path().read_text().strip()
        info = RegistryInfo(**fields, password=password)
    except (OSError, ValueError, TypeError):
        return None
    if not _engine_runs(info):
        return None
    return info if _accepts(info) else None


def _engine_runs(info: RegistryInfo) -> bool:
    """Whether the engine runs our registry container, publishing the recorded port.

    Only that container may be given the password: another program could have
    taken the port since the container stopped.
    """
    path = _engine_socket()
    if path is None:
        return False
    request = f"GET /containers/{info.container}/json HTTP/1.0\r\nHost: docker\r\n\r\n"
    try:
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(PROBE_TIMEOUT)
            connection.connect(path)
            connection.sendall(request.encode())
            answer = b"".join(iter(lambda: connection.recv(65536), b""))
        head, _, body = answer.partition(b"\r\n\r\n")
        if head.split(b" ")[1:2] != [b"200"]:
            return False
        attrs = json.loads(body)
        ports = attrs["NetworkSettings"]["Ports"] or {}
        labels = attrs["Config"]["Labels"] or {}
        running = attrs["State"]["Running"] is True
    except (OSError, ValueError, KeyError, TypeError):
        return False
    published = {"HostIp": BIND_IP, "HostPort": str(info.port)}
    return (
        running
        and labels.get(ROLE_LABEL) == ROLE
        and published in (ports.get(CONTAINER_PORT) or [])
    )


def _engine_socket() -> str | None:
    """The engine's unix socket, when the docker CLI would use a local one."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host.removeprefix("unix://") if host.startswith("unix://") else None
    if os.environ.get("DOCKER_CONTEXT", "default") != "default":
        return None
    folder = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    try:
        config = json.loads(Path(folder, "config.json").read_text())
    except (OSError, ValueError):
        return DEFAULT_SOCKET
    context = config.get("currentContext") if isinstance(config, dict) else None
    return DEFAULT_SOCKET if context in (None, "", "default") else None


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


def _port_path(name: str) -> Path:
    return state_dir() / "registry" / f"{name}.port"
