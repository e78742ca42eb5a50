"""Pipelines under the Docker executor: the sample one, and keywords of job images."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import docker
import pytest
from conftest import MakeRepo, git
from docker_support import PYTHON_IMAGE, REPO_ROOT, Cleanup, require_image
from repo_guard import guard_make_repo

from minirunner.context import Options, load_context
from minirunner.executors.docker import RUN_LABEL
from minirunner.output import Console
from minirunner.plan import make_plan
from minirunner.registry import registry_tags
from minirunner.registry_record import RegistryInfo
from minirunner.results import PipelineResult
from minirunner.runner import PipelineRun, RunSettings
from minirunner.session import registry_variables

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

pytestmark = pytest.mark.docker

CLI_IMAGE = "minirunner/docker-cli:latest"
JOBS = ("build", "push", "cleanup")


def in_containers(config: str) -> str:
    """The repository's .gitlab-ci.yml with `image:` on each of its three jobs."""
    for job in JOBS:
        stage = f"{job}:\n  stage: {job}\n"
        assert stage in config
        config = config.replace(stage, f"{stage}  image: {CLI_IMAGE}\n")
    return config


def labelled(client: docker.DockerClient, run_id: str) -> dict[str, list[str]]:
    """Names of the containers, networks and volumes with the run's label."""
    label = {"label": f"{RUN_LABEL}={run_id}"}
    return {
        "containers": [
            each.name for each in client.containers.list(True, filters=label)
        ],
        "networks": [each.name for each in client.networks.list(filters=label)],
        "volumes": [each.name for each in client.volumes.list(filters=label)],
    }


def docker_run(
    repo: Path,
    *,
    variables: dict[str, str] | None = None,
    registry_info: RegistryInfo | None = None,
    executor: str = "docker",
) -> PipelineRun:
    """A run of the repository's pipeline (id 1) with the Docker executor, or
    with `executor`."""
    registry = registry_info.address if registry_info else None
    options = Options(cwd=repo, variables=variables or {})
    context = load_context(options, pipeline_id=1, registry=registry)
    plan = make_plan(context.config, context.inputs, context.variables, {})
    run_dir = repo / ".minirunner" / "runs" / "1"
    run_dir.mkdir(parents=True)
    return PipelineRun(
        context,
        plan,
        RunSettings(executor=executor, concurrency=2),
        Console(stream=io.StringIO()),
        1,
        run_dir,
        registry=registry_variables(registry_info) if registry_info else None,
        registry_info=registry_info,
    )


def statuses(result: PipelineResult) -> list[tuple[str, str]]:
    """Each job's name and status, in the pipeline's order."""
    return [(job.name, job.status) for job in result.jobs]


def test_the_sample_pipeline_builds_pushes_and_cleans_up_in_containers(
    tmp_path: Path,
    docker_client: docker.DockerClient,
    docker_cleanup: Cleanup,
    registry: RegistryInfo,
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    require_image(docker_client, CLI_IMAGE)
    clone = tmp_path / "server-app"
    git(tmp_path, "clone", "-q", "--no-tags", str(REPO_ROOT), str(clone))
    config = clone / ".gitlab-ci.yml"
    config.write_text(in_containers(config.read_text()))
    git(clone, "commit", "-qam", "Run the jobs in containers")
    git(clone, "tag", "v0.0.1-docker")
    sha = git(clone, "rev-parse", "HEAD")
    image = f"{registry.address}/local/server-app:{sha}"
    docker_cleanup.images.append(image)

    runner = docker_run(
        clone, variables={"BASE_IMAGE": PYTHON_IMAGE}, registry_info=registry
    )
    result = runner.run(install_signals=False)
    run_dir = runner.run_dir

    assert statuses(result) == [
        ("build", "success"),
        ("push", "success"),
        ("cleanup", "success"),
    ]
    build_log = (run_dir / "build.log").read_text().splitlines()
    assert build_log[1] == f"Using Docker executor with image {CLI_IMAGE} ..."
    assert registry_tags(registry, "local/server-app") == [sha]
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(image)
    # The run's label is the executor's own id, unknown to the runner's callers.
    run_id = runner.label
    assert labelled(docker_client, run_id) == {
        "containers": [],
        "networks": [],
        "volumes": [],
    }


def test_pull_policy_never_with_a_missing_image_fails_the_job_in_one_line(
    make_repo: MakeRepo, docker_client: docker.DockerClient
) -> None:
    config = """
lint:
  stage: test
  image: {name: minirunner/absent:1, pull_policy: never}
  script: [echo never runs]
deploy:
  stage: deploy
  script: [echo never either]
"""
    repo = make_repo({".gitlab-ci.yml": config})

    result = docker_run(repo).run(install_signals=False)

    assert statuses(result) == [("lint", "failed"), ("deploy", "skipped")]
    message = (
        "Image 'minirunner/absent:1' (job 'lint') is not present locally and "
        "pull_policy is never: build it with scripts/build-offline-images"
    )
    assert result.jobs[0].message == message
    log = (repo / ".minirunner" / "runs" / "1" / "lint.log").read_text()
    assert f"ERROR: Job failed: {message}" in log.splitlines()
    assert "never runs" not in log


def test_an_empty_entrypoint_replaces_the_one_of_the_image(
    make_repo: MakeRepo, docker_client: docker.DockerClient, docker_cleanup: Cleanup
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    image = f"minirunner-test/entrypoint:{uuid.uuid4().hex[:10]}"
    docker_cleanup.images.append(image)
    dockerfile = (
        f"FROM {PYTHON_IMAGE}\n"
        'ENTRYPOINT ["sh", "-c", "echo the image entrypoint ran; exit 7"]\n'
    )
    # forcerm: the SDK keeps the build's intermediate containers by default.
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=image, rm=True, forcerm=True
    )
    config = f"""
kept:
  image: {image}
  script: [echo the script ran]
cleared:
  image: {{name: "{image}", entrypoint: [""]}}
  script: [echo the script ran]
"""
    repo = make_repo({".gitlab-ci.yml": config})

    runner = docker_run(repo)
    result = runner.run(install_signals=False)

    assert statuses(result) == [("kept", "failed"), ("cleared", "success")]
    assert result.jobs[0].exit_code == 7
    kept = (runner.run_dir / "kept.log").read_text().splitlines()
    cleared = (runner.run_dir / "cleared.log").read_text().splitlines()
    assert kept[2:] == [
        "the image entrypoint ran",
        "ERROR: Job failed: exit code 7",
    ]
    assert cleared[2:] == [
        "$ echo the script ran",
        "the script ran",
        "Job succeeded",
    ]


def test_a_service_gets_its_command_and_is_reached_by_each_alias(
    make_repo: MakeRepo, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    config = f"""
fetch:
  image: {PYTHON_IMAGE}
  services:
    - name: {PYTHON_IMAGE}
      alias: web,api
      command: [python3, -m, http.server, "8080"]
      variables:
        HEALTHCHECK_TCP_PORT: "8080"
  script:
    - for host in web api; do python3 -c "$FETCH" "http://$host:8080/"; done
  variables:
    FETCH: import sys, urllib.request as u; print(u.urlopen(sys.argv[1]).status)
"""
    repo = make_repo({".gitlab-ci.yml": config})

    runner = docker_run(repo)
    result = runner.run(install_signals=False)

    assert statuses(result) == [("fetch", "success")]
    log = (runner.run_dir / "fetch.log").read_text().splitlines()
    assert log[2:4] == [
        f"Starting service {PYTHON_IMAGE} ...",
        "Waiting for services to be up and running (timeout 30 seconds)...",
    ]
    assert log[-3:] == ["200", "200", "Job succeeded"]


def test_a_service_sees_the_jobs_checkout_under_builds(
    make_repo: MakeRepo, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    config = f"""
fetch:
  image: {PYTHON_IMAGE}
  services:
    - name: {PYTHON_IMAGE}
      alias: web
      command: [python3, -m, http.server, "8080", --directory, /builds]
      variables:
        HEALTHCHECK_TCP_PORT: "8080"
  script:
    - python3 -c "$FETCH" "http://web:8080${{CI_PROJECT_DIR#/builds}}/marker.txt"
  variables:
    FETCH: import sys, urllib.request as u; print(u.urlopen(sys.argv[1]).read())
"""
    repo = make_repo({".gitlab-ci.yml": config, "marker.txt": "committed\n"})

    runner = docker_run(repo)
    result = runner.run(install_signals=False)

    assert statuses(result) == [("fetch", "success")]
    log = (runner.run_dir / "fetch.log").read_text().splitlines()
    assert log[-2:] == ["b'committed\\n'", "Job succeeded"]


def test_an_image_that_expands_to_nothing_is_the_default_one(
    make_repo: MakeRepo, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    config = "job:\n  image: $NOT_SET\n  script: [python3 -c 'print(6 * 7)']\n"
    repo = make_repo({".gitlab-ci.yml": config})

    runner = docker_run(repo)
    result = runner.run(install_signals=False)

    assert statuses(result) == [("job", "success")]
    log = (runner.run_dir / "job.log").read_text().splitlines()
    assert f"Using Docker executor with image {PYTHON_IMAGE} ..." in log
    assert log[-2:] == ["42", "Job succeeded"]


def object_files(repo: Path) -> dict[str, tuple[int, int, bytes]]:
    """Each file of the repository's object store: mode, owner and content."""
    found = {}
    for path in sorted((repo / ".git" / "objects").rglob("*")):
        if path.is_file():
            status = path.stat()
            found[str(path)] = (status.st_mode, status.st_uid, path.read_bytes())
    return found


def test_a_container_job_cannot_reach_the_users_objects(
    make_repo: MakeRepo, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    config = f"""
stages: [spoil, check]
spoil:
  stage: spoil
  image: {PYTHON_IMAGE}
  script:
    - chmod -R a+rwX . && chown -R 12345 .
    - for f in $(find .git/objects -type f); do printf x >> "$f"; done
    - borrowed=$(cat .git/objects/info/alternates)
    - touch "$borrowed/x" || echo refused
check:
  stage: check
  image: {PYTHON_IMAGE}
  script: [git log --format=%s -1, git status --porcelain]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    before = object_files(repo)

    runner = docker_run(repo)
    result = runner.run(install_signals=False)

    assert statuses(result) == [("spoil", "success"), ("check", "success")]
    assert "refused" in (runner.run_dir / "spoil.log").read_text()
    check = (runner.run_dir / "check.log").read_text().splitlines()
    assert check[2:6] == [
        "$ git log --format=%s -1",
        "Initial commit",
        "$ git status --porcelain",
        "Job succeeded",
    ]
    assert object_files(repo) == before
    assert git(repo, "fsck", "--no-progress") == ""


def test_a_container_jobs_leftovers_never_reach_a_shell_job(
    make_repo: MakeRepo, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    ran = tmp_path / "ran-on-the-host"
    config = f"""
stages: [container, host]
container:
  stage: container
  image: {PYTHON_IMAGE}
  script:
    - printf '#!/bin/sh\\ntouch {ran}\\n' > monitor.sh && chmod +x monitor.sh
    - git config core.fsmonitor "$CI_PROJECT_DIR/monitor.sh"
    - echo left > left-by-container.txt
host:
  stage: host
  variables: {{GIT_STRATEGY: none}}
  script:
    - ls left-by-container.txt 2>/dev/null || echo "nothing from the container"
    - git status --short 2>/dev/null || echo "no git folder"
"""
    repo = make_repo({".gitlab-ci.yml": config})

    runner = docker_run(repo, executor="auto")
    result = runner.run(install_signals=False)

    assert statuses(result) == [("container", "success"), ("host", "success")]
    host = (runner.run_dir / "host.log").read_text()
    assert "nothing from the container" in host
    assert "no git folder" in host
    assert not ran.exists()


def test_a_container_job_reads_objects_its_repository_borrows(
    make_repo: MakeRepo, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    config = f"log:\n  image: {PYTHON_IMAGE}\n  script: [git log --format=%s -1]\n"
    lender = make_repo({".gitlab-ci.yml": config})
    borrower = tmp_path / "borrower"
    git(tmp_path, "clone", "-q", "--shared", str(lender), str(borrower))

    runner = docker_run(borrower)
    result = runner.run(install_signals=False)

    assert statuses(result) == [("log", "success")]
    lines = (runner.run_dir / "log.log").read_text().splitlines()
    assert lines[2:4] == ["$ git log --format=%s -1", "Initial commit"]
