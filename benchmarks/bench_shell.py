"""Benchmark 3: the shell executor's cost per job over running the scripts in bash."""

from __future__ import annotations

from measure import Row, Series, command, measure
from report import TIMING_COLUMNS, Section, Table, Target, ratio, timing_cells
from suite import Suite, pipeline_repo

JOBS = 50
STAGES = 5
RUNS = 5
PEER_RUNS = 3
TARGET_MS = 20.0
TARGET_RATIO = 5.0
BASH = "bash, the 50 scripts one after another"
MR = "`minirunner run --executor shell`"
MR_1 = "`minirunner run --executor shell -j 1`"
GCL = "`gitlab-ci-local`"
GCL_1 = "`gitlab-ci-local --concurrency 1`"
GCIL = "`gcil --pipeline --host`"
INTRO = (
    f'A pipeline of {JOBS} trivial jobs (`echo "job N"`) in {STAGES} '
    "stages, run in the shell by each tool, against bash running the same "
    f"{JOBS} scripts one after another (`bash job-NN.sh`). The overhead per "
    "job is (tool's median − bash's median) / 50; the ratio is a peer's "
    "overhead over minirunner's with the same concurrency (the default "
    "rows against `minirunner` with its default `-j`, the number of "
    "cores; the one-at-a-time rows, and gcil, which runs jobs one at a "
    "time, against `-j 1`). minirunner runs each job in its slot's checkout "
    "of the commit, fetched, reset and cleaned as GitLab's `fetch` Git "
    "strategy does; gitlab-ci-local rsyncs the project into its build "
    "folder; gcil `--host` runs the scripts in the working tree itself."
)
COLUMNS = (
    "command",
    *TIMING_COLUMNS,
    "ms per job over bash",
    "× minirunner's overhead",
)


def run(suite: Suite) -> Section:
    """Run the 50-job pipeline with each tool, and the bare scripts with bash."""
    folder = suite.folder("shell")
    stages = [f"s{n}" for n in range(STAGES)]
    jobs = [
        (f"job-{n:02d}", stages[n * STAGES // JOBS], f'echo "job {n}"')
        for n in range(JOBS)
    ]
    repo = pipeline_repo(folder / "project", stages, jobs)
    scripts = folder / "scripts"
    scripts.mkdir()
    for name, _, script in jobs:
        (scripts / f"{name}.sh").write_text(script + "\n")
    loop = f'for f in {scripts}/job-*.sh; do bash "$f" || exit 1; done'

    env = dict(suite.env)
    mr = suite.minirunner
    rows = [
        Row(
            BASH,
            command(["bash", "-c", loop], cwd=repo, env=env, timeout=60),
            suite.count(RUNS),
        ),
        Row(
            MR,
            command(
                [*mr, "run", "--executor", "shell"], cwd=repo, env=env, timeout=120
            ),
            suite.count(RUNS),
        ),
        Row(
            MR_1,
            command(
                [*mr, "run", "--executor", "shell", "-j", "1"],
                cwd=repo,
                env=env,
                timeout=120,
            ),
            suite.count(RUNS),
        ),
    ]
    gcl = suite.peers.gitlab_ci_local
    if gcl.available:
        gcl_env = suite.peer_env(gcl)
        rows += [
            Row(
                GCL,
                command([*gcl.argv], cwd=repo, env=gcl_env, timeout=120),
                suite.count(PEER_RUNS),
            ),
            Row(
                GCL_1,
                command(
                    [*gcl.argv, "--concurrency", "1"],
                    cwd=repo,
                    env=gcl_env,
                    timeout=120,
                ),
                suite.count(PEER_RUNS),
            ),
        ]
    gcil = suite.peers.gcil
    if gcil.available:
        rows.append(
            Row(
                GCIL,
                suite.gcil_pipeline(repo, timeout=120),
                suite.count(PEER_RUNS),
            )
        )
    results = measure(rows)
    bash = results[BASH].median

    def per_job(series: Series) -> float:
        return (series.median - bash) / JOBS * 1000

    mine = {MR: per_job(results[MR]), MR_1: per_job(results[MR_1])}
    cpu_per_job = (results[MR].cpu_median - results[BASH].cpu_median) / JOBS * 1000
    table_rows = []
    for label, series in results.items():
        overhead = f"{per_job(series):.1f}" if series.ok and label != BASH else ""
        versus = ""
        mr_label = MR_1 if label in (MR_1, GCL_1, GCIL) else MR
        if series.ok and label != BASH and results[mr_label].ok:
            versus = ratio(per_job(series), mine[mr_label])
        table_rows.append((label, *timing_cells(series), overhead, versus))
    for peer in (gcl, gcil):
        if not peer.available:
            table_rows.append(
                (peer.name, "0", f"not run: {peer.missing}", "", "", "", "", "", "")
            )

    if not results[MR].ok:
        return Section(
            key="shell",
            heading="3. Shell executor overhead",
            intro=INTRO,
            tables=(Table(COLUMNS, tuple(table_rows)),),
            targets=(Target("the shell benchmark", "minirunner failed", None),),
        )
    targets = [
        Target(
            f"under {TARGET_MS:.0f} ms per job over bash",
            f"{mine[MR]:.1f} ms (`-j 1`: {mine[MR_1]:.1f} ms; CPU "
            f"{cpu_per_job:.1f} ms)",
            mine[MR] < TARGET_MS,
        )
    ]
    if gcl.available and results[GCL].ok:
        times = per_job(results[GCL]) / mine[MR]
        targets.append(
            Target(
                f"per-job overhead at least {TARGET_RATIO:.0f}× lower than "
                "gitlab-ci-local's",
                f"{times:.1f}×",
                times >= TARGET_RATIO,
            )
        )
    else:
        targets.append(
            Target(
                "per-job overhead vs gitlab-ci-local",
                "gitlab-ci-local did not run",
                None,
            )
        )
    return Section(
        key="shell",
        heading="3. Shell executor overhead",
        intro=INTRO,
        tables=(Table(COLUMNS, tuple(table_rows)),),
        targets=tuple(targets),
    )
