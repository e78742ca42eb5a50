"""The Docker executor runs jobs in containers as GitLab's Docker executor does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import docker
import pytest
from conftest import MakeRepo
from docker_support import PYTHON_IMAGE, REGISTRY_IMAGE, require_image

from minirunner.config.model import Artifacts, Image, Job, Service, Variable
from minirunner.errors import ImageMissing
from minirunner.executors.base import JobOutcome, JobRequest
from minirunner.executors.docker import RUN_LABEL, DockerExecutor
from minirunner.executors.docker_services import service_hostnames
from minirunner.output import Console
from minirunner.registry_record import RegistryInfo

CLI_IMAGE = "minirunner/docker-cli:latest"
PROJECT_DIR = "/builds/group/project"
GREEN, RESET = "\x1b[32;1m$ ", "\x1b[0;m"


def echoed(command: str) -> str:
    """A command as the job log shows it before running it."""
    return f"{GREEN}{command}{RESET}"


@dataclass
class Harness:
    """Runs jobs through one executor, with a checkout made by make_repo."""

    executor: DockerExecutor
    checkout: Path
    scratch: Path
    lines: list[str] = field(default_factory=list)

    def request(self, job: Job, *, timeout: float = 60, **env: str) -> JobRequest:
        self.lines.clear()
        return JobRequest(
            job=job,
            env={"CI_PROJECT_DIR": PROJECT_DIR, "CI_BUILDS_DIR": "/builds", **env},
            checkout=self.checkout,
            project_dir=PROJECT_DIR,
            scratch=self.scratch,
            timeout_s=timeout,
            emit=self.lines.append,
        )

    def run(self, job: Job, *, timeout: float = 60, **env: str) -> JobOutcome:
        return self.executor.run(self.request(job, timeout=timeout, **env))

    @property
    def log(self) -> list[str]:
        return "".join(self.lines).splitlines()


def labelled(client: docker.DockerClient, run_id: str) -> dict[str, list[str]]:
    """Names of the containers, networks and volumes of one executor's run."""
    label = {"label": f"{RUN_LABEL}={run_id}"}
    return {
        "containers": [
            each.name for each in client.containers.list(True, filters=label)
        ],
        "networks": [each.name for each in client.networks.list(filters=label)],
        "volumes": [each.name for each in client.volumes.list(filters=label)],
    }


NOTHING: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}


def make_harness(
    client: docker.DockerClient, make_repo: MakeRepo, tmp_path: Path, **options: object
) -> Harness:
    checkout = make_repo({"data.txt": "from the repository\n"})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    executor = DockerExecutor(Console(), client=client, **options)  # type: ignore[arg-type]
    return Harness(executor, checkout, scratch)


@pytest.fixture
def harness(
    docker_client: docker.DockerClient, make_repo: MakeRepo, tmp_path: Path
) -> Iterator[Harness]:
    """An executor whose jobs must leave nothing behind once it is closed."""
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path)
    yield made
    made.executor.close()
    assert labelled(docker_client, made.executor.run_id) == NOTHING


def python_job(*script: str, **fields: object) -> Job:
    return Job(
        name="compute", stage="test", image=Image(PYTHON_IMAGE), script=script, **fields
    )  # type: ignore[arg-type]


@pytest.mark.docker
def test_a_job_runs_its_script_in_the_image_at_the_project_dir(
    harness: Harness,
) -> None:
    job = python_job(
        "python3 -c 'print(6 * 7)'", "pwd", "cat data.txt", 'echo "who=$WHO"'
    )

    outcome = harness.run(job, WHO="world")

    assert outcome == JobOutcome("success", 0)
    assert harness.log == [
        f"Using Docker executor with image {PYTHON_IMAGE} ...",
        echoed("python3 -c 'print(6 * 7)'"),
        "42",
        echoed("pwd"),
        PROJECT_DIR,
        echoed("cat data.txt"),
        "from the repository",
        echoed('echo "who=$WHO"'),
        "who=world",
    ]


@pytest.mark.docker
def test_jobs_at_once_each_have_their_own_localhost(
    docker_client: docker.DockerClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path)
    job = python_job(
        "python3 -c 'import socket, time; s = socket.socket(); "
        's.bind(("127.0.0.1", 8000)); s.listen(); time.sleep(2); print("bound")\'',
    )
    logs: list[list[str]] = [[], []]
    requests = [replace(made.request(job), emit=log.append) for log in logs]
    outcomes: list[JobOutcome] = []
    try:
        threads = [
            threading.Thread(
                target=lambda request: outcomes.append(made.executor.run(request)),
                args=(request,),
            )
            for request in requests
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        made.executor.close()

    assert outcomes == [JobOutcome("success", 0)] * 2
    assert [log[-1] for log in logs] == ["bound\n", "bound\n"]
    assert labelled(docker_client, made.executor.run_id) == NOTHING


@pytest.mark.docker
def test_a_failure_ends_the_script_and_after_script_sees_failed(
    harness: Harness,
) -> None:
    job = python_job(
        "export MINE=set-in-script",
        "echo to-stderr >&2; exit 3",
        "echo never",
        after_script=('echo "status=$CI_JOB_STATUS mine=[$MINE]"',),
    )

    outcome = harness.run(job)

    assert outcome == JobOutcome("failed", 3, "exit code 3")
    assert harness.log[-5:] == [
        echoed("echo to-stderr >&2; exit 3"),
        "to-stderr",
        "Running after_script",
        echoed('echo "status=$CI_JOB_STATUS mine=[$MINE]"'),
        "status=failed mine=[]",
    ]


@pytest.mark.docker
def test_a_timeout_kills_the_container_and_fails_the_job(
    harness: Harness, docker_client: docker.DockerClient
) -> None:
    job = python_job("echo started", "sleep 60")
    request = harness.request(job, timeout=3)
    seen: list[str] = []

    def watch() -> None:
        while "started\n" not in harness.lines:
            time.sleep(0.05)
        seen.extend(labelled(docker_client, harness.executor.run_id)["containers"])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    started = time.monotonic()
    outcome = harness.executor.run(request)
    watcher.join(1)

    assert outcome == JobOutcome("failed", None, "execution took longer than 3s")
    assert time.monotonic() - started < 8
    build = f"minirunner-{harness.executor.run_id}-1-compute-build"
    assert build in seen
    assert build not in labelled(docker_client, harness.executor.run_id)["containers"]


@pytest.mark.docker
def test_cancel_stops_the_job_and_after_script_still_runs(harness: Harness) -> None:
    job = python_job("sleep 60", after_script=('echo "after=$CI_JOB_STATUS"',))
    request = harness.request(job)
    threading.Timer(1.0, request.cancel.set).start()

    outcome = harness.executor.run(request)

    assert outcome == JobOutcome("canceled", None, "canceled")
    assert harness.log[-1] == "after=canceled"


@pytest.mark.docker
def test_a_service_is_reached_under_its_alias_and_gitlab_hostnames(
    harness: Harness,
) -> None:
    web = Service(
        PYTHON_IMAGE,
        alias=("web",),
        command=("python3", "-m", "http.server", "8000"),
        variables={"HEALTHCHECK_TCP_PORT": Variable("8000")},
    )
    fetch = (
        "python3 -c 'import sys, urllib.request; "
        'print(urllib.request.urlopen(f"http://{sys.argv[1]}:8000/").status)\' '
    )
    job = python_job(
        fetch + "web",
        fetch + "minirunner__python",
        fetch + "minirunner-python",
        services=(web,),
    )

    outcome = harness.run(job)

    assert outcome == JobOutcome("success", 0)
    assert harness.log[1:3] == [
        f"Starting service {PYTHON_IMAGE} ...",
        "Waiting for services to be up and running (timeout 30 seconds)...",
    ]
    assert [line for line in harness.log if line == "200"] == ["200"] * 3


@pytest.mark.docker
def test_the_job_waits_for_the_ports_a_service_image_exposes(
    harness: Harness, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    job = python_job(
        "python3 -c 'import urllib.request; print(urllib.request.urlopen("
        '"http://registry:5000/v2/").status)\'',
        services=(Service(REGISTRY_IMAGE, alias=("registry",)),),
    )

    outcome = harness.run(job)

    assert outcome == JobOutcome("success", 0)
    assert harness.log[-1] == "200"


@pytest.mark.docker
def test_services_of_a_remote_engine_are_probed_from_the_jobs_network(
    harness: Harness, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    harness.executor.local = False
    job = python_job(
        "python3 -c 'import urllib.request; print(urllib.request.urlopen("
        '"http://registry:5000/v2/").status)\'',
        services=(Service(REGISTRY_IMAGE, alias=("registry",)),),
    )

    outcome = harness.run(job)

    assert outcome == JobOutcome("success", 0)
    assert harness.log[-1] == "200"
    assert not any("WARNING" in line for line in harness.log)


@pytest.mark.docker
def test_without_network_holders_a_job_still_reaches_its_services(
    harness: Harness,
) -> None:
    harness.executor.netns.image = "minirunner/absent:1"
    web = Service(
        PYTHON_IMAGE,
        alias=("web",),
        command=("python3", "-m", "http.server", "8000"),
        variables={"HEALTHCHECK_TCP_PORT": Variable("8000")},
    )
    job = python_job(
        "python3 -c 'import urllib.request; print(urllib.request.urlopen("
        '"http://web:8000/").status)\'',
        services=(web,),
    )

    outcome = harness.run(job)

    assert outcome == JobOutcome("success", 0)
    assert harness.log[-1] == "200"


@pytest.mark.docker
def test_a_service_that_does_not_come_up_is_a_warning_with_its_logs(
    harness: Harness,
) -> None:
    broken = Service(
        PYTHON_IMAGE,
        command=("sh", "-c", "echo cannot start; exit 4"),
        variables={"HEALTHCHECK_TCP_PORT": Variable("8000")},
    )
    job = python_job("echo the job goes on", services=(broken,))

    outcome = harness.run(job)

    assert outcome == JobOutcome("success", 0)
    assert harness.log[3:13] == [
        f"*** WARNING: Service {PYTHON_IMAGE} probably didn't start properly.",
        "",
        "Health check error:",
        "the service container stopped",
        "",
        "Service container logs:",
        "cannot start",
        "",
        "*********",
        echoed("echo the job goes on"),
    ]


@pytest.mark.docker
def test_a_docker_cli_job_uses_the_engine_instead_of_dind(
    harness: Harness, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, CLI_IMAGE)
    tag = f"minirunner-test/tiny:{harness.executor.run_id}"
    job = Job(
        name="build",
        stage="build",
        image=Image(CLI_IMAGE),
        services=(Service("docker:24-dind"),),
        script=(
            "docker version --format '{{.Server.Version}}'",
            "printf 'FROM scratch\\nCOPY data.txt /data.txt\\n' > Dockerfile",
            f"docker build -q -t {tag} . > /dev/null 2>&1",
            f"docker image inspect --format '{{{{.Size}}}}' {tag}",
            f"docker rmi -f {tag} > /dev/null",
            'echo "$DOCKER_HOST"',
        ),
    )

    try:
        outcome = harness.run(job, DOCKER_HOST="tcp://docker:2375")
    finally:
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass

    assert outcome == JobOutcome("success", 0)
    assert harness.log[1] == (
        "Service docker:24-dind is not started: the job uses this machine's Docker "
        "engine through its socket instead (DOCKER_HOST=unix:///var/run/docker.sock); "
        "privileged Docker-in-Docker cannot run here"
    )
    assert harness.log[3] == docker_client.version()["Version"]
    assert harness.log[7] == str(len("from the repository\n"))
    assert harness.log[-1] == "unix:///var/run/docker.sock"


@pytest.mark.docker
def test_an_image_without_a_shell_fails_the_job_in_one_line(
    harness: Harness, docker_client: docker.DockerClient
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    job = Job(
        name="no-shell",
        stage="test",
        image=Image(REGISTRY_IMAGE, entrypoint=("",)),
        script=("true",),
    )

    outcome = harness.run(job)

    assert (outcome.status, outcome.exit_code) == ("failed", None)
    assert outcome.message is not None
    assert outcome.message.startswith("the job's container did not start: ")
    assert '"sh": executable file not found' in outcome.message


@pytest.mark.docker
def test_a_missing_image_names_the_image_and_the_job(harness: Harness) -> None:
    job = Job(
        name="lint",
        stage="test",
        image=Image("minirunner/absent:1", pull_policy=("never",)),
        script=("true",),
    )

    with pytest.raises(ImageMissing) as caught:
        harness.run(job)

    assert caught.value.message == (
        "Image 'minirunner/absent:1' (job 'lint') is not present locally and "
        "pull_policy is never: build it with scripts/build-offline-images"
    )


@pytest.mark.docker
def test_the_runs_pull_policy_applies_when_the_job_sets_none(
    docker_client: docker.DockerClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path, pull_policy=("always",))
    try:
        with pytest.raises(ImageMissing) as caught:
            made.run(python_job("true"))
    finally:
        made.executor.close()

    assert caught.value.message == (
        f"Image '{PYTHON_IMAGE}' (job 'compute') cannot be pulled: images named "
        "minirunner/* are built locally by scripts/build-offline-images; "
        "pull_policy [always, if-not-present] would use the local image"
    )
    assert labelled(docker_client, made.executor.run_id) == NOTHING


@pytest.mark.docker
def test_a_copied_checkout_is_shared_with_after_script_and_copied_back(
    docker_client: docker.DockerClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path, bind_checkout=False)
    job = python_job(
        "echo built > out.txt",
        "rm data.txt",
        after_script=("cat out.txt",),
        artifacts=Artifacts(paths=("out.txt",)),
    )
    try:
        outcome = made.run(job)
    finally:
        made.executor.close()

    assert outcome == JobOutcome("success", 0)
    assert made.log[-1] == "built"
    assert sorted(path.name for path in made.checkout.iterdir()) == [".git", "out.txt"]
    assert (made.checkout / "out.txt").read_text() == "built\n"
    assert labelled(docker_client, made.executor.run_id) == NOTHING


@pytest.mark.docker
def test_a_job_of_another_user_can_write_its_copied_checkout(
    docker_client: docker.DockerClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path, bind_checkout=False)
    job = Job(
        name="as-nobody",
        stage="test",
        image=Image(PYTHON_IMAGE, user="nobody"),
        script=("id -un", "echo more >> data.txt", "tail -n 1 data.txt"),
    )
    try:
        outcome = made.run(job)
    finally:
        made.executor.close()

    assert outcome == JobOutcome("success", 0)
    assert made.log[2] == "nobody"
    assert made.log[-1] == "more"


@pytest.mark.docker
def test_localhost_registry_port_leads_to_the_registry_inside_jobs(
    docker_client: docker.DockerClient,
    make_repo: MakeRepo,
    tmp_path: Path,
    registry: RegistryInfo,
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path, registry=registry)
    probe = (
        "python3 -c 'import sys, urllib.request, urllib.error\n"
        "try: urllib.request.urlopen(sys.argv[1])\n"
        'except urllib.error.HTTPError as error: print("status", error.code)\' '
        f"http://{registry.address}/v2/"
    )
    try:
        first = made.run(python_job(probe))
        first_log = made.log
        second = made.run(python_job(probe))
    finally:
        made.executor.close()

    assert (first, second) == (JobOutcome("success", 0), JobOutcome("success", 0))
    assert first_log[-1] == made.log[-1] == "status 401"
    assert labelled(docker_client, made.executor.run_id) == NOTHING


@pytest.mark.docker
def test_keep_leaves_the_job_containers_for_debugging(
    docker_client: docker.DockerClient, make_repo: MakeRepo, tmp_path: Path
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path, keep=True)
    run_id = made.executor.run_id
    try:
        made.run(python_job("true"))
        made.executor.close()
        kept = labelled(docker_client, run_id)
    finally:
        for name in labelled(docker_client, run_id)["containers"]:
            docker_client.api.remove_container(name, v=True, force=True)
        for name in labelled(docker_client, run_id)["networks"]:
            docker_client.api.remove_network(name)

    prefix = f"minirunner-{run_id}"
    assert sorted(kept["containers"]) == [
        f"{prefix}-1-compute-build",
        f"{prefix}-netns-1",
    ]
    assert kept["networks"] == [f"{prefix}-jobs"]
    assert made.log[-1] == f"Kept for debugging: containers {prefix}-1-compute-*"


@pytest.mark.docker
@pytest.mark.parametrize("bind_checkout", [True, False], ids=["bound", "copied"])
def test_a_file_variable_is_a_file_beside_the_project_dir(
    docker_client: docker.DockerClient,
    make_repo: MakeRepo,
    tmp_path: Path,
    bind_checkout: bool,
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    made = make_harness(docker_client, make_repo, tmp_path, bind_checkout=bind_checkout)
    host_file = tmp_path / "variables" / "KUBECONFIG"
    host_file.parent.mkdir()
    host_file.write_text("apiVersion: v1\nkind: Config\n")
    job = python_job(
        'cat "$KUBECONFIG"',
        "echo $KUBECONFIG",
        'stat -c %a "$KUBECONFIG"',
        after_script=('cat "$KUBECONFIG"',),
    )
    request = replace(
        made.request(job, KUBECONFIG=str(host_file)),
        files={"KUBECONFIG": host_file},
    )
    try:
        outcome = made.executor.run(request)
    finally:
        made.executor.close()

    assert outcome == JobOutcome("success", 0)
    assert made.log[1:] == [
        echoed('cat "$KUBECONFIG"'),
        "apiVersion: v1",
        "kind: Config",
        echoed("echo $KUBECONFIG"),
        f"{PROJECT_DIR}.tmp/KUBECONFIG",
        echoed('stat -c %a "$KUBECONFIG"'),
        "600",
        "Running after_script",
        echoed('cat "$KUBECONFIG"'),
        "apiVersion: v1",
        "kind: Config",
    ]
    assert labelled(docker_client, made.executor.run_id) == NOTHING
    assert sorted(path.name for path in made.checkout.parent.iterdir()) == [
        made.checkout.name,
        "scratch",
        "variables",
    ]


@pytest.mark.parametrize(
    ("name", "aliases", "expected"),
    [
        ("tutum/wordpress:latest", (), ("tutum__wordpress", "tutum-wordpress")),
        ("postgres:16", ("db",), ("postgres", "db")),
        (
            "registry.example.com:4999/group/db@sha256:" + "a" * 64,
            (),
            ("registry.example.com__group__db", "registry.example.com-group-db"),
        ),
        (
            "localhost:5000/app",
            ("app", "app"),
            ("localhost__app", "localhost-app", "app"),
        ),
    ],
)
def test_service_hostnames_follow_gitlab_runner(
    name: str, aliases: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert service_hostnames(name, aliases) == expected
