"""One job in Docker: its containers, network and volume, made and then removed.

The job container joins a pooled network namespace (docker_netns) when it can,
else the default network; services start on a network of the job's own. A job
that uses the docker CLI (its scripts call `docker`, its image is a docker image,
or it has a `docker:dind` service) gets the engine's socket at
/var/run/docker.sock and DOCKER_HOST pointing there: privileged Docker-in-Docker
cannot run on these machines, so a dind service is not started, and its
hostnames (`docker`) lead to the engine's host, where the ports that
`docker run -p` publishes are.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from minirunner.config.model import Job, Service
from minirunner.engine import image_present
from minirunner.executors.base import AFTER_SCRIPT_TIMEOUT_S, JobOutcome, JobRequest
from minirunner.executors.docker_archive import (
    checkout_archive,
    copy_back,
    overlay_files,
    variable_files_archive,
)
from minirunner.executors.docker_command import container_command
from minirunner.executors.docker_probe import PROBE_IMAGE, probe_ports
from minirunner.executors.docker_run import StartFailed, run_container
from minirunner.executors.docker_services import (
    StartedService,
    create_service,
    entrypoint_override,
    is_dind,
    repository_name,
    service_hostnames,
    wait_for_services,
)
from minirunner.executors.process import ProcessResult, job_outcome
from minirunner.executors.script import runs_docker
from minirunner.snapshot import alternate_object_dirs
from minirunner.variables.expand import expand

if TYPE_CHECKING:
    from minirunner.executors.docker import DockerExecutor

SOCKET_IN_JOB = "/var/run/docker.sock"
_TLS_VARIABLES = ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def uses_docker(job: Job, image: str) -> bool:
    """Whether a job looks like it runs the docker CLI."""
    repository = PurePosixPath(repository_name(image)).name
    scripts = (*job.before_script, *job.script, *job.after_script)
    return (
        repository.startswith("docker")
        or "DOCKER_HOST" in job.variables
        or runs_docker(scripts)
    )


class DockerJob:
    """The containers, network and volume of one job; `run` removes them at its end."""

    def __init__(self, executor: DockerExecutor, request: JobRequest) -> None:
        self.executor = executor
        self.api = executor.api
        self.request = request
        self.job = request.job
        self.prefix = executor.prefix(request.job.name)
        self.labels = {**executor.labels, "minirunner.job": request.job.name}
        self.project_dir = request.project_dir
        self.containers: list[str] = []
        self.services: list[StartedService] = []
        self.network: str | None = None
        self.volume: str | None = None
        self.holder: str | None = None
        self.holder_shared = True
        self.binds: dict[str, dict[str, str]] = {}
        self.extra_hosts: dict[str, str] = {}

    def run(self) -> JobOutcome:
        """Run the job; always remove what it made (unless the executor keeps it)."""
        try:
            return self._run()
        finally:
            self._cleanup()

    def note(self, message: str) -> None:
        """A line of minirunner's own in the job log."""
        self.request.emit(message + "\n")

    def _run(self) -> JobOutcome:
        request, job = self.request, self.job
        deadline = time.monotonic() + request.timeout_s
        image = self._image()
        user = job.image.user if job.image else None
        env = self._prepare(image)

        main = self._create(
            image, (*job.before_script, *job.script), env, "build", user
        )
        self._put_checkout(main)
        self._put_variable_files(main)
        if self.services:
            self._wait_for_services(deadline)
        if request.cancel.is_set():
            return JobOutcome("canceled", None, "canceled")
        remaining = deadline - time.monotonic()
        try:
            result = (
                run_container(
                    self.api,
                    main,
                    emit=request.emit,
                    timeout_s=remaining,
                    cancel=request.cancel,
                )
                if remaining > 0
                else ProcessResult(None, timed_out=True)
            )
        except StartFailed as error:
            return JobOutcome(
                "failed", None, f"the job's container did not start: {error}"
            )
        outcome = job_outcome(result, request.timeout_s)

        if job.after_script and not request.abort.is_set():
            after_env = {**env, "CI_JOB_STATUS": outcome.status}
            self._after_script(image, after_env, user)
        if not self.executor.bind_checkout and (job.artifacts or job.cache):
            self._copy_back(main)
        return outcome

    def _prepare(self, image: str) -> dict[str, str]:
        """Everything but the job's own container: image, services, network, volume.

        Returns the job container's environment.
        """
        request, job = self.request, self.job
        self.note(f"Using Docker executor with image {image} ...")
        self.executor.ensure(
            image, job.image.pull_policy if job.image else (), job.name
        )

        services = [(expand(each.name, request.env), each) for each in job.services]
        dind = [(name, each) for name, each in services if is_dind(name)]
        socket = (bool(dind) or uses_docker(job, image)) and self.executor.docker_socket
        if socket:
            self.executor.warn_once(
                "jobs that use docker get this machine's Docker engine through its "
                "socket, which gives them root on the engine "
                "(--no-docker-socket turns this off)"
            )
            self._bind_engine(dind)
        others = [(name, each) for name, each in services if not is_dind(name)]
        if others:
            self._start_services(others, self._service_environment())
        self._place()
        if job.after_script and not self.executor.bind_checkout:
            # after_script's container must see what the script left in the project.
            self.volume = f"{self.prefix}-builds"
            self.api.create_volume(self.volume, labels=self.labels)
        return self._environment(socket)

    def _image(self) -> str:
        """The job's image; the default one when it has none or it expands to
        nothing, as GitLab Runner takes its configured image then."""
        if self.job.image is None:
            return self.executor.default_image
        return expand(self.job.image.name, self.request.env) or (
            self.executor.default_image
        )

    def _environment(self, socket: bool) -> dict[str, str]:
        """The job's variables, less the host paths and TLS settings that mislead."""
        env = dict(self.request.env)
        # The runner's per-job docker configuration is a path on this machine.
        if env.get("DOCKER_CONFIG", "").startswith(str(self.request.scratch)):
            del env["DOCKER_CONFIG"]
        for name in self.request.files:
            env[name] = f"{self._variable_folder()}/{name}"
        if socket:
            env["DOCKER_HOST"] = f"unix://{SOCKET_IN_JOB}"
            for name in _TLS_VARIABLES:
                env.pop(name, None)
        return env

    def _service_environment(self) -> dict[str, str]:
        env = dict(self.request.env)
        env.pop("DOCKER_CONFIG", None)
        return env

    def _bind_engine(self, dind: Sequence[tuple[str, Service]]) -> None:
        self.binds[self.executor.engine_socket] = {"bind": SOCKET_IN_JOB, "mode": "rw"}
        for name, service in dind:
            self.note(
                f"Service {name} is not started: the job uses this machine's Docker "
                f"engine through its socket instead (DOCKER_HOST=unix://"
                f"{SOCKET_IN_JOB}); privileged Docker-in-Docker cannot run here"
            )
            for hostname in service_hostnames(name, service.alias):
                self.extra_hosts[hostname] = "host-gateway"
        if not dind:
            self.note(
                "The job gets this machine's Docker engine through its socket "
                f"(DOCKER_HOST=unix://{SOCKET_IN_JOB})"
            )

    def _start_services(
        self, services: Sequence[tuple[str, Service]], env: Mapping[str, str]
    ) -> None:
        self.network = f"{self.prefix}-network"
        self.api.create_network(self.network, driver="bridge", labels=self.labels)
        for index, (name, service) in enumerate(services):
            self.executor.ensure(name, service.pull_policy, self.job.name)
            self.note(f"Starting service {name} ...")
            started = create_service(
                self.api,
                name,
                service,
                env,
                network=self.network,
                labels=self.labels,
                container_name=f"{self.prefix}-service-{index}",
                # GitLab Runner mounts the builds folder into services too.
                binds=self._checkout_binds(),
            )
            self.containers.append(started.container)
            self.api.start(started.container)
            self.services.append(started)

    def _place(self) -> None:
        """Join a holder's network namespace when there can be holders."""
        pool = self.executor.netns
        if not pool.available():
            if self.executor.registry is not None:
                self.executor.warn_once(
                    f"{self.executor.registry.address} does not lead to the "
                    f"registry inside jobs: {pool.problem} (build it with "
                    "scripts/build-offline-images)"
                )
            return
        self.holder_shared = not self.extra_hosts
        self.holder = pool.acquire(self.extra_hosts or None)
        if self.network:
            self.api.connect_container_to_network(self.holder, self.network)

    def _checkout_binds(self) -> dict[str, dict[str, str]]:
        """The checkout at the project's path, when the engine can mount it."""
        if not self.executor.bind_checkout:
            return {}
        checkout = self.request.checkout
        binds = {str(checkout): {"bind": self.project_dir, "mode": "rw"}}
        # The objects the checkout borrows, at the path its git expects.
        for objects in alternate_object_dirs(checkout):
            binds[str(objects)] = {"bind": str(objects), "mode": "ro"}
        return binds

    def _host_config(self) -> dict[str, Any]:
        binds = {**self.binds, **self._checkout_binds()}
        if not self.executor.bind_checkout and self.volume:
            binds[self.volume] = {"bind": self._builds_root(), "mode": "rw"}
        # The output is read back from the logs: a driver that can be read.
        logs = {"type": "json-file"}
        if self.holder:
            config: dict[str, Any] = self.api.create_host_config(
                binds=binds or None,
                network_mode=f"container:{self.holder}",
                log_config=logs,
            )
            return config
        config = self.api.create_host_config(
            binds=binds or None,
            network_mode=self.network,
            extra_hosts=self.extra_hosts or None,
            log_config=logs,
        )
        return config

    def _builds_root(self) -> str:
        return "/" + PurePosixPath(self.project_dir).parts[1]

    def _create(
        self,
        image: str,
        commands: Sequence[str],
        env: Mapping[str, str],
        role: str,
        user: str | None,
    ) -> str:
        created = self.api.create_container(
            image,
            command=container_command(commands, self.project_dir),
            entrypoint=entrypoint_override(
                self.job.image.entrypoint if self.job.image else None
            ),
            environment=_pairs(env),
            working_dir=self.project_dir,
            user=user or None,
            labels=self.labels,
            name=f"{self.prefix}-{role}",
            host_config=self._host_config(),
        )
        container: str = created["Id"]
        self.containers.append(container)
        return container

    def _put_checkout(self, container: str) -> None:
        request = self.request
        if self.executor.bind_checkout:
            if request.artifacts_in is not None:
                overlay_files(request.artifacts_in, request.checkout)
            return
        shared = bool(self.job.image and self.job.image.user)
        with checkout_archive(
            request.checkout,
            self.project_dir,
            overlay=request.artifacts_in,
            shared=shared,
        ) as archive:
            self.api.put_archive(container, "/", archive)

    def _variable_folder(self) -> str:
        # GitLab Runner's TmpProjectDir: file-type variables live beside the project.
        return f"{self.project_dir}.tmp"

    def _put_variable_files(self, container: str) -> None:
        if not self.request.files:
            return
        shared = bool(self.job.image and self.job.image.user)
        with variable_files_archive(
            self.request.files, self._variable_folder(), shared=shared
        ) as archive:
            self.api.put_archive(container, "/", archive)

    def _wait_for_services(self, deadline: float) -> None:
        assert self.network is not None
        timeout = max(
            0.0, min(self.executor.service_timeout_s, deadline - time.monotonic())
        )
        self.note(
            "Waiting for services to be up and running "
            f"(timeout {math.ceil(timeout)} seconds)..."
        )
        prober = None if self.executor.local else self._probe_remotely
        wait_for_services(
            self.api,
            self.services,
            self.network,
            timeout_s=timeout,
            cancel=self.request.cancel,
            emit=self.request.emit,
            prober=prober,
        )

    def _probe_remotely(
        self, addresses: list[tuple[str, int]], timeout_s: float
    ) -> set[tuple[str, int]]:
        """Probe from a helper container on the job's network (a remote engine)."""
        assert self.network is not None
        if not image_present(self.executor.client, PROBE_IMAGE):
            self.note(f"Not waiting for services: image {PROBE_IMAGE} is missing")
            return set(addresses)
        return probe_ports(
            self.api,
            PROBE_IMAGE,
            network=self.network,
            labels=self.labels,
            name=f"{self.prefix}-wait-for-services",
            addresses=addresses,
            timeout_s=timeout_s,
            cancel=self.request.cancel,
        )

    def _after_script(
        self, image: str, env: Mapping[str, str], user: str | None
    ) -> None:
        self.note("Running after_script")
        container = self._create(image, self.job.after_script, env, "after", user)
        self._put_variable_files(container)
        try:
            result = run_container(
                self.api,
                container,
                emit=self.request.emit,
                timeout_s=AFTER_SCRIPT_TIMEOUT_S,
                cancel=self.request.abort,
            )
        except StartFailed as error:
            self.note(f"WARNING: after_script's container did not start: {error}")
            return
        if result.exit_code not in (0, None) or result.timed_out:
            self.note("WARNING: after_script failed, but the job goes on")

    def _copy_back(self, container: str) -> None:
        import docker

        try:
            copy_back(self.api, container, self.project_dir, self.request.checkout)
        except docker.errors.NotFound:
            self.note(
                f"WARNING: {self.project_dir} is gone from the container: "
                "nothing comes back for artifacts and caches"
            )

    def _cleanup(self) -> None:
        import docker

        if self.executor.keep:
            self._report_kept()
            return
        for container in reversed(self.containers):
            _quietly(self.api.remove_container, container, v=True, force=True)
        if self.holder:
            reuse = self.holder_shared
            if self.network:
                try:
                    self.api.disconnect_container_from_network(
                        self.holder, self.network, force=True
                    )
                except docker.errors.APIError:
                    reuse = False
            self.executor.netns.release(self.holder, reuse=reuse)
        if self.network:
            _quietly(self.api.remove_network, self.network)
        if self.volume:
            _quietly(self.api.remove_volume, self.volume, force=True)

    def _report_kept(self) -> None:
        kept = [f"containers {self.prefix}-*"]
        if self.network:
            kept.append(f"network {self.network}")
        if self.volume:
            kept.append(f"volume {self.volume}")
        self.note(f"Kept for debugging: {', '.join(kept)}")


def _pairs(env: Mapping[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in env.items()]


def _quietly(remove: Any, name: str, **options: bool) -> None:
    """Remove a thing that may be gone already."""
    import docker

    try:
        remove(name, **options)
    except docker.errors.NotFound:
        pass
