"""The local registry container: credentials, loopback-only port, reuse, data kept."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest
from cli_support import minirunner
from conftest import MakeRepo
from docker_support import (
    REGISTRY_IMAGE,
    REPO_ROOT,
    Cleanup,
    build_tiny_image,
    free_port,
    require_image,
    unique,
)

from minirunner import registry as registry_module
from minirunner.errors import ImageMissing, RegistryError
from minirunner.registry import (
    ensure_registry,
    registry_catalog,
    registry_down,
    registry_status,
    registry_tags,
)
from minirunner.registry_record import RegistryInfo, recorded_registry

pytestmark = pytest.mark.docker


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def docker_cli(
    *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def login(info: RegistryInfo, password: str) -> subprocess.CompletedProcess[str]:
    return docker_cli(
        "login", info.address, "-u", info.user, "--password-stdin", stdin=password
    )


def push(client: docker.DockerClient, tag: str, info: RegistryInfo) -> None:
    credentials = {"username": info.user, "password": info.password}
    # images.push does not raise on failure: the stream says so.
    messages = client.images.push(tag, auth_config=credentials)
    assert '"error"' not in messages


def test_registry_wants_credentials_and_keeps_its_password_private(
    registry: RegistryInfo, minirunner_state: Path
) -> None:
    password_file = minirunner_state / "registry" / "password"

    assert http_status(f"http://127.0.0.1:{registry.port}/v2/") == 401
    assert registry.address == f"localhost:{registry.port}"
    assert registry.host == "localhost"
    assert registry.user == "gitlab-ci-token"
    assert registry.image == REGISTRY_IMAGE
    assert password_file.read_text() == registry.password + "\n"
    assert len(registry.password) == 32
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(password_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(minirunner_state.stat().st_mode) == 0o700


def test_login_push_then_catalog_and_tags_list_the_image(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    docker_cleanup: Cleanup,
    docker_config: Path,
) -> None:
    tag = f"{registry.address}/group/tiny:1.0"
    build_tiny_image(docker_client, tag, docker_cleanup)

    refused = login(registry, "not-the-password")
    logged_in = login(registry, registry.password)
    pushed = docker_cli("push", tag)

    assert refused.returncode == 1
    assert refused.stderr == (
        f"Error response from daemon: login attempt to http://{registry.address}/v2/ "
        "failed with status: 401 Unauthorized\n"
    )
    assert logged_in.returncode == 0, logged_in.stderr
    assert "Login Succeeded" in logged_in.stdout
    assert registry.address in (docker_config / "config.json").read_text()
    assert pushed.returncode == 0, pushed.stderr
    assert registry_catalog(registry) == ["group/tiny"]
    assert registry_tags(registry, "group/tiny") == ["1.0"]
    assert registry_tags(registry, "group/never-pushed") == []


def test_port_is_published_on_loopback_only(
    registry: RegistryInfo, docker_client: docker.DockerClient
) -> None:
    container = docker_client.containers.get(registry.container)
    published = container.attrs["NetworkSettings"]["Ports"]["5000/tcp"]
    bindings = container.attrs["HostConfig"]["PortBindings"]["5000/tcp"]
    addresses = subprocess.run(
        ["hostname", "-I"], capture_output=True, text=True, check=True
    ).stdout.split()

    assert published == [{"HostIp": "127.0.0.1", "HostPort": str(registry.port)}]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(registry.port)}]
    assert addresses
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family) as probe, pytest.raises(ConnectionRefusedError):
            probe.settimeout(3)
            probe.connect((address, registry.port))


def test_ensure_twice_reuses_the_running_container(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    registry_names: tuple[str, str],
) -> None:
    name, volume = registry_names
    first_id = docker_client.containers.get(name).id

    again = ensure_registry(docker_client, name=name, volume=volume)

    assert again == registry
    assert docker_client.containers.get(name).id == first_id
    assert registry_status(docker_client, name=name) == registry


def test_stopped_registry_restarts_with_its_pushed_images(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    docker_cleanup: Cleanup,
    registry_names: tuple[str, str],
) -> None:
    name, volume = registry_names
    tag = f"{registry.address}/kept/tiny:2"
    build_tiny_image(docker_client, tag, docker_cleanup)
    push(docker_client, tag, registry)
    docker_client.containers.get(name).stop(timeout=5)

    restarted = ensure_registry(docker_client, name=name, volume=volume)

    assert docker_client.containers.get(name).status == "running"
    assert restarted == registry
    assert registry_catalog(restarted) == ["kept/tiny"]


def test_removed_registry_keeps_its_data_in_the_volume(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    docker_cleanup: Cleanup,
    registry_names: tuple[str, str],
) -> None:
    name, volume = registry_names
    tag = f"{registry.address}/kept/tiny:3"
    build_tiny_image(docker_client, tag, docker_cleanup)
    push(docker_client, tag, registry)
    old_id = docker_client.containers.get(name).id

    registry_down(docker_client, name=name, volume=volume)
    assert registry_status(docker_client, name=name) is None
    anew = ensure_registry(
        docker_client, image=REGISTRY_IMAGE, name=name, volume=volume
    )

    assert docker_client.containers.get(name).id != old_id
    assert anew.volume == volume
    assert anew.address == registry.address
    assert registry_tags(anew, "kept/tiny") == ["3"]


def test_registry_down_with_data_removes_the_volume(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    registry_names: tuple[str, str],
) -> None:
    name, volume = registry_names

    registry_down(docker_client, name=name, volume=volume, remove_data=True)

    assert docker_client.containers.list(all=True, filters={"name": f"^{name}$"}) == []
    assert docker_client.volumes.list(filters={"name": f"^{volume}$"}) == []


def test_a_new_password_replaces_a_running_container_started_with_another(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    registry_names: tuple[str, str],
    minirunner_state: Path,
) -> None:
    name, volume = registry_names
    (minirunner_state / "registry" / "password").unlink()

    renewed = ensure_registry(docker_client, name=name, volume=volume)

    assert renewed.password != registry.password
    assert renewed.port == registry.port
    assert registry_catalog(renewed) == []


def test_taken_default_port_gives_another_loopback_port(
    docker_client: docker.DockerClient,
    minirunner_state: Path,
    registry_names: tuple[str, str],
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    name, volume = registry_names
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", registry_module.DEFAULT_PORT))
            holder.listen()
        except OSError:
            pass  # someone else has it, which is as good

        info = ensure_registry(docker_client, name=name, volume=volume)

    assert info.port != 5000
    assert info.address == f"localhost:{info.port}"
    assert http_status(f"http://127.0.0.1:{info.port}/v2/") == 401


def test_missing_default_image_falls_back_to_the_offline_one(
    docker_client: docker.DockerClient,
    minirunner_state: Path,
    registry_names: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    name, volume = registry_names
    monkeypatch.setenv("MINIRUNNER_REGISTRY_IMAGE", "minirunner-test/no-registry:1")

    info = ensure_registry(docker_client, port=free_port(), name=name, volume=volume)

    assert info.image == "minirunner/registry:2"


def test_no_registry_image_at_all_says_how_to_build_one(
    docker_client: docker.DockerClient,
    minirunner_state: Path,
    registry_names: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, volume = registry_names
    monkeypatch.setenv("MINIRUNNER_REGISTRY_IMAGE", "minirunner-test/no-registry:1")
    monkeypatch.setattr(registry_module, "FALLBACK_IMAGE", "minirunner/no-fallback:2")

    with pytest.raises(ImageMissing) as caught:
        ensure_registry(docker_client, name=name, volume=volume)

    assert caught.value.message == (
        "Registry image 'minirunner-test/no-registry:1' cannot be pulled and "
        "'minirunner/no-fallback:2' is not present: build it with "
        "scripts/build-offline-images"
    )


def test_a_foreign_container_with_the_name_is_left_alone(
    docker_client: docker.DockerClient,
    docker_cleanup: Cleanup,
    minirunner_state: Path,
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    name = unique("minirunner-test-foreign")
    docker_cleanup.containers.append(name)
    docker_client.containers.create(REGISTRY_IMAGE, name=name)

    with pytest.raises(RegistryError) as caught:
        ensure_registry(docker_client, name=name, volume=unique("unused"))

    assert caught.value.message == (
        f"A container named '{name}' exists that minirunner did not create: "
        f"remove it with `docker rm -f {name}`"
    )


def test_concurrent_runs_start_one_container(
    docker_client: docker.DockerClient,
    minirunner_state: Path,
    registry_names: tuple[str, str],
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    name, volume = registry_names
    script = (
        "from minirunner.engine import connect\n"
        "from minirunner.registry import ensure_registry\n"
        f"info = ensure_registry(connect(), name={name!r}, volume={volume!r})\n"
        "print(info.port, info.password)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0, 0]
    assert len(set(outputs)) == 1
    containers = docker_client.containers.list(filters={"name": f"^{name}$"})
    assert len(containers) == 1


def test_a_started_registry_is_found_again_from_its_record(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    minirunner_state: Path,
    registry_names: tuple[str, str],
) -> None:
    name, volume = registry_names
    record = minirunner_state / "registry" / f"{name}.json"

    assert recorded_registry(name) == registry
    assert registry.password not in record.read_text()
    assert recorded_registry("minirunner-test-never-started") is None

    (minirunner_state / "registry" / "password").write_text("another\n")
    assert recorded_registry(name) is None

    registry_down(docker_client, name=name, volume=volume)
    assert not record.exists()
    assert recorded_registry(name) is None


def test_a_running_registry_reaches_every_job(
    registry: RegistryInfo,
    registry_names: tuple[str, str],
    make_repo: MakeRepo,
    minirunner_state: Path,
) -> None:
    name, volume = registry_names
    script = 'echo "registry=[$CI_REGISTRY] user=[$CI_REGISTRY_USER]"'
    repo = make_repo({".gitlab-ci.yml": f"job:\n  script: ['{script}']\n"})
    assert minirunner_state == repo.parent / "state"

    done = minirunner(
        repo,
        "run",
        env={
            "MINIRUNNER_REGISTRY_NAME": name,
            "MINIRUNNER_REGISTRY_VOLUME": volume,
        },
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"job | registry=[{registry.address}] user=[gitlab-ci-token]" in done.stdout


def test_a_stopped_registrys_port_taken_by_another_server_gets_no_password(
    registry: RegistryInfo,
    docker_client: docker.DockerClient,
    registry_names: tuple[str, str],
) -> None:
    seen: list[str | None] = []

    class LookAlike(BaseHTTPRequestHandler):
        """Answers as the registry does: 401 with its header, 200 with a password."""

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            seen.append(self.headers.get("Authorization"))
            self.send_response(200 if seen[-1] else 401)
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    docker_client.containers.get(registry.container).stop(timeout=1)
    server = ThreadingHTTPServer(("127.0.0.1", registry.port), LookAlike)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        found = recorded_registry(registry_names[0])
    finally:
        server.shutdown()
        server.server_close()

    assert found is None
    assert seen == []
