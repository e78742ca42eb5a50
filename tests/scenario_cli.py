"""Run minirunner's command line for the scenarios, one process per command."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CLI_TIMEOUT_S = 120
PRELOAD = (
    "minirunner.cli",
    "minirunner.session",
    "minirunner.context",
    "minirunner.plan",
    "minirunner.runner",
    "minirunner.results",
    "minirunner.executors.shell",
)


@dataclass(frozen=True)
class Done:
    """The exit status and output of one command."""

    returncode: int
    stdout: str
    stderr: str


def cli(repo: Path, args: Sequence[str], env: Mapping[str, str]) -> Done:
    """Run `minirunner ARGS` in repo, as `python -m minirunner ARGS` would.

    By default the command runs in a child forked from this (single-threaded)
    process, which has minirunner imported already: the same entry point, argv,
    folder, environment and exit status as a new interpreter, without paying
    Python's start-up for each of the suite's several hundred commands. Set
    MINIRUNNER_SCENARIOS_SUBPROCESS=1 to start `python -m minirunner` instead.
    """
    if os.environ.get("MINIRUNNER_SCENARIOS_SUBPROCESS") or not hasattr(os, "fork"):
        done = subprocess.run(
            [sys.executable, "-m", "minirunner", *args],
            cwd=repo,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
        return Done(done.returncode, done.stdout, done.stderr)
    return _forked(repo, args, env)


def preload() -> None:
    """Import what the commands use, once, before forking them."""
    for module in PRELOAD:
        importlib.import_module(module)


def _forked(repo: Path, args: Sequence[str], env: Mapping[str, str]) -> Done:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: become `minirunner ARGS` and never return
            _run_main(repo, args, env, out.fileno(), err.fileno())
        code = _wait(pid)
        out.seek(0)
        err.seek(0)
        return Done(
            code,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def _run_main(
    repo: Path, args: Sequence[str], env: Mapping[str, str], out: int, err: int
) -> None:
    code = 70
    try:
        os.setsid()
        os.chdir(repo)
        os.environ.clear()
        os.environ.update(env)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.argv = ["minirunner", *args]
        from minirunner.cli import main

        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(bool(exit_.code))
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int) -> int:
    deadline = time.monotonic() + CLI_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -signal.SIGKILL
        time.sleep(0.01)
