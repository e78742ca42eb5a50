"""A job's `services`: their hostnames, their containers, the wait for their ports.

Hostnames follow GitLab Runner: the image name without tag, digest and registry
port, with `/` replaced by `__` and, as a second name, by `-`; plus each `alias`
(docs.gitlab.com/ci/services/#accessing-the-services). The job waits until every
TCP port a service exposes accepts connections (or only HEALTHCHECK_TCP_PORT when
set). As on GitLab, a service that does not come up is a warning with its logs,
and the job goes on (docs.gitlab.com/ci/services/, "How the health check of
services works").
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from minirunner.config.model import Service
from minirunner.executors.base import LineSink
from minirunner.variables.expand import expand

if TYPE_CHECKING:
    from docker import APIClient

HEALTHCHECK_VARIABLE = "HEALTHCHECK_TCP_PORT"
LOG_TAIL = 20
PROBE_S = 0.05
CONNECT_TIMEOUT_S = 0.5
_DIGEST = re.compile(r"@[A-Za-z0-9_+.-]+:[0-9a-fA-F]+$")
_TAG = re.compile(r":[\w][\w.-]*$")
_REGISTRY_PORT = re.compile(r"^([^/]*?):[0-9]+(/.*)$")
Prober = Callable[[list[tuple[str, int]], float], set[tuple[str, int]]]
_REFERENCE = re.compile(r"^[a-z0-9]+(?:[._/:-]+[a-z0-9]+)*$", re.IGNORECASE)


def service_hostnames(name: str, aliases: Sequence[str] = ()) -> tuple[str, ...]:
    """The hostnames a service is reachable under, as GitLab Runner makes them.

    `tutum/wordpress:latest` gives `tutum__wordpress` and `tutum-wordpress`;
    `registry.example.com:4999/group/db` gives `registry.example.com__group__db`
    and `registry.example.com-group-db`. Each alias follows.
    """
    bare = repository_name(name)
    names: list[str] = []
    if _REFERENCE.match(bare):
        bare = _REGISTRY_PORT.sub(r"\1\2", bare)
        names += [bare.replace("/", "__"), bare.replace("/", "-")]
    names += aliases
    return tuple(dict.fromkeys(each for each in names if each))


def repository_name(image: str) -> str:
    """An image name without its tag and digest."""
    return _TAG.sub("", _DIGEST.sub("", image))


def is_dind(name: str) -> bool:
    """Whether a service image is Docker-in-Docker (`docker:dind`, `docker:27-dind`)."""
    return "dind" in name.lower()


@dataclass(frozen=True)
class StartedService:
    """A service container that was started for a job."""

    name: str
    container: str
    hostnames: tuple[str, ...]
    environment: Mapping[str, str]


def create_service(
    api: APIClient,
    name: str,
    service: Service,
    env: Mapping[str, str],
    *,
    network: str,
    labels: Mapping[str, str],
    container_name: str,
    binds: Mapping[str, Mapping[str, str]] | None = None,
) -> StartedService:
    """Create (not start) a service's container on `network` under its hostnames.

    It gets the job's variables and its own, as GitLab passes them to services,
    and the `binds` given (the job's checkout).
    """
    service_env = {
        **env,
        **{
            key: expand(variable.value, env) if variable.expand else variable.value
            for key, variable in service.variables.items()
        },
    }
    hostnames = service_hostnames(name, service.alias)
    endpoint = api.create_endpoint_config(aliases=list(hostnames))
    created = api.create_container(
        name,
        command=list(service.command) if service.command is not None else None,
        entrypoint=entrypoint_override(service.entrypoint),
        environment=[f"{key}={value}" for key, value in service_env.items()],
        labels=dict(labels),
        name=container_name,
        host_config=api.create_host_config(
            network_mode=network, binds=dict(binds) if binds else None
        ),
        networking_config=api.create_networking_config({network: endpoint}),
    )
    return StartedService(name, created["Id"], hostnames, service_env)


def entrypoint_override(entrypoint: tuple[str, ...] | None) -> list[str] | None:
    """GitLab's `entrypoint:` for docker; an empty one clears the image's."""
    if entrypoint is None:
        return None
    return list(entrypoint) or [""]


@dataclass(frozen=True)
class _Target:
    service: StartedService
    host: str
    ports: tuple[int, ...]


def wait_for_services(
    api: APIClient,
    services: Sequence[StartedService],
    network: str,
    *,
    timeout_s: float,
    cancel: threading.Event,
    emit: LineSink,
    prober: Prober | None = None,
) -> None:
    """Wait until the services' ports accept connections; warn about those that do not.

    Without `prober` the ports are probed from this machine through the containers'
    addresses on the job's network (a local engine); a remote engine's network is
    probed by `prober`, given the addresses and the time left, which returns those
    that answered.
    """
    targets = [_target(api, service, network) for service in services]
    pending = [target for target in targets if target.ports]
    if prober is None:
        pending = _wait_here(api, pending, timeout_s, cancel)
    elif pending:
        addresses = [(target.host, port) for target in pending for port in target.ports]
        answered = prober(addresses, timeout_s)
        pending = [
            target
            for target in pending
            if any((target.host, port) not in answered for port in target.ports)
        ]
    if cancel.is_set():
        return
    for target in pending:
        ports = ", ".join(str(port) for port in target.ports)
        reason = f"port {ports} did not accept connections within {timeout_s:g}s"
        if _exited(api, target):
            reason = "the service container stopped"
        _warn(api, emit, target.service, reason)


def _wait_here(
    api: APIClient,
    pending: list[_Target],
    timeout_s: float,
    cancel: threading.Event,
) -> list[_Target]:
    """Probe from this machine until all answer, or the time is up; the rest."""
    deadline = time.monotonic() + timeout_s
    stopped: list[_Target] = []
    while pending and not cancel.is_set():
        pending = [target for target in pending if not _ready(target)]
        if not pending or time.monotonic() >= deadline:
            break
        stopped += [target for target in pending if _exited(api, target)]
        pending = [target for target in pending if target not in stopped]
        time.sleep(PROBE_S)
    return stopped + pending


def _target(api: APIClient, service: StartedService, network: str) -> _Target:
    attrs: dict[str, Any] = api.inspect_container(service.container)
    chosen = service.environment.get(HEALTHCHECK_VARIABLE, "")
    if chosen.isdigit():
        ports: tuple[int, ...] = (int(chosen),)
    else:
        exposed = attrs["Config"].get("ExposedPorts") or {}
        ports = tuple(
            sorted(
                int(number)
                for number, protocol in (each.split("/") for each in exposed)
                if protocol == "tcp"
            )
        )
    networks = attrs["NetworkSettings"]["Networks"] or {}
    host = (networks.get(network) or {}).get("IPAddress") or ""
    # A service that stopped already has no address, but is waited for in vain.
    return _Target(service, host, ports)


def _ready(target: _Target) -> bool:
    if not target.host:
        return False
    for port in target.ports:
        try:
            with socket.create_connection(
                (target.host, port), timeout=CONNECT_TIMEOUT_S
            ):
                pass
        except OSError:
            return False
    return True


def _exited(api: APIClient, target: _Target) -> bool:
    state: dict[str, Any] = api.inspect_container(target.service.container)["State"]
    return not state.get("Running", False)


def _warn(api: APIClient, emit: LineSink, service: StartedService, reason: str) -> None:
    """GitLab Runner's warning for a service that probably did not start."""
    logs = api.logs(service.container, tail=LOG_TAIL).decode("utf-8", "replace")
    emit(
        f"*** WARNING: Service {service.name} probably didn't start properly.\n"
        "\n"
        f"Health check error:\n{reason}\n"
        "\n"
        f"Service container logs:\n{logs.rstrip()}\n"
        "\n"
        "*********\n"
    )
