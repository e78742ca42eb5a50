"""How much a Docker job costs over a bare `docker run --rm IMAGE true`.

Runs, each a few times, and prints the median seconds of each and its ratio to
the baseline:

- baseline: JOBS sequential `docker run --rm IMAGE true`;
- executor: JOBS sequential trivial jobs through DockerExecutor.run (checkout
  bind-mounted, then copied in by put_archive);
- pipeline: `minirunner run --executor docker` of a pipeline of JOBS trivial jobs
  in one stage (the whole command: planning, checkouts, logs), with the default
  concurrency and with `-j 1`.

Usage: python3 benchmarks/docker_overhead.py [--jobs 20] [--runs 3] [--image NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from minirunner.config.model import Image, Job  # noqa: E402
from minirunner.executors.base import JobRequest  # noqa: E402
from minirunner.executors.docker import DockerExecutor  # noqa: E402
from minirunner.output import Console  # noqa: E402

PROJECT_DIR = "/builds/bench/project"


def baseline(image: str, jobs: int) -> None:
    """JOBS plain `docker run --rm`, one after the other."""
    for _ in range(jobs):
        subprocess.run(["docker", "run", "--rm", image, "true"], check=True)


def executor_jobs(image: str, jobs: int, *, bind: bool) -> None:
    """JOBS trivial jobs through the executor, one after the other."""
    executor = DockerExecutor(Console(quiet=True), bind_checkout=bind)
    try:
        with tempfile.TemporaryDirectory() as folder:
            for number in range(jobs):
                checkout = Path(folder, str(number), "build")
                scratch = Path(folder, str(number), "tmp")
                checkout.mkdir(parents=True)
                scratch.mkdir()
                (checkout / "README").write_text("bench\n")
                request = JobRequest(
                    job=Job(
                        name=f"job{number}",
                        stage="test",
                        image=Image(image),
                        script=("true",),
                    ),
                    env={"CI_PROJECT_DIR": PROJECT_DIR},
                    checkout=checkout,
                    project_dir=PROJECT_DIR,
                    scratch=scratch,
                    timeout_s=60,
                    emit=lambda line: None,
                )
                outcome = executor.run(request)
                assert outcome.status == "success", outcome
    finally:
        executor.close()


def pipeline(repo: Path, *options: str) -> None:
    """`minirunner run` of the benchmark pipeline."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "minirunner",
            "run",
            "-q",
            "--executor",
            "docker",
            *options,
        ],
        cwd=repo,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def make_repo(folder: Path, image: str, jobs: int) -> Path:
    """A git repository whose pipeline is JOBS trivial jobs of one stage."""
    repo = folder / "repo"
    repo.mkdir()
    lines = ["stages: [test]"]
    for number in range(jobs):
        lines += [f"job{number}:", f"  image: {image}", "  script: ['true']"]
    (repo / ".gitlab-ci.yml").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "commit",
            "-q",
            "-m",
            "bench",
        ],
    ):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def median_seconds(work: Callable[[], None], runs: int) -> float:
    """The median wall time of `runs` calls of `work` (after one warm-up)."""
    work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", default="minirunner/python:3.11")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        repo = make_repo(Path(folder), args.image, args.jobs)
        cases: list[tuple[str, Callable[[], None]]] = [
            ("docker run --rm (baseline)", lambda: baseline(args.image, args.jobs)),
            (
                "executor, bind-mounted checkout",
                lambda: executor_jobs(args.image, args.jobs, bind=True),
            ),
            (
                "executor, put_archive checkout",
                lambda: executor_jobs(args.image, args.jobs, bind=False),
            ),
            ("minirunner run (default -j)", lambda: pipeline(repo)),
            ("minirunner run -j 1", lambda: pipeline(repo, "-j", "1")),
        ]
        base = 0.0
        print(f"{args.jobs} trivial jobs in {args.image}, median of {args.runs} runs")
        for label, work in cases:
            try:
                seconds = median_seconds(work, args.runs)
            except subprocess.CalledProcessError as error:
                print(f"{label:34} failed: exit status {error.returncode}")
                continue
            base = base or seconds
            print(
                f"{label:34} {seconds:7.2f} s  {seconds / args.jobs:6.3f} s/job"
                f"  ratio {seconds / base:4.2f}"
            )


if __name__ == "__main__":
    main()
