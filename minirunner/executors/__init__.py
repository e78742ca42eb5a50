"""Executors by name: each runs a job's scripts somewhere."""

from __future__ import annotations

from collections.abc import Callable

from minirunner.errors import UsageError
from minirunner.executors.base import Executor
from minirunner.output import Console


def _shell(console: Console) -> Executor:
    from minirunner.executors.shell import ShellExecutor

    return ShellExecutor()


def _docker(console: Console) -> Executor:
    from minirunner.executors.docker import DockerExecutor

    return DockerExecutor(console)


FACTORIES: dict[str, Callable[[Console], Executor]] = {
    "shell": _shell,
    "docker": _docker,
}


def make_executor(name: str, console: Console) -> Executor:
    """A new executor of that name."""
    try:
        factory = FACTORIES[name]
    except KeyError:
        choices = ", ".join(sorted(FACTORIES))
        raise UsageError(f"unknown executor '{name}'; one of: {choices}") from None
    return factory(console)
