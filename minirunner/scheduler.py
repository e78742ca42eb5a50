"""Which jobs may start, and which are skipped, given what has finished; runs nothing.

The rules follow GitLab's processing of a pipeline
(https://docs.gitlab.com/ci/yaml/#when and https://docs.gitlab.com/ci/yaml/needs/):
a job without `needs` waits for every job of the earlier stages, a job with
`needs` waits for those jobs only, and `when` reads the combined status of what
it waited for: `on_success` runs when it is a success, `on_failure` when it is a
failure, `always` in both cases. A failure of a job allowed to fail counts as a
success; a manual job that was not played counts as a success when it is allowed
to fail and blocks what waits for it when it is not. A job with `needs` is
skipped, unless it is `when: always`, when one of them did not run at all: it
was skipped, or it is a manual job allowed to fail that was not played
(`Ci::ProcessBuildService` and the DAG case of `Gitlab::Ci::Status::Composite`).
A job that waits for a blocking manual job, even beside a failure, or for a job
still `created`, is never processed: it stays `created`, whatever its `when`
(`Ci::PipelineProcessing::AtomicProcessingService` processes a job only once
what it waits for is complete).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SUCCESS = "success"
FAILED = "failed"
SKIPPED = "skipped"
MANUAL = "manual"
CANCELED = "canceled"
CREATED = "created"
BLOCKED = "blocked"


@dataclass(frozen=True)
class Node:
    """What the scheduler knows of one job."""

    name: str
    stage_index: int
    when: str
    allow_failure: bool
    needs: tuple[str, ...] | None
    play: bool = False


@dataclass(frozen=True)
class Step:
    """The scheduler's answer: jobs to start, and jobs settled without running."""

    start: tuple[str, ...]
    settle: tuple[tuple[str, str, str], ...]


class CycleError(ValueError):
    """`needs` that form a loop; the message names the loop."""


class Scheduler:
    """Decides, step by step, what may start; the caller runs jobs and reports back."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self._nodes = {node.name: node for node in nodes}
        self._order = [node.name for node in nodes]
        self._status: dict[str, str] = {}
        self._running: set[str] = set()
        self._allowed = {node.name: node.allow_failure for node in nodes}
        earlier = _earlier_stages(nodes)
        self._waits_for = {
            node.name: node.needs
            if node.needs is not None
            else earlier[node.stage_index]
            for node in nodes
        }
        # Waiting for earlier stages cannot close a loop (a job needs only jobs of
        # its own or earlier stages), so only `needs` are searched.
        find_cycle({node.name: node.needs for node in nodes if node.needs})

    def finish(self, name: str, status: str, allow_failure: bool | None = None) -> None:
        """Record the end of a job that `step` started.

        `allow_failure` overrides the plan's value, for `allow_failure:exit_codes`.
        """
        self._running.discard(name)
        self._status[name] = status
        if allow_failure is not None:
            self._allowed[name] = allow_failure

    def status(self, name: str) -> str | None:
        """The final status of a job, once it has one."""
        return self._status.get(name)

    @property
    def done(self) -> bool:
        """Whether every job has a final status or can never get one."""
        return not self._running and not self.step(dry=True).start

    def step(self, *, dry: bool = False) -> Step:
        """Settle what can be settled and name the jobs that may start now.

        Settling may unlock further jobs, so it repeats until nothing changes.
        """
        start: list[str] = []
        settled: list[tuple[str, str, str]] = []
        changed = True
        status = dict(self._status)
        while changed:
            changed = False
            for name in self._order:
                if name in status or name in self._running or name in start:
                    continue
                verdict = self._verdict(self._nodes[name], status)
                if verdict is None:
                    continue
                action, reason = verdict
                if action == "start":
                    start.append(name)
                else:
                    status[name] = action
                    settled.append((name, action, reason))
                    changed = True
        if not dry:
            self._status = status
            self._running.update(start)
        return Step(tuple(start), tuple(settled))

    def _verdict(self, node: Node, status: dict[str, str]) -> tuple[str, str] | None:
        waits_for = self._waits_for[node.name]
        if any(dep not in status for dep in waits_for):
            return None
        if node.needs is not None:
            unrun = self._not_run(waits_for, status)
            if unrun is not None:
                if node.when == "always":
                    return "start", ""
                return SKIPPED, unrun
        upstream = combined_status(
            (status[dep], self._allowed[dep]) for dep in waits_for
        )
        if upstream == BLOCKED:
            return CREATED, self._waiting_reason(waits_for, status)
        if node.when == "manual":
            if upstream == FAILED:
                return SKIPPED, "a job it waits for failed"
            if not node.play:
                return MANUAL, "manual job: run it with `minirunner run JOB`"
            return "start", ""
        if node.when == "on_failure":
            if upstream == FAILED:
                return "start", ""
            return SKIPPED, "when: on_failure and nothing failed"
        if node.when == "always":
            return "start", ""
        if upstream == FAILED:
            return SKIPPED, "a job it waits for failed"
        return "start", ""

    def _waiting_reason(self, waits_for: Sequence[str], status: dict[str, str]) -> str:
        """Names the blocking manual job at the end of the chain of waiting jobs."""
        while True:
            for dep in waits_for:
                if status[dep] == MANUAL and not self._allowed[dep]:
                    return f"waits for the manual job '{dep}'"
            waiting = next(dep for dep in waits_for if status[dep] == CREATED)
            waits_for = self._waits_for[waiting]

    def _not_run(self, needs: Sequence[str], status: dict[str, str]) -> str | None:
        """Why a job with `needs` is skipped: one of them did not run at all."""
        for dep in needs:
            if status[dep] == SKIPPED:
                return f"needs '{dep}', which was skipped"
            if status[dep] == MANUAL and self._allowed[dep]:
                return f"needs the manual job '{dep}', which was not played"
        return None


def _earlier_stages(nodes: Sequence[Node]) -> dict[int, tuple[str, ...]]:
    """For each stage index, the jobs of the stages before it: what a job without
    `needs` waits for (one tuple per stage, shared by its jobs)."""
    by_stage: dict[int, list[str]] = {}
    for node in nodes:
        by_stage.setdefault(node.stage_index, []).append(node.name)
    earlier: dict[int, tuple[str, ...]] = {}
    names: list[str] = []
    for index in sorted(by_stage):
        earlier[index] = tuple(names)
        names.extend(by_stage[index])
    return earlier


def combined_status(results: Iterable[tuple[str, bool]]) -> str:
    """GitLab's composite status of what a job waits for.

    Each result is (status, allow_failure); the answer is `success`, `failed` or
    `blocked`: a manual job that is not allowed to fail and was not played, or a
    job still `created`, holds what waits for it even when another one failed.
    """
    failed = False
    for status, allow_failure in results:
        if status == CREATED or (status == MANUAL and not allow_failure):
            return BLOCKED
        if status in (FAILED, CANCELED) and not allow_failure:
            failed = True
    return FAILED if failed else SUCCESS


def find_cycle(waits_for: dict[str, tuple[str, ...]]) -> None:
    """Raise CycleError naming the first loop found in the dependency graph."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in waits_for.get(name, ()):
            if state.get(dep) == 1:
                loop = path[path.index(dep) :] + [dep]
                raise CycleError(" -> ".join(loop))
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for name in waits_for:
        if name not in state:
            visit(name)
