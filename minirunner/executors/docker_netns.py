"""Network namespaces that job containers join: pooled, and with the registry inside.

A job container joins the network namespace of a holder container
(`network_mode=container:<holder>`, the way a Kubernetes pod shares its pause
container's). Holders sit on one network of the run and are pooled: all of a
job's processes die with its container, so the next job finds a clean namespace,
and a job does not pay for setting up a network endpoint (about 0.15 s of the
0.3 s a bare `docker run` takes). A job with services attaches its holder to the
job's network for their hostnames; a job that needs /etc/hosts entries of its
own (a replaced dind service) gets a holder of its own.

The local registry at the same `localhost:PORT` inside jobs as outside: the
engine resolves `docker push localhost:5000/...` on the host, so pushes through
the bound socket work anyway, but an HTTP client inside a job (curl, crane,
kaniko) needs `localhost:5000` of its own namespace to lead to the registry.
With a registry, each holder runs a Python forwarder from 127.0.0.1:PORT (and
::1) to the registry container, which is attached to the run's network. The
holder listens before the job container starts, so the script never races it.
Other designs looked at: a forwarder sidecar per job (about +0.3 s a job, which
doubles the cost of a short one), a sidecar joining the job container's namespace
after its start (races the script), the host network (no isolation of ports
between jobs) and DNAT rules in the job's namespace (needs root, nsenter and a
local engine).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from minirunner.engine import image_present
from minirunner.errors import RegistryError
from minirunner.registry_record import CONTAINER_PORT, RegistryInfo

if TYPE_CHECKING:
    import docker

HOLDER_IMAGE = "minirunner/python:3.11"
READY = "ready"
READY_TIMEOUT_S = 10.0
FORWARDER = """
import socket, sys, threading, time

port, host, target = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


def pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    try:
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    try:
        upstream = socket.create_connection((host, target))
    except OSError:
        client.close()
        return
    back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    back.start()
    pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def accept(server):
    while True:
        try:
            client, _ = server.accept()
        except OSError:
            time.sleep(0.1)
            continue
        threading.Thread(target=serve, args=(client,), daemon=True).start()


servers = []
for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    try:
        server = socket.socket(family)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(128)
        servers.append(server)
    except OSError:
        if family == socket.AF_INET:
            raise
for server in servers[1:]:
    threading.Thread(target=accept, args=(server,), daemon=True).start()
print("ready", flush=True)
accept(servers[0])
"""
PAUSE = "import signal; print('ready', flush=True); signal.pause()"


class NetnsPool:
    """A pool of holders of network namespaces, with the registry at localhost."""

    def __init__(
        self,
        client: docker.DockerClient,
        registry: RegistryInfo | None,
        *,
        labels: Mapping[str, str],
        prefix: str,
        keep: bool = False,
        image: str = HOLDER_IMAGE,
    ) -> None:
        self.client = client
        self.api = client.api
        self.registry = registry
        self.labels = dict(labels)
        self.prefix = prefix
        self.keep = keep
        self.image = image
        self.network = f"{prefix}-jobs"
        self.problem: str | None = None
        self._prepared = False
        self._idle: list[str] = []
        self._holders: list[str] = []
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def available(self) -> bool:
        """Whether holders can be made: their image is present."""
        with self._lock:
            if self.problem is None and not self._prepared:
                if image_present(self.client, self.image):
                    self._prepare()
                else:
                    self.problem = f"image {self.image} is missing"
            return self.problem is None

    def acquire(self, extra_hosts: Mapping[str, str] | None = None) -> str:
        """A holder container to join; one of the pool unless `extra_hosts` are set."""
        with self._lock:
            if not extra_hosts and self._idle:
                return self._idle.pop()
            number = next(self._numbers)
        holder = self._start(number, extra_hosts)
        with self._lock:
            self._holders.append(holder)
        return holder

    def release(self, holder: str, *, reuse: bool) -> None:
        """Give a holder back: to the pool, or removed (kept with `keep`)."""
        if self.keep:
            return
        if reuse:
            with self._lock:
                self._idle.append(holder)
            return
        with self._lock:
            self._holders.remove(holder)
        _remove(self.api, holder)

    def close(self) -> None:
        """Remove the holders and the run's network (unless `keep`)."""
        import docker

        if self.keep or not self._prepared:
            return
        with self._lock:
            holders, self._holders, self._idle = self._holders, [], []
        for holder in holders:
            _remove(self.api, holder)
        if self.registry is not None:
            try:
                self.api.disconnect_container_from_network(
                    self.registry.container, self.network, force=True
                )
            except docker.errors.APIError:
                pass
        self.api.remove_network(self.network)
        self._prepared = False

    def _prepare(self) -> None:
        self.api.create_network(
            self.network, driver="bridge", labels=self.labels, check_duplicate=True
        )
        self._prepared = True
        if self.registry is not None:
            self.api.connect_container_to_network(self.registry.container, self.network)

    def _start(self, number: int, extra_hosts: Mapping[str, str] | None) -> str:
        created = self.api.create_container(
            self.image,
            command=self._command(),
            name=f"{self.prefix}-netns-{number}",
            labels=self.labels,
            host_config=self.api.create_host_config(
                network_mode=self.network, extra_hosts=dict(extra_hosts or {}) or None
            ),
        )
        holder: str = created["Id"]
        try:
            self.api.start(holder)
            self._wait_ready(holder)
        except BaseException:
            _remove(self.api, holder)
            raise
        return holder

    def _command(self) -> list[str]:
        if self.registry is None:
            return ["python3", "-c", PAUSE]
        return [
            "python3",
            "-c",
            FORWARDER,
            str(self.registry.port),
            self.registry.container,
            CONTAINER_PORT.split("/")[0],
        ]

    def _wait_ready(self, holder: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            output = self.api.logs(holder).decode("utf-8", "replace")
            if READY in output:
                return
            if not self.api.inspect_container(holder)["State"]["Running"]:
                raise RegistryError(
                    f"The network holder stopped: {output.strip()[-300:]}"
                )
            time.sleep(0.02)
        raise RegistryError(
            f"The network holder did not start within {READY_TIMEOUT_S:g}s"
        )


def _remove(api: docker.APIClient, container: str) -> None:
    import docker

    try:
        api.remove_container(container, v=True, force=True)
    except docker.errors.NotFound:
        pass
