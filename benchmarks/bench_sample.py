"""Benchmark 7: the sample pipeline end to end (tag: build, push, cleanup)."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Mapping

from measure import Row, command, measure
from report import TIMING_COLUMNS, Section, Table, timing_cells
from suite import REGISTRY_NAME, REPO_ROOT, Suite, clone

RUNS = 3
TAG = "v1.0.0-bench"
BASE_IMAGE = "minirunner/python:3.11"
CACHE_TAG = "minirunner-bench-sample-cache"
HAND = "the same commands in a shell script"
MR = f"`minirunner run -v BASE_IMAGE={BASE_IMAGE}`"
GCL = "`gitlab-ci-local`, registry variables passed by `--variable`"
GCIL = "`gcil --pipeline --host`, registry variables passed by `-e`"
INTRO = (
    "`minirunner run -v BASE_IMAGE=minirunner/python:3.11` in a clone of this "
    f"repository tagged `{TAG}`: the tag pipeline builds the sample's image, "
    "logs in to the local registry, pushes, and removes the image, each job in "
    "its slot's checkout of the commit, fetched, reset and cleaned (GitLab's "
    "`fetch` Git strategy; the warm-up makes the slot). Against it, the same "
    "four commands (`docker build`, "
    "`docker login`, `docker push`, `docker rmi`) in one shell script, with the "
    "values minirunner gives the jobs (`minirunner vars build --json`, "
    "`minirunner registry password`), against the same registry, already "
    f"running (`{REGISTRY_NAME}`). One uncounted warm-up pushes the layers, so "
    "the counted runs all find them in the registry; the same image, built once "
    f"more as `{CACHE_TAG}` and kept until the end, keeps the build's layers "
    "in the cache when `docker rmi` removes the pipeline's tag. "
    "The peers cannot know the local registry or see the tag (gitlab-ci-local "
    "reads no `CI_COMMIT_TAG` from git), so they get `CI_COMMIT_TAG`, "
    "`CI_REGISTRY*` and `DOCKER_IMAGE_TAG` on their command lines. Ratios are to "
    "the script's median."
)


def _not_run(reason: str) -> Section:
    return Section(
        key="sample",
        heading="7. The sample pipeline end to end",
        intro=INTRO,
        tables=(Table(("command", "result"), ((MR, f"not run: {reason}"),)),),
    )


def _output(argv: list[str], cwd: object, env: Mapping[str, str]) -> str:
    return subprocess.run(
        argv, cwd=str(cwd), env=dict(env), capture_output=True, text=True, check=True
    ).stdout


def run(suite: Suite) -> Section:
    """Run the tag pipeline and the hand-written script, in turns."""
    env = dict(suite.env)
    docker = subprocess.run(
        ["docker", "image", "inspect", BASE_IMAGE], capture_output=True, env=env
    )
    if docker.returncode != 0:
        return _not_run(
            f"no Docker engine with the image {BASE_IMAGE} "
            "(scripts/build-offline-images)"
        )
    folder = suite.folder("sample")
    repo = clone(REPO_ROOT, folder / "sample")
    subprocess.run(["git", "tag", TAG], cwd=repo, check=True)
    mr = suite.minirunner
    _output([*mr, "registry", "up"], repo, env)
    build = ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"]
    try:
        _output([*build, "-t", CACHE_TAG, "."], repo, env)
        values = json.loads(_output([*mr, "vars", "build", "--json"], repo, env))
        password = _output([*mr, "registry", "password"], repo, env).strip()
        image = f"{values['CI_REGISTRY_IMAGE']}:{values['DOCKER_IMAGE_TAG']}"
        script = "\n".join(
            [
                "set -eu",
                f"docker build --build-arg BASE_IMAGE={BASE_IMAGE} -t {image} .",
                f"echo {shlex.quote(password)} | docker login"
                f" -u {values['CI_REGISTRY_USER']}"
                f" --password-stdin {values['CI_REGISTRY']}",
                f"docker push {image}",
                f"docker rmi {image}",
            ]
        )
        given = {
            "CI_COMMIT_TAG": TAG,
            "CI_REGISTRY": values["CI_REGISTRY"],
            "CI_REGISTRY_IMAGE": values["CI_REGISTRY_IMAGE"],
            "CI_REGISTRY_USER": values["CI_REGISTRY_USER"],
            "CI_REGISTRY_PASSWORD": password,
            "DOCKER_IMAGE_TAG": values["DOCKER_IMAGE_TAG"],
            "BASE_IMAGE": BASE_IMAGE,
        }
        rows = [
            Row(
                HAND,
                command(["bash", "-c", script], cwd=repo, env=env, timeout=300),
                suite.count(RUNS),
            ),
            Row(
                MR,
                command(
                    [*mr, "run", "-v", f"BASE_IMAGE={BASE_IMAGE}"],
                    cwd=repo,
                    env=env,
                    timeout=300,
                ),
                suite.count(RUNS),
            ),
        ]
        gcl = suite.peers.gitlab_ci_local
        if gcl.available:
            args = [f"--variable={key}={value}" for key, value in given.items()]
            quiet = ["--ignore-predefined-vars", ",".join(given)]
            rows.append(
                Row(
                    GCL,
                    command(
                        [*gcl.argv, *args, *quiet],
                        cwd=repo,
                        env=suite.peer_env(gcl),
                        timeout=300,
                    ),
                    suite.count(RUNS),
                )
            )
        gcil = suite.peers.gcil
        if gcil.available:
            args = [f"-e{key}={value}" for key, value in given.items()]
            rows.append(
                Row(
                    GCIL,
                    suite.gcil_pipeline(repo, *args, timeout=300),
                    suite.count(RUNS),
                )
            )
        results = measure(rows)
    finally:
        subprocess.run(["docker", "rmi", CACHE_TAG], capture_output=True, env=env)
        _output([*mr, "registry", "down", "--purge"], repo, env)
    hand = results[HAND]
    table_rows = [
        (
            label,
            *timing_cells(series),
            f"{series.median / hand.median:.2f}×" if series.ok and hand.ok else "",
        )
        for label, series in results.items()
    ]
    mine = results[MR]
    notes = []
    if mine.ok and hand.ok:
        notes.append(
            f"minirunner's own cost over the script: "
            f"{mine.median - hand.median:.2f} s for 3 jobs "
            "(planning, registry check, three checkouts, logs)."
        )
    return Section(
        key="sample",
        heading="7. The sample pipeline end to end",
        intro=INTRO,
        tables=(Table(("command", *TIMING_COLUMNS, "× script"), tuple(table_rows)),),
        notes=tuple(notes),
    )
