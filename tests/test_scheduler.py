"""The scheduler decides what starts and what is skipped, as GitLab does."""

from __future__ import annotations

import pytest

from minirunner.scheduler import CycleError, Node, Scheduler, combined_status


def node(name: str, stage: int, when: str = "on_success", **kwargs: object) -> Node:
    return Node(
        name=name,
        stage_index=stage,
        when=when,
        allow_failure=bool(kwargs.get("allow_failure", False)),
        needs=kwargs.get("needs"),  # type: ignore[arg-type]
        play=bool(kwargs.get("play", False)),
    )


def drive(nodes: list[Node], outcomes: dict[str, str]) -> tuple[list[list[str]], dict]:
    """Run the scheduler to the end; each started job ends with its outcome."""
    scheduler = Scheduler(nodes)
    waves: list[list[str]] = []
    final: dict[str, str] = {}
    while True:
        step = scheduler.step()
        for name, status, _ in step.settle:
            final[name] = status
        if not step.start:
            break
        waves.append(list(step.start))
        for name in step.start:
            final[name] = outcomes.get(name, "success")
            scheduler.finish(name, final[name])
    return waves, final


def test_stages_run_in_order_and_jobs_of_a_stage_together() -> None:
    nodes = [node("a", 0), node("b", 0), node("c", 1), node("d", 2)]
    waves, final = drive(nodes, {})
    assert waves == [["a", "b"], ["c"], ["d"]]
    assert final == {"a": "success", "b": "success", "c": "success", "d": "success"}


def test_a_failure_skips_later_stages_but_not_on_failure_or_always() -> None:
    nodes = [
        node("build", 0),
        node("lint", 1, needs=()),
        node("unit", 1),
        node("cleanup", 2, "on_failure"),
        node("report", 2, "always"),
        node("deploy", 2),
    ]
    waves, final = drive(nodes, {"build": "failed"})
    assert waves[0] == ["build", "lint"]
    assert final == {
        "build": "failed",
        "lint": "success",
        "unit": "skipped",
        "deploy": "skipped",
        "cleanup": "success",
        "report": "success",
    }


def test_allowed_failure_counts_as_success() -> None:
    nodes = [node("flaky", 0, allow_failure=True), node("next", 1)]
    _, final = drive(nodes, {"flaky": "failed"})
    assert final == {"flaky": "failed", "next": "success"}


def test_exit_code_decides_allow_failure_at_finish() -> None:
    scheduler = Scheduler([node("a", 0), node("b", 1)])
    assert scheduler.step().start == ("a",)
    scheduler.finish("a", "failed", allow_failure=True)
    assert scheduler.step().start == ("b",)


def test_on_failure_is_skipped_when_nothing_failed() -> None:
    _, final = drive([node("a", 0), node("rescue", 1, "on_failure")], {})
    assert final == {"a": "success", "rescue": "skipped"}


def test_needs_start_a_job_before_its_stage() -> None:
    nodes = [
        node("slow", 0),
        node("fast", 0),
        node("after-fast", 1, needs=("fast",)),
        node("stage-wait", 1),
    ]
    scheduler = Scheduler(nodes)
    assert scheduler.step().start == ("slow", "fast")
    scheduler.finish("fast", "success")
    assert scheduler.step().start == ("after-fast",)
    scheduler.finish("slow", "success")
    assert scheduler.step().start == ("stage-wait",)


def test_manual_jobs_wait_and_blocking_ones_block() -> None:
    nodes = [
        node("optional", 0, "manual", allow_failure=True),
        node("gate", 1, "manual"),
        node("deploy", 2),
    ]
    _, final = drive(nodes, {})
    assert final == {"optional": "manual", "gate": "manual", "deploy": "created"}


def test_what_waits_for_a_blocking_manual_job_stays_created_whatever_its_when() -> None:
    nodes = [
        node("build", 0),
        node("approve", 0, "manual"),
        node("release", 1),
        node("report", 1, "always"),
        node("rescue", 1, "on_failure"),
        node("announce", 2, needs=("release",)),
        node("unrelated", 2, needs=("build",)),
    ]
    scheduler = Scheduler(nodes)
    assert scheduler.step().start == ("build",)
    scheduler.finish("build", "failed")
    assert scheduler.step().settle == (
        ("release", "created", "waits for the manual job 'approve'"),
        ("report", "created", "waits for the manual job 'approve'"),
        ("rescue", "created", "waits for the manual job 'approve'"),
        ("announce", "created", "waits for the manual job 'approve'"),
        ("unrelated", "skipped", "a job it waits for failed"),
    )
    assert scheduler.done


def test_a_played_manual_job_runs() -> None:
    _, final = drive([node("gate", 0, "manual", play=True), node("after", 1)], {})
    assert final == {"gate": "success", "after": "success"}


def test_a_job_whose_needs_did_not_run_is_skipped_unless_always() -> None:
    nodes = [
        node("build", 0),
        node("package", 1, needs=("build",)),
        node("publish", 2, needs=("package",)),
        node("report", 2, "always", needs=("package",)),
        node("review", 0, "manual", allow_failure=True),
        node("after-review", 1, needs=("review",)),
        node("after-stages", 1),
    ]
    waves, final = drive(nodes, {"build": "failed"})
    assert waves == [["build"], ["report"]]
    assert final == {
        "build": "failed",
        "package": "skipped",
        "publish": "skipped",
        "report": "success",
        "review": "manual",
        "after-review": "skipped",
        "after-stages": "skipped",
    }


def test_why_a_job_whose_needs_did_not_run_is_skipped() -> None:
    nodes = [
        node("review", 0, "manual", allow_failure=True),
        node("deploy", 1, needs=("review",)),
        node("notify", 2, needs=("deploy",)),
    ]
    settled = Scheduler(nodes).step().settle
    assert settled == (
        ("review", "manual", "manual job: run it with `minirunner run JOB`"),
        ("deploy", "skipped", "needs the manual job 'review', which was not played"),
        ("notify", "skipped", "needs 'deploy', which was skipped"),
    )


def test_a_manual_job_after_a_failure_is_skipped_not_offered() -> None:
    nodes = [
        node("build", 0),
        node("deploy", 1, "manual"),
        node("review", 1, "manual", allow_failure=True, needs=("build",)),
    ]
    scheduler = Scheduler(nodes)
    scheduler.step()
    scheduler.finish("build", "failed")
    assert scheduler.step().settle == (
        ("deploy", "skipped", "a job it waits for failed"),
        ("review", "skipped", "a job it waits for failed"),
    )


def test_needs_cycle_is_named() -> None:
    nodes = [node("a", 0, needs=("b",)), node("b", 0, needs=("a",))]
    with pytest.raises(CycleError, match="a -> b -> a"):
        Scheduler(nodes)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([], "success"),
        ([("success", False), ("skipped", False)], "success"),
        ([("failed", True)], "success"),
        ([("failed", False), ("success", False)], "failed"),
        ([("canceled", False)], "failed"),
        ([("manual", True)], "success"),
        ([("manual", False)], "blocked"),
        ([("failed", False), ("manual", False)], "blocked"),
        ([("created", False), ("failed", False)], "blocked"),
    ],
)
def test_combined_status(results: list[tuple[str, bool]], expected: str) -> None:
    assert combined_status(results) == expected
