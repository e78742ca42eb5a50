"""Benchmark 2: planning generated pipelines of 100, 1,000 and 5,000 jobs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from generate import make_repo
from measure import Row, Series, command, measure
from peers import Peer
from report import TIMING_COLUMNS, Section, Table, Target, ratio, timing_cells
from suite import Suite

TARGET_1000 = 0.5
TARGET_SPEEDUP = 5.0
TARGET_SCALING = 6.0
SPEEDUP_GOAL = f"1,000 jobs at least {TARGET_SPEEDUP:.0f}× faster than gitlab-ci-local"
GCIL_JOB = re.compile(rb"^job-\d{5}:", re.MULTILINE)


@dataclass(frozen=True)
class Size:
    """How often each tool plans a pipeline of `jobs` jobs, and its time limit.

    gitlab-ci-local grows much faster than linearly (about 27 s for 1,000
    jobs here), so at the larger sizes it runs fewer times, without warm-up,
    and is stopped at its limit.
    """

    jobs: int
    runs: int
    peer_runs: int
    peer_warmup: bool
    peer_timeout: float


SIZES = (
    Size(100, 5, 5, True, 60),
    Size(1000, 5, 3, False, 90),
    Size(5000, 5, 1, False, 60),
)


def count_jobs(label: str, output: Path) -> str:
    """How many jobs a tool's output lists (empty when it wrote nothing usable)."""
    data = output.read_bytes() if output.exists() else b""
    try:
        if label == "minirunner":
            return str(len(json.loads(data)["jobs"]))
        if label == "gitlab-ci-local":
            return str(len(json.loads(data)))
    except (ValueError, KeyError, TypeError):
        return ""
    return str(len(GCIL_JOB.findall(data)))


PEERS = (
    ("gitlab-ci-local", ["--list-json"]),
    ("gitlabci-local", ["--no-color", "--dump"]),
)


def _measure_size(
    suite: Suite, folder: Path, size: Size
) -> tuple[dict[str, Series], dict[str, Path]]:
    """Plan one generated pipeline with every tool, in turns."""
    repo = make_repo(folder / str(size.jobs), size.jobs)
    rows: list[Row] = []
    outputs: dict[str, Path] = {}
    tools: list[tuple[str, list[str], int, bool, float, dict[str, str]]] = [
        (
            "minirunner",
            [*suite.minirunner, "list", "--json"],
            size.runs,
            True,
            60,
            dict(suite.env),
        ),
    ]
    for peer, (_, args) in zip(_peers(suite), PEERS, strict=True):
        if peer.available:
            tools.append(
                (
                    peer.name,
                    [*peer.argv, *args],
                    size.peer_runs,
                    size.peer_warmup,
                    size.peer_timeout,
                    suite.peer_env(peer),
                )
            )
    for label, argv, runs, warmup, timeout, env in tools:
        outputs[label] = folder / f"{size.jobs}-{label}.out"
        action = command(
            argv, cwd=repo, env=env, timeout=timeout, output=outputs[label]
        )
        rows.append(Row(label, action, suite.count(runs), warmup))
    return measure(rows), outputs


def _peers(suite: Suite) -> tuple[Peer, Peer]:
    return suite.peers.gitlab_ci_local, suite.peers.gcil


def run(suite: Suite) -> Section:
    """Plan each size with each tool, in turns."""
    folder = suite.folder("planning")
    table_rows: list[tuple[str, ...]] = []
    mr_medians: dict[int, Series] = {}
    gcl_1000: Series | None = None
    for size in SIZES:
        results, outputs = _measure_size(suite, folder, size)
        mine = results["minirunner"]
        mr_medians[size.jobs] = mine
        for label, series in results.items():
            other = series.samples[-1] if series.samples else None
            stopped = other is not None and other.timed_out
            if label == "minirunner":
                versus = "1.0×"
            elif series.ok or stopped:
                value = other.wall if stopped and other else series.median
                versus = ratio(value, mine.median, lower_bound=stopped)
            else:
                versus = ""
            if label == "gitlab-ci-local" and size.jobs == 1000:
                gcl_1000 = series
            table_rows.append(
                (
                    f"{size.jobs:,}",
                    _command(label),
                    count_jobs(label, outputs[label]) if series.ok else "",
                    *timing_cells(series),
                    versus,
                )
            )
        for peer in _peers(suite):
            if not peer.available:
                table_rows.append(
                    (
                        f"{size.jobs:,}",
                        peer.name,
                        "",
                        "0",
                        f"not run: {peer.missing}",
                        "",
                        "",
                        "",
                        "",
                        "",
                    )
                )

    targets = _targets(mr_medians, gcl_1000)
    return Section(
        key="planning",
        heading="2. Planning large pipelines",
        intro=(
            "`benchmarks/generate.py` writes a git repository whose pipeline has N "
            "jobs over 10 stages: two-level `extends` (a list), YAML anchors and "
            "merge keys, `!reference` in `script` and `after_script`, `default:`, "
            "`cache`/`artifacts`, rules with `if` (`==`, `=~`, `&&`, `||`), "
            "`changes`, `exists` and rule `variables`, and two `needs` per job "
            "into the previous stage. Its `origin/main` is one commit behind, the "
            "last commit touching a quarter of the modules, so `changes` really "
            "compares. Each tool prints the plan: `minirunner list --json`, "
            "`gitlab-ci-local --list-json`, and gitlabci-local's nearest "
            "equivalent `gcil --dump` (the parsed configuration: it has no "
            "listing that evaluates rules, and ignores `changes` and `needs`). "
            "Rows of one size run in turns; the ratio is the tool's median over "
            "minirunner's (higher is slower). Peak MB is the process's maximum "
            "resident set."
        ),
        tables=(
            Table(
                ("jobs", "command", "jobs listed", *TIMING_COLUMNS, "× minirunner"),
                tuple(table_rows),
            ),
        ),
        targets=targets,
        notes=(
            "A stopped row was killed at its time limit: its ratio is a lower "
            "bound. gitlab-ci-local grows about quadratically with the number of "
            "jobs (its `needs` and rules evaluation), so 5,000 jobs run for "
            "minutes.",
        ),
    )


def _command(label: str) -> str:
    return {
        "minirunner": "`minirunner list --json`",
        "gitlab-ci-local": "`gitlab-ci-local --list-json`",
        "gitlabci-local": "`gcil --dump`",
    }[label]


def _targets(mr: dict[int, Series], gcl: Series | None) -> tuple[Target, ...]:
    thousand = mr[1000]
    five = mr[5000]
    targets = [
        Target(
            f"1,000 jobs under {TARGET_1000} s",
            f"{thousand.median:.3f} s (CPU {thousand.cpu_median:.3f} s)",
            thousand.ok and thousand.median < TARGET_1000,
        ),
    ]
    if gcl is not None and gcl.samples:
        last = gcl.samples[-1]
        value = last.wall if last.timed_out else gcl.median
        speedup = value / thousand.median
        prefix = "> " if last.timed_out else ""
        targets.append(
            Target(
                SPEEDUP_GOAL,
                f"{prefix}{speedup:.1f}×",
                speedup >= TARGET_SPEEDUP if (gcl.ok or last.timed_out) else None,
            )
        )
    else:
        targets.append(
            Target(
                SPEEDUP_GOAL,
                "gitlab-ci-local not available",
                None,
            )
        )
    scaling = five.median / thousand.median
    targets.append(
        Target(
            f"5,000 jobs within {TARGET_SCALING:.0f}× the 1,000-job time",
            f"{scaling:.1f}× ({five.median:.3f} s; CPU "
            f"{five.cpu_median / thousand.cpu_median:.1f}×)",
            five.ok and scaling <= TARGET_SCALING,
        )
    )
    return tuple(targets)
