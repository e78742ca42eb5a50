"""Benchmark 4: eight independent `sleep 1` jobs at once."""

from __future__ import annotations

from measure import Row, command, measure
from report import TIMING_COLUMNS, Section, Table, Target, ratio, timing_cells
from suite import Suite, pipeline_repo

JOBS = 8
RUNS = 3
TARGET = 1.3
BASH = "bash, 8 × `sleep 1` in the background, then `wait`"
MR = "`minirunner run --executor shell -j 8`"
GCL = "`gitlab-ci-local --concurrency 8`"
GCIL = "`gcil --pipeline --host` (one job at a time: it has no concurrency)"


def run(suite: Suite) -> Section:
    """Run the eight jobs with each tool."""
    folder = suite.folder("parallel")
    jobs = [(f"sleep-{n}", "test", "sleep 1") for n in range(JOBS)]
    repo = pipeline_repo(folder / "project", ["test"], jobs)
    env = dict(suite.env)
    background = " ".join(["bash -c 'sleep 1' &"] * JOBS) + " wait"
    rows = [
        Row(
            BASH,
            command(["bash", "-c", background], cwd=repo, env=env, timeout=30),
            suite.count(RUNS),
        ),
        Row(
            MR,
            command(
                [*suite.minirunner, "run", "--executor", "shell", "-j", str(JOBS)],
                cwd=repo,
                env=env,
                timeout=60,
            ),
            suite.count(RUNS),
        ),
    ]
    gcl = suite.peers.gitlab_ci_local
    if gcl.available:
        rows.append(
            Row(
                GCL,
                command(
                    [*gcl.argv, "--concurrency", str(JOBS)],
                    cwd=repo,
                    env=suite.peer_env(gcl),
                    timeout=60,
                ),
                suite.count(RUNS),
            )
        )
    gcil = suite.peers.gcil
    if gcil.available:
        rows.append(
            Row(
                GCIL,
                suite.gcil_pipeline(repo, timeout=60),
                1,
                warmup=False,
            )
        )
    results = measure(rows)
    mine = results[MR]
    table_rows = [
        (
            label,
            *timing_cells(series),
            ratio(series.median, mine.median) if series.ok else "",
        )
        for label, series in results.items()
    ]
    for peer in (gcl, gcil):
        if not peer.available:
            table_rows.append(
                (peer.name, "0", f"not run: {peer.missing}", "", "", "", "", "")
            )
    return Section(
        key="parallel",
        heading="4. Parallelism",
        intro=(
            f"{JOBS} independent jobs of one stage, each `sleep 1`, at most {JOBS} "
            "at once, in the shell; bash running the same sleeps in the background "
            "is the floor (1 s plus starting the processes). Ratios are to "
            "minirunner's median."
        ),
        tables=(
            Table(("command", *TIMING_COLUMNS, "× minirunner"), tuple(table_rows)),
        ),
        targets=(
            Target(
                f"under {TARGET} s",
                f"{mine.median:.3f} s",
                mine.ok and mine.median < TARGET,
            ),
        ),
    )
