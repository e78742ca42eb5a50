"""Names and values reach jobs only as data, never as shell code.

Job names, variable names and values, branch and tag names, commit messages and
`-v` values full of `$(...)`, backticks, `;`, quotes, newlines and non-ASCII
text: a job sees each exactly as written, and none of the commands hidden in
them runs (each would create a marker file).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import yaml
from cli_support import minirunner
from conftest import MakeRepo
from docker_support import PYTHON_IMAGE, require_image
from repo_guard import guard_make_repo

# Every repository this module's tests make is guarded.
make_repo = guard_make_repo()


@pytest.fixture
def marker_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder for marker files with a short path: job names hold up to three
    marker paths and GitLab allows 255 characters. Removed after the test."""
    short = Path("/tmp") if Path("/tmp").is_dir() else tmp_path
    folder = Path(tempfile.mkdtemp(prefix="mr-", dir=short))
    yield folder
    shutil.rmtree(folder)


def hostile(marker: Path, tag: str) -> str:
    """Text that runs `>marker-tag` (creating the file) wherever a shell evaluates
    it: a command substitution, backticks, and after `;`, with quotes, a
    newline and non-ASCII text around them."""
    path = f"{marker}-{tag}"
    return f"$(>{path}-dollar) `>{path}-tick`; >{path}-semi 'q' \"dq\"\né名 & | <x"


def markers(folder: Path) -> list[str]:
    """The marker files a hostile text would have made."""
    return sorted(path.name for path in folder.iterdir())


def printed(name: str) -> str:
    """A script line that prints variable `name` between brackets."""
    return f"printf '[%s]\\n' \"${{{name}}}\""


def log_of(report: Path, job: str) -> str:
    jobs = json.loads(report.read_text())["jobs"]
    found = [entry for entry in jobs if entry["name"] == job]
    assert len(found) == 1, jobs
    assert found[0]["status"] == "success", found[0]
    return Path(found[0]["log"]).read_text()


def test_hostile_names_and_values_reach_the_job_as_written(
    make_repo: MakeRepo, tmp_path: Path, marker_dir: Path
) -> None:
    marker = marker_dir / "pwned"
    job = hostile(marker, "job")
    value = hostile(marker, "value")
    config = {
        "variables": {"HOSTILE": value, "NAME WITH SPACES": "spaced out"},
        job: {
            "script": [
                printed("CI_JOB_NAME"),
                printed("HOSTILE"),
                printed("FROM_CLI"),
                printed("CI_COMMIT_REF_NAME"),
                printed("CI_COMMIT_MESSAGE"),
                "env | grep -a '^NAME WITH SPACES='",
            ]
        },
    }
    branch = f"x$(>{marker}-branch)`>{marker}-tick`;>{marker}-semi'q\"é"
    message = hostile(marker, "commit")
    repo = make_repo(
        {".gitlab-ci.yml": yaml.safe_dump(config, allow_unicode=True)},
        branch=branch,
        message=message,
    )
    report = tmp_path / "report.json"
    cli_value = hostile(marker, "cli")

    done = minirunner(
        repo, "run", "--report", str(report), "-v", f"FROM_CLI={cli_value}"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    log = log_of(report, job)
    assert f"[{job}]\n" in log
    assert f"[{value}]\n" in log
    assert f"[{cli_value}]\n" in log
    assert f"[{branch}]\n" in log
    assert f"[{message}\n]\n" in log
    assert "NAME WITH SPACES=spaced out\n" in log
    assert markers(marker_dir) == []


def test_a_hostile_tag_name(
    make_repo: MakeRepo, tmp_path: Path, marker_dir: Path
) -> None:
    marker = marker_dir / "pwned"
    tag = f"v1$(>{marker}-tag)`>{marker}-tick`;>{marker}-semi"
    config = {"release": {"script": [printed("CI_COMMIT_TAG")]}}
    repo = make_repo({".gitlab-ci.yml": yaml.safe_dump(config)}, tag=tag)
    report = tmp_path / "report.json"

    done = minirunner(repo, "run", "--report", str(report))

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"[{tag}]\n" in log_of(report, "release")
    assert markers(marker_dir) == []


def test_names_are_data_in_what_minirunner_prints(
    make_repo: MakeRepo, marker_dir: Path
) -> None:
    marker = marker_dir / "pwned"
    job = hostile(marker, "job")
    config = {job: {"script": ["true"], "variables": {"V": hostile(marker, "v")}}}
    repo = make_repo({".gitlab-ci.yml": yaml.safe_dump(config)})

    listed = minirunner(repo, "list", "--json")
    shown = minirunner(repo, "vars", job, "--json")

    assert listed.returncode == 0, listed.stderr
    assert [entry["name"] for entry in json.loads(listed.stdout)["jobs"]] == [job]
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert (values["CI_JOB_NAME"], values["V"]) == (job, hostile(marker, "v"))
    assert markers(marker_dir) == []


def test_a_job_name_with_a_newline_runs(make_repo: MakeRepo, tmp_path: Path) -> None:
    config = {"two\nlines": {"script": [printed("CI_JOB_NAME")]}}
    repo = make_repo({".gitlab-ci.yml": yaml.safe_dump(config)})
    report = tmp_path / "report.json"

    done = minirunner(repo, "run", "--report", str(report))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "[two\nlines]\n" in log_of(report, "two\nlines")


@pytest.mark.docker
def test_hostile_names_in_a_container(
    make_repo: MakeRepo,
    tmp_path: Path,
    marker_dir: Path,
    docker_client: docker.DockerClient,
) -> None:
    require_image(docker_client, PYTHON_IMAGE)
    marker = marker_dir / "pwned"
    job = hostile(marker, "job")
    value = hostile(marker, "value")
    config = {
        job: {
            "image": PYTHON_IMAGE,
            "variables": {"HOSTILE": value},
            "script": [printed("CI_JOB_NAME"), printed("HOSTILE")],
        }
    }
    repo = make_repo({".gitlab-ci.yml": yaml.safe_dump(config, allow_unicode=True)})
    report = tmp_path / "report.json"

    done = minirunner(repo, "run", "--report", str(report))

    assert done.returncode == 0, done.stdout + done.stderr
    log = log_of(report, job)
    assert f"[{job}]\n" in log
    assert f"[{value}]\n" in log
    left = docker_client.containers.list(
        all=True, filters={"label": f"minirunner.job={job}"}
    )
    assert left == []


def test_a_variable_name_no_environment_can_hold(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    config = {"variables": {"A=B": "x"}, "job": {"script": ["echo ran"]}}
    repo = make_repo({".gitlab-ci.yml": yaml.safe_dump(config)})

    done = minirunner(repo, "run", "--color", "never")

    assert done.returncode in (0, 1)
    assert "Traceback" not in done.stdout + done.stderr
    log = (repo / ".minirunner" / "runs" / "1" / "job.log").read_text()
    assert "A=B" in log


def test_a_dotenv_value_no_environment_can_hold(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    config = {
        "stages": ["make", "use"],
        "make": {
            "stage": "make",
            "script": ["printf 'X=a\\000b\\nY=ok\\n' > build.env"],
            "artifacts": {"reports": {"dotenv": "build.env"}},
        },
        "use": {"stage": "use", "script": [printed("Y")]},
    }
    repo = make_repo({".gitlab-ci.yml": yaml.safe_dump(config)})
    report = tmp_path / "report.json"

    done = minirunner(repo, "run", "--report", str(report))

    assert "Traceback" not in done.stdout + done.stderr
    assert "[ok]\n" in log_of(report, "use")
