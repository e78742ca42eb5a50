"""The Docker executor: each job runs in a container of its image, as on GitLab.

A job is one container whose main command is the script: `sh -c` picks bash when
the image has it, else sh (as GitLab Runner's shell detection does), and runs
`before_script` + `script` built by `script.build_script`. `after_script` runs in
a fresh container of the same image that shares the project directory. The
checkout reaches the container by `put_archive`, so a remote DOCKER_HOST works;
with a local engine (and root) it is bind-mounted instead. What artifacts and
caches need comes back by `get_archive` into the checkout on the host.
Services, the docker socket for jobs that use the docker CLI, and the registry
under `localhost:PORT` are described in docker_job, docker_services and
docker_registry_access. Everything made is labelled `minirunner.run=<run id>` and
removed when the job ends, unless the executor keeps it for debugging.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from minirunner.engine import connect, ensure_image
from minirunner.executors.base import JobOutcome, JobRequest
from minirunner.executors.docker_job import DockerJob
from minirunner.executors.docker_netns import NetnsPool
from minirunner.executors.docker_sweep import OWNER_LABEL, owner, sweep_abandoned
from minirunner.output import Console
from minirunner.variables.slug import slugify

if TYPE_CHECKING:
    import docker

    from minirunner.registry_record import RegistryInfo

RUN_LABEL = "minirunner.run"
JOB_LABEL = "minirunner.job"
DEFAULT_IMAGE = "minirunner/python:3.11"
ENGINE_SOCKET = "/var/run/docker.sock"
# GitLab Runner's default `wait_for_services_timeout`.
SERVICE_TIMEOUT_S = 30.0
_LOCAL_BASE_URL = "http+docker://localhost"


class DockerExecutor:
    """Runs each job in containers of the engine the docker CLI would use."""

    name = "docker"

    def __init__(
        self,
        console: Console,
        *,
        client: docker.DockerClient | None = None,
        keep: bool = False,
        pull_policy: Sequence[str] = (),
        registry: RegistryInfo | None = None,
        run_id: str | None = None,
        bind_checkout: bool | None = None,
        service_timeout_s: float = SERVICE_TIMEOUT_S,
        default_image: str = DEFAULT_IMAGE,
        docker_socket: bool = True,
    ) -> None:
        """Connect to the engine (DockerUnavailable when it does not answer).

        `pull_policy` applies to images whose job or service sets none; `keep`
        leaves every container, network and volume of a job in place; `registry`
        makes its `localhost:PORT` reach the registry inside jobs;
        `bind_checkout` forces (or forbids) bind-mounting checkouts;
        `docker_socket` False keeps the engine's socket out of every job.
        """
        self.docker_socket = docker_socket
        self.console = console
        self.client = client or connect()
        self.api = self.client.api
        self.keep = keep
        self.pull_policy = tuple(pull_policy)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.labels = {RUN_LABEL: self.run_id}
        if not keep:
            # What --keep leaves is the user's to look at: no later run sweeps it.
            self.labels[OWNER_LABEL] = owner()
        self.local = self.api.base_url == _LOCAL_BASE_URL and sys.platform == "linux"
        if self.local:
            for swept in sweep_abandoned(self.api, RUN_LABEL):
                console.debug(f"removed what the killed run {swept} left in Docker")
        if bind_checkout is None:
            bind_checkout = self.local and os.geteuid() == 0
        self.bind_checkout = bind_checkout
        self.service_timeout_s = service_timeout_s
        self.default_image = default_image
        self.engine_socket = engine_socket() if self.local else ENGINE_SOCKET
        self.registry = registry
        self.netns = NetnsPool(
            self.client,
            registry,
            labels=self.labels,
            prefix=f"minirunner-{self.run_id}",
            keep=keep,
        )
        self._present: set[str] = set()
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._warned: set[str] = set()

    @property
    def checkout_on_host(self) -> bool:
        """Bind-mounted checkouts are; copied ones hold their own objects."""
        return self.bind_checkout

    def run(self, request: JobRequest) -> JobOutcome:
        """Run the job's containers; they are removed when it ends (unless kept)."""
        return DockerJob(self, request).run()

    def close(self) -> None:
        """Remove what the executor shares between jobs (the network holders)."""
        self.netns.close()

    def ensure(self, name: str, policies: Sequence[str], job: str) -> None:
        """Make sure image `name` is there, by its own policy or else the run's."""
        chosen = tuple(policies) or self.pull_policy or ("if-not-present",)
        if "always" not in chosen and name in self._present:
            return
        ensure_image(self.client, name, chosen, job=job)
        self._present.add(name)

    def prefix(self, job_name: str) -> str:
        """A unique name prefix for one job's containers, network and volume."""
        with self._lock:
            number = next(self._numbers)
        slug = slugify(job_name, 40) or "job"
        return f"minirunner-{self.run_id}-{number}-{slug}"

    def warn_once(self, message: str) -> None:
        """A warning on the terminal, shown once per run."""
        with self._lock:
            if message in self._warned:
                return
            self._warned.add(message)
        self.console.warn(message)


def engine_socket() -> str:
    """The unix socket of the engine the docker CLI would use on this machine."""
    from docker.context import ContextAPI
    from docker.context.config import get_current_context_name

    host = os.environ.get("DOCKER_HOST")
    if not host:
        name = os.environ.get("DOCKER_CONTEXT") or get_current_context_name()
        context = ContextAPI.get_context(name)
        host = context.Host if context is not None else None
    if host and host.startswith("unix://"):
        return host.removeprefix("unix://")
    return ENGINE_SOCKET
