"""Run minirunner's benchmark suite and write the results into benchmarks/README.md.

Usage:
    python3 benchmarks/run.py                      # every benchmark
    python3 benchmarks/run.py startup planning     # a subset, by name
    python3 benchmarks/run.py --quick              # half the runs
    python3 benchmarks/run.py --no-write           # print, leave the README

The peers (gitlab-ci-local, gitlabci-local) are installed on first use into
benchmarks/.peers/ (git-ignored). Each benchmark is bounded in time; the whole
suite takes about ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_logs  # noqa: E402
import bench_parallel  # noqa: E402
import bench_planning  # noqa: E402
import bench_sample  # noqa: E402
import bench_shell  # noqa: E402
import bench_startup  # noqa: E402
import peers  # noqa: E402
from report import Section, render, update_readme  # noqa: E402
from suite import (  # noqa: E402
    BENCH_DIR,
    CACHE,
    Suite,
    benchmark_env,
    editable_minirunner,
    installed_minirunner,
)

BENCHMARKS: dict[str, Callable[[Suite], Section]] = {
    "startup": bench_startup.run,
    "planning": bench_planning.run,
    "shell": bench_shell.run,
    "parallel": bench_parallel.run,
    "logs": bench_logs.run,
    "sample": bench_sample.run,
}

INTRO = """\
## The suite

`python3 benchmarks/run.py` runs every benchmark below and rewrites its section of
this file; `python3 benchmarks/run.py startup planning` runs only those
(names: {names}). `--quick` halves the runs, `--no-write` only prints.

- Every time is wall-clock seconds; **median, min and max** of several runs after one
  uncounted warm-up (slow peer rows: fewer runs, as their table says). **CPU s** is
  user + system time of the command and the processes it waited for, the median:
  it moves less than wall time when the machine is busy. **Peak MB** is the largest
  resident set of the command or of any process it waited for (`ru_maxrss`, as
  `/usr/bin/time -v` reports it).
- The rows of one table run in turns (a, b, a, b...), so every ratio compares runs
  made at the same moment.
- Peers are installed by the suite into `benchmarks/.peers/` (git-ignored):
  gitlab-ci-local from the npm registry (with a Node.js 22 from the npm registry
  when the machine's is older) and gitlabci-local (`gcil`) from PyPI in a venv.
- Each section says when and where it ran. Targets are judged on the wall-time
  median; on a busy machine (see the load average: above the number of cores,
  processes wait for a CPU) wall times stretch while CPU times hardly move, so
  targets also show the CPU time."""


def stamp(load: tuple[float, float, float], peer_set: peers.Peers) -> str:
    """When and where a section was measured."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=BENCH_DIR.parent,
        capture_output=True,
        text=True,
    ).stdout.strip()
    versions = ", ".join(
        f"{p.name} {p.version}" if p.available else f"{p.name}: {p.missing}"
        for p in (peer_set.gitlab_ci_local, peer_set.gcil)
    )
    return (
        f"Measured {when} at commit {commit} (working tree as it was), "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} at start; {versions}."
    )


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="half the runs")
    parser.add_argument("--no-write", action="store_true", help="leave README.md")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: {', '.join(BENCHMARKS)}")
    chosen = args.names or list(BENCHMARKS)

    print(f"peers: installing into {CACHE} when missing", flush=True)
    peer_set = peers.install(CACHE)
    print("minirunner: installing the working tree into a venv", flush=True)
    installed = installed_minirunner(CACHE)
    sections: list[tuple[Section, str]] = []
    with tempfile.TemporaryDirectory(prefix="minirunner-bench-") as work:
        suite = Suite(
            work=Path(work),
            peers=peer_set,
            minirunner=installed,
            editable=editable_minirunner(),
            env=benchmark_env(),
            runs=0.5 if args.quick else 1.0,
        )
        for name in chosen:
            load = os.getloadavg()
            started = time.perf_counter()
            print(f"== {name}", flush=True)
            section = BENCHMARKS[name](suite)
            note = stamp(load, peer_set)
            sections.append((section, note))
            print(render(section, note), flush=True)
            print(f"({name}: {time.perf_counter() - started:.0f} s)\n", flush=True)
    if not args.no_write:
        intro = INTRO.format(names=", ".join(BENCHMARKS))
        update_readme(BENCH_DIR / "README.md", intro, sections)
        print(f"wrote {BENCH_DIR / 'README.md'}")


if __name__ == "__main__":
    main()
