"""The local registry container that stands in for GitLab's container registry."""

from __future__ import annotations

import base64
import fcntl
import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from minirunner import registry_record
from minirunner.engine import BUILD_SCRIPT, ensure_image, image_present
from minirunner.errors import ImageMissing, RegistryError
from minirunner.htpasswd import REGISTRY_USER, htpasswd_archive, registry_password
from minirunner.registry_record import (
    BIND_IP,
    CONTAINER_NAME,
    CONTAINER_PORT,
    ROLE,
    ROLE_LABEL,
    VOLUME_NAME,
    RegistryInfo,
)
from minirunner.state import state_dir

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

log = logging.getLogger(__name__)

IMAGE_ENV = "MINIRUNNER_REGISTRY_IMAGE"
DEFAULT_IMAGE = "registry:2"
FALLBACK_IMAGE = "minirunner/registry:2"
DEFAULT_PORT = 5000
HOST = "localhost"
STORAGE = "/var/lib/registry"
HTPASSWD_PATH = "auth/htpasswd"
AUTH_ENVIRONMENT = {
    "REGISTRY_AUTH": "htpasswd",
    "REGISTRY_AUTH_HTPASSWD_REALM": "minirunner registry",
    "REGISTRY_AUTH_HTPASSWD_PATH": f"/{HTPASSWD_PATH}",
}
START_TIMEOUT = 30.0
# The most the registry returns at once; more come by the Link header's next page.
CATALOG_PAGE = 1000


def ensure_registry(
    client: docker.DockerClient,
    *,
    image: str | None = None,
    port: int | None = None,
    name: str = CONTAINER_NAME,
    volume: str = VOLUME_NAME,
    timeout: float = START_TIMEOUT,
) -> RegistryInfo:
    """Start the registry container unless it runs already; return how to use it.

    A running container is reused, a stopped one restarted. A new one gets `image`
    (default: $MINIRUNNER_REGISTRY_IMAGE, else registry:2, else minirunner/registry:2)
    and host port `port` (default: the last one it had, else 5000, if free; else
    any free one) on 127.0.0.1.
    Pushed images live in the named volume `volume`, so they survive restarts.
    """
    with _lock(name):
        password = registry_password(registry_record.password_path())
        container = _existing(client, name)
        # A new container keeps the address jobs and logins know, when it can.
        preferred = registry_record.last_port(name) or DEFAULT_PORT
        if container is not None:
            info = _revive(container, password, timeout)
            if info is not None:
                registry_record.record(info)
                return info
            preferred = _configured_port(container) or preferred
            container.remove(force=True, v=True)

        attempts: list[int | None] = [port] if port else _ports_to_try(preferred)
        container = _create(client, name, volume, image, attempts, password)
        info = _info(container, password)
        _wait(info, container, timeout)
        registry_record.record(info)
        return info


def registry_status(
    client: docker.DockerClient, *, name: str = CONTAINER_NAME
) -> RegistryInfo | None:
    """Return the running registry container's details, or None when none runs."""
    container = _existing(client, name)
    if container is None or container.status != "running":
        return None
    path = registry_record.password_path()
    password = path.read_text().strip() if path.exists() else ""
    return _info(container, password)


def registry_down(
    client: docker.DockerClient,
    *,
    remove_data: bool = False,
    name: str = CONTAINER_NAME,
    volume: str = VOLUME_NAME,
) -> None:
    """Remove the registry container, and with `remove_data` its pushed images."""
    import docker

    with _lock(name):
        registry_record.forget(name)
        container = _existing(client, name)
        if container is not None:
            container.remove(force=True, v=True)
        if remove_data:
            try:
                client.volumes.get(volume).remove(force=True)
            except docker.errors.NotFound:
                pass


def registry_catalog(info: RegistryInfo) -> list[str]:
    """Return the repositories pushed to the registry, sorted."""
    repositories: list[str] = []
    path: str | None = f"/v2/_catalog?n={CATALOG_PAGE}"
    while path:
        document, path = _get_json(info, path)
        repositories += document.get("repositories") or []
    return sorted(repositories)


def registry_tags(info: RegistryInfo, repository: str) -> list[str]:
    """Return the tags of `repository`, sorted; none when it was never pushed."""
    document, _ = _get_json(info, f"/v2/{repository}/tags/list", missing_ok=True)
    return sorted(document.get("tags") or [])


@contextmanager
def _lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock so that concurrent runs start the container once."""
    path = state_dir() / "registry" / f"{name}.lock"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    with path.open("a") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


def _existing(client: docker.DockerClient, name: str) -> Container | None:
    import docker

    try:
        container: Container = client.containers.get(name)
    except docker.errors.NotFound:
        return None
    if container.labels.get(ROLE_LABEL) != ROLE:
        raise RegistryError(
            f"A container named '{name}' exists that minirunner did not create: "
            f"remove it with `docker rm -f {name}`"
        )
    return container


def _revive(container: Container, password: str, timeout: float) -> RegistryInfo | None:
    """Reuse or restart an existing container; None when it must be made anew."""
    import docker

    if container.status == "running":
        info = _info(container, password)
        _wait(info, container, timeout)
        # A container started with another password (state directory wiped) is
        # replaced; the volume keeps its images.
        return info if _status(info, authenticated=True) == 200 else None
    if container.status not in ("created", "exited"):
        return None

    archive = htpasswd_archive(REGISTRY_USER, password, HTPASSWD_PATH)
    try:
        container.put_archive("/", archive)
        container.start()
    except docker.errors.APIError as error:
        log.info("cannot restart %s (%s): recreating it", container.name, error)
        return None
    container.reload()
    info = _info(container, password)
    _wait(info, container, timeout)
    return info


def _create(
    client: docker.DockerClient,
    name: str,
    volume: str,
    image: str | None,
    ports: list[int | None],
    password: str,
) -> Container:
    """Create and start the container on the first of `ports` that works."""
    chosen = _choose_image(client, image)
    if not client.volumes.list(filters={"name": f"^{volume}$"}):
        client.volumes.create(volume, labels={ROLE_LABEL: ROLE})
    archive = htpasswd_archive(REGISTRY_USER, password, HTPASSWD_PATH)
    for host_port in ports[:-1]:
        try:
            return _start(client, name, chosen, volume, host_port, archive)
        except RegistryError as error:
            log.info("%s: trying another port", error)
    return _start(client, name, chosen, volume, ports[-1], archive)


def _ports_to_try(preferred: int) -> list[int | None]:
    """`preferred` if nothing listens on it here, then a port the engine picks.

    The engine notices ports that other containers publish, but not always a local
    server's: without its userland proxy it would shadow that server silently.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((BIND_IP, preferred))
        except OSError:
            return [None]
    return [preferred, None]


def _configured_port(container: Container) -> int | None:
    bindings = container.attrs["HostConfig"]["PortBindings"] or {}
    ports = [each.get("HostPort") for each in bindings.get(CONTAINER_PORT) or []]
    return int(ports[0]) if ports and ports[0] else None


def _start(
    client: docker.DockerClient,
    name: str,
    image: str,
    volume: str,
    host_port: int | None,
    archive: bytes,
) -> Container:
    import docker

    container: Container = client.containers.create(
        image,
        name=name,
        detach=True,
        labels={ROLE_LABEL: ROLE},
        environment=AUTH_ENVIRONMENT,
        ports={CONTAINER_PORT: (BIND_IP, host_port)},
        volumes={volume: {"bind": STORAGE, "mode": "rw"}},
    )
    try:
        # Copied in rather than bind-mounted, so that a remote engine works too.
        container.put_archive("/", archive)
        container.start()
    except docker.errors.APIError as error:
        container.remove(force=True, v=True)
        raise RegistryError(
            f"Cannot start the registry container '{name}' on "
            f"{BIND_IP}:{host_port or 'a free port'}: {error.explanation}"
        ) from error
    container.reload()
    return container


def _choose_image(client: docker.DockerClient, image: str | None) -> str:
    if image:
        ensure_image(client, image)
        return image
    wanted = os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE
    try:
        ensure_image(client, wanted)
    except ImageMissing:
        if image_present(client, FALLBACK_IMAGE):
            log.info("%s cannot be had: using %s", wanted, FALLBACK_IMAGE)
            return FALLBACK_IMAGE
        raise ImageMissing(
            f"Registry image '{wanted}' cannot be pulled and '{FALLBACK_IMAGE}' is "
            f"not present: build it with {BUILD_SCRIPT}"
        ) from None
    return wanted


def _info(container: Container, password: str) -> RegistryInfo:
    attrs: dict[str, Any] = container.attrs
    bindings = (attrs["NetworkSettings"]["Ports"] or {}).get(CONTAINER_PORT) or []
    ports = [int(each["HostPort"]) for each in bindings if each["HostIp"] == BIND_IP]
    if not ports:
        raise RegistryError(
            f"The registry container '{container.name}' publishes no port on {BIND_IP}"
        )
    volumes = [
        mount["Name"]
        for mount in attrs["Mounts"]
        if mount["Destination"] == STORAGE and mount["Type"] == "volume"
    ]
    return RegistryInfo(
        address=f"{HOST}:{ports[0]}",
        host=HOST,
        port=ports[0],
        user=REGISTRY_USER,
        password=password,
        container=str(container.name),
        volume=volumes[0] if volumes else "",
        image=str(attrs["Config"]["Image"]),
    )


def _wait(info: RegistryInfo, container: Container, timeout: float) -> None:
    """Wait until the registry answers /v2/ (with 401: it wants credentials)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _status(info, authenticated=False) == 401:
            return
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=1).decode(errors="replace").strip()
            raise RegistryError(
                f"The registry container '{info.container}' stopped: {logs}"
            )
        time.sleep(0.05)
    raise RegistryError(
        f"The registry container '{info.container}' does not answer at "
        f"{info.url}/v2/ after {timeout:g} s"
    )


def _status(info: RegistryInfo, *, authenticated: bool) -> int | None:
    """Return the HTTP status of GET /v2/, or None when nothing answers."""
    try:
        with _open(info, "/v2/", authenticated=authenticated) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, http.client.HTTPException):
        return None


def _get_json(
    info: RegistryInfo, path: str, *, missing_ok: bool = False
) -> tuple[dict[str, Any], str | None]:
    """GET `path` with the credentials; return the document and the next page's path.

    A 404 gives an empty document when `missing_ok`.
    """
    try:
        with _open(info, path, authenticated=True) as response:
            document: dict[str, Any] = json.load(response)
            link = response.headers.get("Link", "")
    except urllib.error.HTTPError as error:
        if missing_ok and error.code == 404:
            return {}, None
        if error.code == 401:
            raise RegistryError(
                f"The registry at {info.url} refuses the password kept in "
                f"{registry_record.password_path()}: `minirunner registry up` "
                "replaces its container and keeps its images"
            ) from error
        raise RegistryError(f"Registry at {info.url}{path}: {error}") from error
    except (OSError, http.client.HTTPException) as error:
        message = f"Registry at {info.url} does not answer: {error}"
        raise RegistryError(message) from error

    # RFC 8288 form the registry uses: </v2/_catalog?last=x&n=1000>; rel="next"
    next_path = link.partition("<")[2].partition(">")[0] if 'rel="next"' in link else ""
    return document, next_path or None


# The registry is on loopback: a proxy from the environment must not be asked for it.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _open(info: RegistryInfo, path: str, *, authenticated: bool) -> Any:
    request = urllib.request.Request(info.url + path)
    if authenticated:
        token = base64.b64encode(f"{info.user}:{info.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return _OPENER.open(request, timeout=5)
