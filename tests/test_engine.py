"""Connecting to the engine and GitLab's image pull policies."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import docker
import pytest
from docker_support import PYTHON_IMAGE, Cleanup, build_tiny_image, require_image

from minirunner.engine import connect, ensure_image, image_name_problem, image_present
from minirunner.errors import EXIT_ENVIRONMENT, DockerUnavailable, ImageMissing

HINT = "start it with `sudo systemctl start docker` or `dockerd &`"


def test_an_engine_that_does_not_answer_is_one_line_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = f"unix://{tmp_path}/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", address)

    with pytest.raises(DockerUnavailable) as caught:
        connect()

    assert caught.value.message == (
        f"The Docker engine does not answer at {address}: {HINT}"
    )
    assert caught.value.exit_code == EXIT_ENVIRONMENT


def test_an_unknown_context_is_named(
    docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONTEXT", "nowhere")

    with pytest.raises(DockerUnavailable) as caught:
        connect()

    assert caught.value.message == "Docker context 'nowhere' does not exist"


def docker_context(name: str, host: str) -> None:
    subprocess.run(
        ["docker", "context", "create", name, "--docker", f"host={host}"],
        check=True,
        capture_output=True,
    )


@pytest.mark.docker
def test_the_current_context_of_the_cli_is_used(
    docker_client: docker.DockerClient,
    docker_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    broken = f"unix://{tmp_path}/broken.sock"
    docker_context("working", "unix:///var/run/docker.sock")
    docker_context("broken", broken)
    subprocess.run(["docker", "context", "use", "broken"], check=True)

    with pytest.raises(DockerUnavailable) as caught:
        connect()
    monkeypatch.setenv("DOCKER_CONTEXT", "working")
    client = connect()

    assert caught.value.message == (
        f"The Docker engine does not answer at {broken}: {HINT}"
    )
    assert client.version()["Version"] == docker_client.version()["Version"]
    client.close()


@pytest.fixture
def tiny(docker_client: docker.DockerClient, docker_cleanup: Cleanup) -> str:
    tag = "minirunner-test/tiny:policy"
    build_tiny_image(docker_client, tag, docker_cleanup)
    return tag


@pytest.mark.docker
@pytest.mark.parametrize("policy", ["never", "if-not-present", (), ("never", "always")])
def test_a_present_image_is_used_without_pulling(
    docker_client: docker.DockerClient, tiny: str, policy: str | tuple[str, ...]
) -> None:
    ensure_image(docker_client, tiny, policy)

    assert image_present(docker_client, tiny)


@pytest.mark.docker
def test_never_does_not_pull_a_missing_image(
    docker_client: docker.DockerClient,
) -> None:
    with pytest.raises(ImageMissing) as caught:
        ensure_image(docker_client, "minirunner-test/absent", "never", job="build")

    assert caught.value.message == (
        "Image 'minirunner-test/absent' (job 'build') is not present locally "
        "and pull_policy is never: provide it with `docker load` or "
        "`docker build`, or pull it online"
    )


@pytest.mark.docker
def test_a_missing_image_that_cannot_be_pulled_fails_fast(
    docker_client: docker.DockerClient,
) -> None:
    started = time.monotonic()
    with pytest.raises(ImageMissing) as caught:
        ensure_image(docker_client, "minirunner-test/absent:1.0", job="test")

    assert time.monotonic() - started < 10
    assert caught.value.message.startswith(
        "Image 'minirunner-test/absent:1.0' (job 'test') cannot be pulled: "
    )
    assert not image_present(docker_client, "minirunner-test/absent:1.0")


@pytest.mark.docker
def test_always_fails_when_the_pull_fails_even_with_a_local_copy(
    docker_client: docker.DockerClient, tiny: str
) -> None:
    with pytest.raises(ImageMissing) as caught:
        ensure_image(docker_client, tiny, "always")

    assert caught.value.message.startswith(f"Image '{tiny}' cannot be pulled: ")
    assert caught.value.message.endswith(
        "; pull_policy [always, if-not-present] would use the local image"
    )


@pytest.mark.docker
def test_always_then_if_not_present_falls_back_to_the_local_copy(
    docker_client: docker.DockerClient, tiny: str
) -> None:
    ensure_image(docker_client, tiny, ("always", "if-not-present"))

    assert image_present(docker_client, tiny)


@pytest.mark.docker
def test_own_images_are_never_pulled_and_say_how_to_build_them(
    docker_client: docker.DockerClient,
) -> None:
    with pytest.raises(ImageMissing) as caught:
        ensure_image(docker_client, "minirunner/absent:1", job="lint")

    assert caught.value.message == (
        "Image 'minirunner/absent:1' (job 'lint') cannot be pulled: images named "
        "minirunner/* are built locally by scripts/build-offline-images"
    )


@pytest.mark.docker
def test_the_offline_python_image_is_present(
    docker_client: docker.DockerClient,
) -> None:
    require_image(docker_client, PYTHON_IMAGE)

    ensure_image(docker_client, PYTHON_IMAGE, job="test")


@pytest.mark.docker
def test_an_unknown_policy_is_a_programming_error(
    docker_client: docker.DockerClient,
) -> None:
    with pytest.raises(ValueError, match="unknown pull policy 'sometimes'"):
        ensure_image(docker_client, "x", "sometimes")


@pytest.mark.docker
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "is empty: `image:` gives nothing"),
        ("Python:3.11", "is no image name: a repository name must be lowercase"),
        (
            "python:3.11 slim",
            "is no image name: Docker's format is [registry/]name[:tag][@digest]",
        ),
        (
            "python:3.11@sha256:deadbeef",
            "is no image name: Docker's format is [registry/]name[:tag][@digest]",
        ),
    ],
)
def test_a_name_docker_would_refuse_is_one_line(
    docker_client: docker.DockerClient, name: str, reason: str
) -> None:
    with pytest.raises(ImageMissing) as caught:
        ensure_image(docker_client, name, job="build")
    assert caught.value.message == f"Image '{name}' (job 'build') {reason}"


def test_names_docker_takes_pass_the_check() -> None:
    names = [
        "python",
        "docker:24-dind",
        "localhost:5000/group/app:v1.2",
        "Registry.Example.com/group/app",
        "127.0.0.1:5000/app@sha256:" + "a" * 64,
        "a__b/c-d.e:x_Y.1",
    ]
    assert [image_name_problem(name) for name in names] == [""] * len(names)
