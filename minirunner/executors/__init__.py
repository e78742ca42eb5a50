"""Executors by name: each runs a job's scripts somewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from minirunner.errors import UsageError
from minirunner.executors.base import Executor
from minirunner.output import Console

if TYPE_CHECKING:
    from minirunner.registry_record import RegistryInfo


@dataclass(frozen=True)
class ExecutorSettings:
    """What a run tells every executor it makes."""

    run_id: str | None = None
    keep: bool = False
    pull_policy: tuple[str, ...] = ()
    registry: RegistryInfo | None = None
    docker_socket: bool = True


def _shell(console: Console, settings: ExecutorSettings) -> Executor:
    from minirunner.executors.shell import ShellExecutor

    return ShellExecutor()


def _docker(console: Console, settings: ExecutorSettings) -> Executor:
    from minirunner.executors.docker import DockerExecutor

    return DockerExecutor(
        console,
        keep=settings.keep,
        pull_policy=settings.pull_policy,
        run_id=settings.run_id,
        docker_socket=settings.docker_socket,
        registry=settings.registry,
    )


FACTORIES: dict[str, Callable[[Console, ExecutorSettings], Executor]] = {
    "shell": _shell,
    "docker": _docker,
}


def make_executor(
    name: str, console: Console, settings: ExecutorSettings | None = None
) -> Executor:
    """A new executor of that name."""
    try:
        factory = FACTORIES[name]
    except KeyError:
        choices = ", ".join(sorted(FACTORIES))
        raise UsageError(f"unknown executor '{name}'; one of: {choices}") from None
    return factory(console, settings or ExecutorSettings())
