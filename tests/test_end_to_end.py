"""The sample pipeline, for real: a clone of this repository, tagged, run by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from conftest import git
from docker_support import (
    PYTHON_IMAGE,
    REPO_ROOT,
    Cleanup,
    free_port,
    require_image,
    unique,
)

from minirunner.registry import registry_down, registry_tags
from minirunner.registry_record import RegistryInfo

pytestmark = pytest.mark.docker


@dataclass
class Project:
    """A scratch clone of this repository and the environment to run minirunner in."""

    path: Path
    env: dict[str, str]

    def minirunner(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            # -P: the clone holds a `minirunner` folder too; run this checkout's.
            [sys.executable, "-P", "-m", "minirunner", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture
def project(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Project]:
    """A clone of this repository with its own registry container and state folder."""
    require_image(docker_client, PYTHON_IMAGE)
    clone = tmp_path / "server-app"
    git(tmp_path, "clone", "-q", "--no-tags", str(REPO_ROOT), str(clone))
    for tag in git(clone, "tag", "--list").split():
        git(clone, "tag", "-d", tag)
    name = unique("mr-e2e-registry")
    env = {
        **os.environ,
        "MINIRUNNER_STATE_DIR": str(tmp_path / "state"),
        "MINIRUNNER_REGISTRY_NAME": name,
        "MINIRUNNER_REGISTRY_VOLUME": f"{name}-data",
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    yield Project(clone, env)
    os.environ["MINIRUNNER_STATE_DIR"] = env["MINIRUNNER_STATE_DIR"]
    try:
        registry_down(docker_client, remove_data=True, name=name, volume=f"{name}-data")
    finally:
        del os.environ["MINIRUNNER_STATE_DIR"]


def registry_info(project: Project, client: docker.DockerClient) -> RegistryInfo:
    from minirunner.registry import registry_status

    os.environ["MINIRUNNER_STATE_DIR"] = project.env["MINIRUNNER_STATE_DIR"]
    try:
        info = registry_status(client, name=project.env["MINIRUNNER_REGISTRY_NAME"])
    finally:
        del os.environ["MINIRUNNER_STATE_DIR"]
    assert info is not None
    return info


def test_untagged_commit_runs_no_job_and_says_why(project: Project) -> None:
    done = project.minirunner("run", "-v", f"BASE_IMAGE={PYTHON_IMAGE}")
    assert done.returncode == 0, done.stderr
    assert "No pipeline: Pipeline will not run for the selected trigger." in done.stdout
    assert "  build: no rule matched" in done.stdout


def test_tagged_commit_builds_pushes_and_cleans_up(
    project: Project, docker_client: docker.DockerClient, docker_cleanup: Cleanup
) -> None:
    git(project.path, "tag", "v0.0.1-test")
    sha = git(project.path, "rev-parse", "HEAD")
    report = project.path.parent / "report.json"

    done = project.minirunner(
        "run", "-v", f"BASE_IMAGE={PYTHON_IMAGE}", "--report", str(report)
    )

    assert done.returncode == 0, done.stdout + done.stderr
    jobs = json.loads(report.read_text())["jobs"]
    assert [(job["name"], job["status"]) for job in jobs] == [
        ("build", "success"),
        ("push", "success"),
        ("cleanup", "success"),
    ]
    info = registry_info(project, docker_client)
    assert (
        f"Note: the local registry is up at {info.address} (`minirunner registry "
        "down` stops it)" in done.stdout.splitlines()
    )
    repository = "local/server-app"
    assert registry_tags(info, repository) == [sha]
    image = f"{info.address}/{repository}:{sha}"
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(image)

    docker_client.login(
        username=info.user, password=info.password, registry=info.address
    )
    docker_client.images.pull(image)
    docker_cleanup.images.append(image)
    port = free_port()
    container = docker_client.containers.run(
        image, detach=True, ports={"8000/tcp": ("127.0.0.1", port)}
    )
    docker_cleanup.containers.append(container.name)
    assert get_status(f"http://127.0.0.1:{port}/") == 200


def test_a_failed_build_stops_the_pipeline(project: Project) -> None:
    dockerfile = project.path / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN exit 42\n")
    git(project.path, "commit", "-qam", "Break the Dockerfile")
    git(project.path, "tag", "v0.0.2-broken")
    report = project.path.parent / "report.json"

    done = project.minirunner(
        "run", "-v", f"BASE_IMAGE={PYTHON_IMAGE}", "--report", str(report)
    )

    assert done.returncode == 1
    statuses = {
        job["name"]: job["status"] for job in json.loads(report.read_text())["jobs"]
    }
    assert statuses == {"build": "failed", "push": "skipped", "cleanup": "skipped"}
    assert "returned a non-zero code: 42" in done.stdout
    assert "Pipeline #1 failed" in done.stdout


def get_status(url: str, attempts: int = 50) -> int:
    """The HTTP status of GET url, waiting for the server to come up."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(attempts):
        try:
            with opener.open(url, timeout=2) as response:
                return int(response.status)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")
