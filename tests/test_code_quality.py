"""The project's own checks run with the suite, so they cannot rot."""

from __future__ import annotations

import subprocess
import sys

from docker_support import REPO_ROOT


def check(*command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_lint() -> None:
    check("ruff", "check", "minirunner", "tests", "benchmarks", "sample_project")


def test_ruff_format() -> None:
    check("ruff", "format", "--check", "minirunner", "tests", "benchmarks")


def test_mypy_strict() -> None:
    check("mypy", "minirunner")
