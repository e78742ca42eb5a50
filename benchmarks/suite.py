"""What every benchmark gets: folders, the commands to run, their environments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from measure import Sample, command, run_once
from peers import Peer, Peers

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CACHE = BENCH_DIR / ".peers"
# A registry of the suite's own, so a test run elsewhere cannot stop it mid-way.
REGISTRY_NAME = "minirunner-bench-registry"
_NOT_IN_THE_WHEEL = (
    ".git",
    ".minirunner",
    "benchmarks",
    "build",
    "*.egg-info",
    "__pycache__",
)


@dataclass(frozen=True)
class Suite:
    """The shared setup of one run of the suite.

    `minirunner` is the entry-point script of a wheel of the working tree,
    installed into a venv of the suite's: what a user runs. `editable` is the
    checkout's editable install, as minirunner's developers run it (a version
    manager's shim on PATH, pyenv here, adds its own start time); the start-up
    benchmark measures both. `runs` scales how many times each row runs (1.0 as
    configured; `--quick` halves it).
    """

    work: Path
    peers: Peers
    minirunner: tuple[str, ...]
    editable: tuple[str, ...]
    env: Mapping[str, str]
    runs: float

    def count(self, runs: int) -> int:
        """How many runs a row configured for `runs` gets in this suite."""
        return max(1, round(runs * self.runs))

    def peer_env(self, peer: Peer) -> dict[str, str]:
        """The environment a peer runs with."""
        return {**self.env, **dict(peer.env)}

    def gcil_pipeline(
        self, repo: Path, *extra: str, timeout: float
    ) -> Callable[[], Sample]:
        """gitlabci-local running the whole pipeline on this machine (no image)."""
        gcil = self.peers.gcil
        return command(
            [*gcil.argv, "--no-color", "--pipeline", "--host", *extra],
            cwd=repo,
            env=self.peer_env(gcil),
            timeout=timeout,
        )

    def folder(self, name: str) -> Path:
        """A fresh scratch folder for one benchmark."""
        path = self.work / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def run(
        self,
        argv: Sequence[str],
        cwd: Path,
        *,
        timeout: float = 120,
        env: Mapping[str, str] | None = None,
    ) -> Sample:
        """Run a command once (for setup or a check), output discarded."""
        return run_once(argv, cwd=cwd, env=env or self.env, timeout=timeout)


def installed_minirunner(cache: Path) -> tuple[str, ...]:
    """minirunner as `pip install` gives it to a user: a wheel of the working tree
    in a venv of its own (the peers are measured as installed from their
    registries, too). Its dependencies are installed from PyPI on first use."""
    venv = cache / "minirunner-venv"
    python = venv / "bin" / "python"

    def quietly(*argv: str) -> None:
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)

    if not python.exists():
        quietly(sys.executable, "-m", "venv", str(venv))
    with tempfile.TemporaryDirectory(prefix="minirunner-wheel-") as scratch:
        # A copy, so the build leaves nothing in the checkout and nothing stale
        # from an earlier build gets into the wheel.
        source = Path(scratch) / "source"
        shutil.copytree(
            REPO_ROOT,
            source,
            ignore=shutil.ignore_patterns(
                ".git",
                ".minirunner",
                "benchmarks",
                "build",
                "*.egg-info",
                "__pycache__",
            ),
        )
        install = (str(python), "-m", "pip", "install", "-q")
        quietly(*install, str(source))
        quietly(*install, "--no-deps", "--force-reinstall", str(source))
    return (str(venv / "bin" / "minirunner"),)


def editable_minirunner() -> tuple[str, ...]:
    """The `minirunner` entry point of this checkout's editable install (beside
    this Python, else on PATH), as a developer of minirunner runs it."""
    beside = Path(sys.executable).parent / "minirunner"
    if beside.exists():
        return (str(beside),)
    found = shutil.which("minirunner")
    if found is None:
        raise SystemExit("minirunner is not installed: pip install -e .")
    return (found,)


def benchmark_env() -> dict[str, str]:
    """The environment of every measured command.

    Bytecode is cached, as it is for an installed package (this sandbox sets
    PYTHONDONTWRITEBYTECODE, which makes every start compile minirunner anew:
    measured apart in the start-up benchmark). The cache lives in the suite's
    folder so the checkout stays untouched.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    env["MINIRUNNER_REGISTRY_NAME"] = REGISTRY_NAME
    env["NO_COLOR"] = "1"
    return env


def git_repo(repo: Path, files: Mapping[str, str]) -> Path:
    """Write `files` into a new git repository with one commit and an origin.

    The bare origin holds the commit as `main`, as a clone of a hosted project
    would: gitlab-ci-local needs `origin` to exist.
    """
    from generate import git

    repo.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    origin = repo.parent / f"{repo.name}-origin.git"
    git(repo.parent, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Benchmark pipeline")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "-u", "origin", "main")
    git(repo, "remote", "set-head", "origin", "main")
    return repo


def clone(source: Path, dest: Path) -> Path:
    """A local clone of `source` (its committed HEAD)."""
    subprocess.run(
        ["git", "clone", "-q", str(source), str(dest)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return dest


def pipeline_repo(
    repo: Path, stages: Sequence[str], jobs: Sequence[tuple[str, str, str]]
) -> Path:
    """A git repository whose pipeline has `jobs` (name, stage, one script line).

    Jobs have no image, so every tool runs them in a shell on this machine.
    """
    lines = [f"stages: [{', '.join(stages)}]", ""]
    for name, stage, script in jobs:
        quoted = script.replace("'", "''")
        lines += [f"{name}:", f"  stage: {stage}", f"  script: ['{quoted}']", ""]
    return git_repo(repo, {".gitlab-ci.yml": "\n".join(lines)})
