"""Two `minirunner run` at the same time, in one repository and in two.

Each gets its own pipeline id, run folder and logs, and both succeed; jobs that
push to the local registry both push, and the registry is started once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from cli_support import isolated_env
from conftest import MakeRepo
from docker_support import REGISTRY_IMAGE, Cleanup, build_tiny_image, require_image

from minirunner.registry import registry_status, registry_tags
from minirunner.registry_record import RegistryInfo

# The job records when it starts and ends, so that the test can tell the two
# runs overlapped; the cache makes both take the cache lock.
PIPELINE = """
work:
  script:
    - echo "start=$(date +%s.%N)"
    - echo "who=$WHO pipeline=$CI_PIPELINE_ID job=$CI_JOB_ID"
    - echo "$WHO" >> cached.txt
    - sleep 2
    - echo "end=$(date +%s.%N)"
  cache:
    key: shared
    paths: [cached.txt]
"""


@dataclass(frozen=True)
class Finished:
    """A run's exit status, report and job log."""

    code: int
    output: str
    report: dict[str, object]
    log: str

    def number(self, name: str) -> float:
        found = re.search(rf"^{name}=([0-9.]+)$", self.log, re.M)
        assert found, self.log
        return float(found[1])


def start(
    repo: Path, report: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `minirunner run` in `repo` without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "minirunner", "run", "--report", str(report), *args],
        cwd=repo,
        env=isolated_env(repo.parent, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], report: Path) -> Finished:
    output, _ = process.communicate(timeout=300)
    assert report.exists(), output
    data = json.loads(report.read_text())
    jobs = data["jobs"]
    log = Path(jobs[0]["log"]).read_text() if jobs else ""
    return Finished(process.returncode, output, data, log)


def both(
    runs: list[tuple[Path, Path, tuple[str, ...]]],
    env: Mapping[str, str] | None = None,
) -> list[Finished]:
    """Start every run, then wait for all."""
    started = [
        (start(repo, report, *args, env=env), report) for repo, report, args in runs
    ]
    return [finish(process, report) for process, report in started]


def overlapped(first: Finished, second: Finished) -> bool:
    return first.number("start") < second.number("end") and second.number(
        "start"
    ) < first.number("end")


def test_two_runs_in_one_repository(guarded_repo: MakeRepo, tmp_path: Path) -> None:
    repo = guarded_repo({".gitlab-ci.yml": PIPELINE})

    first, second = both(
        [
            (repo, tmp_path / "first.json", ("-v", "WHO=first")),
            (repo, tmp_path / "second.json", ("-v", "WHO=second")),
        ]
    )

    assert (first.code, second.code) == (0, 0), first.output + second.output
    assert overlapped(first, second)
    ids = sorted(int(str(run.report["pipeline_id"])) for run in (first, second))
    assert ids == [1, 2]
    runs = repo / ".minirunner" / "runs"
    assert sorted(entry.name for entry in runs.iterdir()) == ["1", "2"]
    for run, who in ((first, "first"), (second, "second")):
        number = run.report["pipeline_id"]
        log_path = Path(run.report["jobs"][0]["log"])  # type: ignore[index]
        assert log_path == runs / str(number) / "work.log"
        assert f"who={who} pipeline={number} job={int(str(number)) * 1000 + 1}\n" in (
            run.log
        )


def test_two_runs_in_two_repositories(guarded_repo: MakeRepo, tmp_path: Path) -> None:
    one = guarded_repo({".gitlab-ci.yml": PIPELINE}, name="one")
    two = guarded_repo({".gitlab-ci.yml": PIPELINE}, name="two")

    first, second = both(
        [
            (one, tmp_path / "one.json", ("-v", "WHO=one")),
            (two, tmp_path / "two.json", ("-v", "WHO=two")),
        ]
    )

    assert (first.code, second.code) == (0, 0), first.output + second.output
    assert overlapped(first, second)
    assert [run.report["pipeline_id"] for run in (first, second)] == [1, 1]
    assert "who=one pipeline=1 job=1001\n" in first.log
    assert "who=two pipeline=1 job=1001\n" in second.log
    for repo in (one, two):
        assert (repo / ".minirunner" / "runs" / "1" / "work.log").is_file()


PUSHING = """
push:
  script:
    - echo "registry=$CI_REGISTRY image=$CI_REGISTRY_IMAGE"
    - docker tag "$TINY" "$CI_REGISTRY_IMAGE/tiny:$WHO"
    - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER"
      --password-stdin "$CI_REGISTRY"
    - docker push "$CI_REGISTRY_IMAGE/tiny:$WHO"
    - docker rmi "$CI_REGISTRY_IMAGE/tiny:$WHO"
"""


@pytest.mark.docker
def test_two_runs_push_to_one_registry_started_once(
    guarded_repo: MakeRepo,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    docker_cleanup: Cleanup,
    registry_names: tuple[str, str],
) -> None:
    require_image(docker_client, REGISTRY_IMAGE)
    name, volume = registry_names
    tiny = f"minirunner-test-tiny-{tmp_path.name.lower()}:latest"
    build_tiny_image(docker_client, tiny, docker_cleanup)
    one = guarded_repo({".gitlab-ci.yml": PUSHING}, name="one")
    two = guarded_repo({".gitlab-ci.yml": PUSHING}, name="two")
    env = {
        "MINIRUNNER_REGISTRY_NAME": name,
        "MINIRUNNER_REGISTRY_VOLUME": volume,
        "MINIRUNNER_REGISTRY_IMAGE": REGISTRY_IMAGE,
    }
    since = int(time.time())

    first, second = both(
        [
            (one, tmp_path / "one.json", ("-v", "WHO=one", "-v", f"TINY={tiny}")),
            (two, tmp_path / "two.json", ("-v", "WHO=two", "-v", f"TINY={tiny}")),
        ],
        env,
    )

    assert (first.code, second.code) == (0, 0), first.output + second.output
    info = registry_status(docker_client, name=name)
    assert isinstance(info, RegistryInfo)
    for run, repo in ((first, "one"), (second, "two")):
        assert f"registry={info.address} image={info.address}/local/{repo}\n" in run.log
        assert registry_tags(info, f"local/{repo}/tiny") == [repo]
    starts = docker_client.api.events(
        since=since,
        until=int(time.time()) + 1,
        filters={"type": "container", "container": name, "event": "start"},
        decode=True,
    )
    assert len(list(starts)) == 1
