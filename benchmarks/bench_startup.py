"""Benchmark 1: start-up, `minirunner --version` and `minirunner list` on the sample."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from measure import Row, command, measure
from report import TIMING_COLUMNS, Section, Table, Target, ratio, timing_cells
from suite import CACHE, REPO_ROOT, Suite, clone

RUNS = 10
VERSION_TARGET = 0.15
LIST_TARGET = 0.35
EDITABLE = "editable install"


def run(suite: Suite) -> Section:
    """Measure the start-up rows and compare them with Python's own start."""
    folder = suite.folder("startup")
    sample = clone(REPO_ROOT, folder / "sample")
    runs = suite.count(RUNS)
    env = suite.env
    # As this sandbox runs it: site-packages and the standard library have their
    # bytecode, the editable checkout has none and none is written.
    uncached = {
        key: value for key, value in env.items() if key != "PYTHONPYCACHEPREFIX"
    }
    uncached["PYTHONDONTWRITEBYTECODE"] = "1"
    mr = suite.minirunner

    def row(
        label: str,
        argv: list[str],
        run_env: dict[str, str] | None = None,
        note: str = "",
    ) -> Row:
        action = command(argv, cwd=sample, env=run_env or dict(env), timeout=30)
        return Row(label, action, runs, note=note)

    venv_python = str(Path(mr[0]).parent / "python")
    editable = suite.editable
    rows = [
        row(
            "`python3 -c pass` (the interpreter alone, in minirunner's venv)",
            [venv_python, "-c", "pass"],
        ),
        row("`minirunner --version`", [*mr, "--version"]),
        row("`minirunner list`", [*mr, "list"]),
        row("`minirunner list --json`", [*mr, "list", "--json"]),
        row(
            "`python3 -c pass` with this machine's site-packages",
            [sys.executable, "-c", "pass"],
        ),
        row(f"`minirunner --version`, {EDITABLE}", [*editable, "--version"]),
        row(f"`minirunner list`, {EDITABLE}", [*editable, "list"]),
        row(
            f"`minirunner --version`, {EDITABLE}, no bytecode cache",
            [*editable, "--version"],
            uncached,
        ),
        row(
            f"`minirunner list`, {EDITABLE}, no bytecode cache",
            [*editable, "list"],
            uncached,
        ),
    ]
    on_path = shutil.which("minirunner", path=env.get("PATH"))
    if on_path and on_path != editable[0]:
        rows.append(
            row(
                f"`minirunner --version`, {EDITABLE}, through PATH ({on_path})",
                [on_path, "--version"],
            )
        )
    for peer in (suite.peers.gitlab_ci_local, suite.peers.gcil):
        if peer.available:
            rows.append(
                row(
                    f"`{peer.name} --version`",
                    [*peer.argv, "--version"],
                    suite.peer_env(peer),
                )
            )
    results = measure(rows)
    base = results[rows[0].label].median
    version = results["`minirunner --version`"]
    listing = results["`minirunner list`"]

    table_rows = [
        (label, *timing_cells(series), ratio(series.median, base))
        for label, series in results.items()
    ]
    for peer in (suite.peers.gitlab_ci_local, suite.peers.gcil):
        if not peer.available:
            table_rows.append(
                (f"`{peer.name}`", "", f"not run: {peer.missing}", "", "", "", "", "")
            )
    return Section(
        key="startup",
        heading="1. Start-up",
        intro=(
            "Each command runs in a clone of this repository (the sample project), "
            "after one uncounted warm-up, the rows in turns. `minirunner` is the "
            "entry-point script of a wheel of the working tree, installed into a "
            "venv (`.peers/minirunner-venv`) as a user installs it; the editable "
            "rows run this checkout's `pip install -e .`, as minirunner's "
            "developers do, with this machine's site-packages (a setuptools finder "
            "loaded at every start, and this sandbox's own `.pth` hook). Bytecode "
            f"is cached (in `{CACHE.name}/pycache`) as for any installed package, "
            "except in the rows that say otherwise. Ratios are to the venv's "
            "`python3 -c pass` of the same run."
        ),
        tables=(
            Table((*("command",), *TIMING_COLUMNS, "× python3"), tuple(table_rows)),
        ),
        targets=(
            Target(
                f"`minirunner --version` under {VERSION_TARGET} s",
                f"{version.median:.3f} s (CPU {version.cpu_median:.3f} s)",
                version.ok and version.median < VERSION_TARGET,
            ),
            Target(
                f"`minirunner list` under {LIST_TARGET} s",
                f"{listing.median:.3f} s (CPU {listing.cpu_median:.3f} s)",
                listing.ok and listing.median < LIST_TARGET,
            ),
        ),
        notes=(
            '"no bytecode cache" is what this sandbox does by default '
            "(`PYTHONDONTWRITEBYTECODE=1` and an editable install: every start "
            "compiles minirunner's modules again).",
        ),
    )
