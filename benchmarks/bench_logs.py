"""Benchmark 6: a job printing 200 MB of log lines."""

from __future__ import annotations

import shutil

from measure import Row, command, measure
from report import (
    TIMING_COLUMNS,
    Section,
    Table,
    Target,
    ratio,
    seconds,
    timing_cells,
)
from suite import Suite, pipeline_repo

BYTES = 200_000_000
LINE = "some log line of text"
RUNS = 3
TARGET_MBS = 100.0
TARGET_PEAK = 150.0
# GitLab's shells run scripts with `set -o pipefail`, and `yes` ends on SIGPIPE
# (exit 141) when `head` has had enough: without `|| true` the job fails.
SCRIPT = f"yes '{LINE}' | head -c {BYTES} || true"
PIPE = f"yes '{LINE}' | head -c {BYTES}"
BASH = f"bash, `yes '{LINE}' | head -c {BYTES} | cat > file`"
MR = "`minirunner run --executor shell`"
MR_Q = "`minirunner run --executor shell -q`"
MR_FAIL = "`minirunner run --executor shell`, the job failing (no `|| true`)"
GCL = "`gitlab-ci-local`"
GCIL = "`gcil --pipeline --host`"


def run(suite: Suite) -> Section:
    """Run the log-heavy job with each tool and the bare pipe with bash."""
    folder = suite.folder("logs")
    repo = pipeline_repo(folder / "project", ["test"], [("log", "test", SCRIPT)])
    failing = pipeline_repo(folder / "failing", ["test"], [("log", "test", PIPE)])
    env = dict(suite.env)
    out = folder / "bash.log"

    def clean() -> None:
        for project in (repo, failing):
            for name in (".minirunner", ".gitlab-ci-local"):
                shutil.rmtree(project / name, ignore_errors=True)
        out.unlink(missing_ok=True)

    mr = suite.minirunner
    rows = [
        Row(
            BASH,
            command(
                ["bash", "-c", f"{PIPE} | cat > {out}"],
                cwd=repo,
                env=env,
                timeout=60,
                before=clean,
            ),
            suite.count(RUNS),
        ),
        Row(
            MR,
            command(
                [*mr, "run", "--executor", "shell"],
                cwd=repo,
                env=env,
                timeout=120,
                before=clean,
            ),
            suite.count(RUNS),
        ),
        Row(
            MR_Q,
            command(
                [*mr, "run", "--executor", "shell", "-q"],
                cwd=repo,
                env=env,
                timeout=120,
                before=clean,
            ),
            suite.count(RUNS),
        ),
    ]
    # A failed job's summary shows the end of its log: how much memory that takes.
    rows.append(
        Row(
            MR_FAIL,
            command(
                [*mr, "run", "--executor", "shell"],
                cwd=failing,
                env=env,
                timeout=120,
                before=clean,
            ),
            1,
            warmup=False,
        )
    )
    for peer, label, args in (
        (suite.peers.gitlab_ci_local, GCL, []),
        (suite.peers.gcil, GCIL, ["--no-color", "--pipeline", "--host"]),
    ):
        if peer.available:
            rows.append(
                Row(
                    label,
                    command(
                        [*peer.argv, *args],
                        cwd=repo,
                        env=suite.peer_env(peer),
                        timeout=120,
                        before=clean,
                    ),
                    1,
                    warmup=False,
                )
            )
    results = measure(rows)
    clean()
    bash = results[BASH]
    mine = results[MR]
    megabytes = BYTES / 1e6
    table_rows: list[tuple[str, ...]] = []
    for label, series in results.items():
        if label == MR_FAIL and series.samples:
            # It is meant to fail (exit 1): its time and memory still count.
            sample = series.samples[0]
            table_rows.append(
                (
                    label,
                    "1",
                    seconds(sample.wall),
                    "",
                    "",
                    seconds(sample.cpu),
                    f"{sample.peak_mb:.0f}",
                    f"{megabytes / sample.wall:.0f}",
                    ratio(sample.wall, bash.median),
                )
            )
            continue
        shown = f"{megabytes / series.median:.0f}" if series.ok else ""
        versus = ratio(series.median, bash.median) if series.ok else ""
        table_rows.append((label, *timing_cells(series), shown, versus))
    for peer in (suite.peers.gitlab_ci_local, suite.peers.gcil):
        if not peer.available:
            table_rows.append(
                (peer.name, "0", f"not run: {peer.missing}", "", "", "", "", "", "")
            )
    speed = megabytes / mine.median
    return Section(
        key="logs",
        heading="6. Log throughput",
        intro=(
            f"One job, `{SCRIPT}`: {megabytes:.0f} MB of log lines, run by each "
            "tool in the shell with its output going to /dev/null (minirunner "
            "also writes the job's log file; `-q` prints only the summary). The "
            "floor is bash piping the same data through `cat` into a file. MB/s "
            "is 200 MB over the median wall time, start-up included; peak MB is "
            "the largest resident set of the tool or any process it waited for. "
            "Peers run once (they are slow here)."
        ),
        tables=(
            Table(("command", *TIMING_COLUMNS, "MB/s", "× bash"), tuple(table_rows)),
        ),
        targets=(
            Target(
                f"at least {TARGET_MBS:.0f} MB/s",
                f"{speed:.0f} MB/s",
                mine.ok and speed >= TARGET_MBS,
            ),
            Target(
                f"peak memory under {TARGET_PEAK:.0f} MB",
                f"{mine.peak_mb:.0f} MB",
                mine.ok and mine.peak_mb < TARGET_PEAK,
            ),
        ),
    )
