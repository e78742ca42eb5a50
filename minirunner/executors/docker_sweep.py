"""What a run killed outright (SIGKILL, a crash) left in Docker, removed by the next.

Every container, network and volume of a run carries its owner, `pid@boot-id`;
a later run on the same machine removes the resources of owners that are gone.
An owner from another boot or machine (a shared remote engine) is left alone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docker import APIClient

OWNER_LABEL = "minirunner.owner"
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def owner() -> str:
    """This process, as a label value a later run can judge."""
    return f"{os.getpid()}@{_boot_id()}"


def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return socket.gethostname()


def _gone(label: str) -> bool:
    pid, _, boot = label.partition("@")
    if boot != _boot_id() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep_abandoned(api: APIClient, run_label: str) -> list[str]:
    """Remove what runs whose process is gone left; the runs swept."""

    def gone_runs(items: list[dict[str, Any]]) -> set[str]:
        found = set()
        for item in items:
            labels = item.get("Labels") or {}
            if _gone(labels.get(OWNER_LABEL, "")) and labels.get(run_label):
                found.add(labels[run_label])
        return found

    wanted = {"label": OWNER_LABEL}
    containers = api.containers(all=True, filters=wanted)
    networks = api.networks(filters=wanted)
    volumes = api.volumes(filters=wanted).get("Volumes") or []
    runs = gone_runs(containers) | gone_runs(networks) | gone_runs(volumes)
    for run in sorted(runs):
        mine = {"label": f"{run_label}={run}"}
        for container in api.containers(all=True, filters=mine):
            _quietly(api.remove_container, container["Id"], force=True, v=True)
        for network in api.networks(filters=mine):
            # Other containers (the registry) joined it: they stay, it goes.
            attached = api.inspect_network(network["Id"]).get("Containers") or {}
            for container in attached:
                _quietly(
                    api.disconnect_container_from_network,
                    container,
                    network["Id"],
                    force=True,
                )
            _quietly(api.remove_network, network["Id"])
        for volume in api.volumes(filters=mine).get("Volumes") or []:
            _quietly(api.remove_volume, volume["Name"], force=True)
    return sorted(runs)


def _quietly(action: Any, *args: Any, **kwargs: Any) -> None:
    """Another run may be removing the same thing at once: the sweep is best
    effort, and what it leaves the next run sweeps."""
    import docker

    try:
        action(*args, **kwargs)
    except docker.errors.APIError:
        pass
