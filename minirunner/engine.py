"""The connection to the Docker engine and the images jobs need from it."""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from minirunner.errors import DockerUnavailable, ImageMissing

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "unix:///var/run/docker.sock"
START_HINT = "start it with `sudo systemctl start docker` or `dockerd &`"
BUILD_SCRIPT = "scripts/build-offline-images"
# Images of this namespace are built locally by BUILD_SCRIPT and exist on no registry.
OWN_NAMESPACE = "minirunner/"
PULL_POLICIES = ("always", "if-not-present", "never")
# The grammar of distribution/reference: [domain/]path[:tag][@digest].
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
# A first part is a registry when it has a dot or a port, or is localhost.
_DOMAIN = (
    rf"(?:{_HOST_PART}(?:\.{_HOST_PART})+(?::[0-9]+)?|{_HOST_PART}:[0-9]+|localhost)"
)
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*"
    rf"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@{_DIGEST})?"
)
PROBE_TIMEOUT = 5.0


def connect() -> docker.DockerClient:
    """Connect to the engine the docker CLI would use, and check that it answers.

    DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH) wins; otherwise the
    context named by DOCKER_CONTEXT or the CLI configuration's current one.
    Raises DockerUnavailable in one line when the engine does not answer.
    """
    import docker
    import requests

    address, tls = _endpoint()
    unavailable = DockerUnavailable(
        f"The Docker engine does not answer at {address}: {START_HINT}"
    )
    if not _listening(address):
        raise unavailable
    try:
        if os.environ.get("DOCKER_HOST"):
            client = docker.from_env()
        else:
            client = docker.DockerClient(base_url=address, tls=tls or False)
    except (docker.errors.DockerException, requests.RequestException) as error:
        raise unavailable from error
    try:
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as error:
        client.close()
        raise unavailable from error
    return client


def _endpoint() -> tuple[str, Any]:
    """The engine's address and the context's TLS settings, as the CLI finds them."""
    from docker.context import ContextAPI
    from docker.context.config import get_current_context_name

    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"], None
    name = os.environ.get("DOCKER_CONTEXT") or get_current_context_name()
    context = ContextAPI.get_context(name)
    if context is None:
        raise DockerUnavailable(f"Docker context '{name}' does not exist")
    return context.Host or DEFAULT_ADDRESS, context.TLSConfig


def _listening(address: str) -> bool:
    """Tell whether something accepts connections at a unix or tcp `address`.

    Probed here because the SDK leaves the socket of a failed connection open, and
    so that an unreachable TCP host fails in seconds. Other schemes (ssh) pass.
    """
    parts = urlsplit(address)
    try:
        if parts.scheme in ("unix", "http+unix"):
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(PROBE_TIMEOUT)
                probe.connect(parts.path)
        elif parts.scheme in ("tcp", "http", "https"):
            tls = os.environ.get("DOCKER_TLS_VERIFY") or parts.scheme == "https"
            port = parts.port or (2376 if tls else 2375)
            target = (parts.hostname or "localhost", port)
            with socket.create_connection(target, timeout=PROBE_TIMEOUT):
                pass
    except (OSError, ValueError):
        return False
    return True


def ensure_image(
    client: docker.DockerClient,
    name: str,
    policy: str | Sequence[str] = "if-not-present",
    *,
    job: str | None = None,
) -> None:
    """Make sure image `name` is present, following GitLab's `pull_policy`.

    A sequence of policies is tried in order until one succeeds, as GitLab Runner
    does (docs.gitlab.com/runner/executors/docker.html#set-multiple-pull-policies);
    an empty one means "if-not-present". Raises ImageMissing naming the image (and
    the job when given) when no policy gives the image.
    """
    policies = (policy,) if isinstance(policy, str) else tuple(policy)
    unknown = [each for each in policies if each not in PULL_POLICIES]
    if unknown:
        raise ValueError(f"unknown pull policy {unknown[0]!r}")

    where = f" (job '{job}')" if job else ""
    if not name.strip():
        raise ImageMissing(f"Image '{name}'{where} is empty: `image:` gives nothing")
    invalid = image_name_problem(name)
    if invalid:
        raise ImageMissing(f"Image '{name}'{where} is no image name: {invalid}")
    reference = _with_tag(name)
    failure = ""
    for each in policies or ("if-not-present",):
        if each != "always" and image_present(client, reference):
            return
        if each == "never":
            failure = "is not present locally and pull_policy is never"
            continue
        failure = _pull(client, reference)
        if not failure:
            return
        if image_present(client, reference):
            failure += (
                "; pull_policy [always, if-not-present] would use the local image"
            )
    raise ImageMissing(_missing_message(name, failure, job))


def image_name_problem(name: str) -> str:
    """Why Docker would refuse `name` as an image reference; "" when it would not."""
    if _REFERENCE.fullmatch(name):
        return ""
    if _REFERENCE.fullmatch(name.lower()):
        return "a repository name must be lowercase"
    return "Docker's format is [registry/]name[:tag][@digest]"


def _with_tag(name: str) -> str:
    """Add ":latest" to a reference that has neither tag nor digest."""
    from docker.utils import parse_repository_tag

    _, tag = parse_repository_tag(name)
    return name if tag else f"{name}:latest"


def image_present(client: docker.DockerClient, reference: str) -> bool:
    """Tell whether the engine has image `reference` locally."""
    import docker

    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def _pull(client: docker.DockerClient, reference: str) -> str:
    """Pull `reference`; return "" on success, else why it failed."""
    import docker
    from docker.utils import parse_repository_tag

    if reference.startswith(OWN_NAMESPACE):
        return (
            f"cannot be pulled: images named {OWN_NAMESPACE}* are built locally "
            f"by {BUILD_SCRIPT}"
        )

    repository, tag = parse_repository_tag(reference)
    log.info("pulling %s", reference)
    try:
        for message in client.api.pull(repository, tag=tag, stream=True, decode=True):
            if "error" in message:
                return f"cannot be pulled: {_one_line(message['error'])}"
    except docker.errors.APIError as error:
        return f"cannot be pulled: {_one_line(error.explanation or str(error))}"
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _missing_message(name: str, failure: str, job: str | None) -> str:
    where = f" (job '{job}')" if job else ""
    if BUILD_SCRIPT in failure or "would use the local image" in failure:
        hint = ""
    elif name.startswith(OWN_NAMESPACE):
        hint = f": build it with {BUILD_SCRIPT}"
    else:
        hint = ": provide it with `docker load` or `docker build`, or pull it online"
    return f"Image '{name}'{where} {failure}{hint}"
