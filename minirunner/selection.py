"""Which planned jobs a run takes: all, or those named and what they wait for."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from minirunner.errors import UsageError
from minirunner.plan import Plan, PlannedJob
from minirunner.scheduler import Node


def select_jobs(
    plan: Plan, names: tuple[str, ...], *, force: bool, with_needs: bool
) -> list[PlannedJob]:
    """The planned jobs to run: all of them, or those named (and what they need).

    A named job that rules keep out of the pipeline is refused with the reason,
    unless `force` is set: then it runs as an `on_success` job.
    """
    if not names:
        return list(plan.jobs)
    candidates = {job.name: job for job in plan.jobs}
    excluded = {job.name: (job, decision) for job, decision in plan.excluded}
    for name in names:
        if name in candidates:
            continue
        if name not in excluded:
            raise UsageError(why_not_planned(plan, name))
        job, decision = excluded[name]
        if not force:
            raise UsageError(f"{why_not_planned(plan, name)} (--force runs it anyway)")
        candidates[name] = PlannedJob(
            job=job,
            when="on_success",
            allow_failure=bool(job.allow_failure),
            needs=None
            if job.needs is None
            else tuple(need for need in job.needs if need.job in candidates),
            rule_variables={},
            decision=decision,
        )
    forced = {name for name in names if name in excluded}
    if forced:
        candidates = _with_forced_needs(candidates, forced)
    wanted = list(names)
    if with_needs:
        wanted = with_dependencies(plan, candidates, wanted)
    order = {stage: index for index, stage in enumerate(plan.config.stages)}
    chosen = [candidates[name] for name in candidates if name in set(wanted)]
    return sorted(chosen, key=lambda job: order[job.stage])


def _with_forced_needs(
    candidates: dict[str, PlannedJob], forced: set[str]
) -> dict[str, PlannedJob]:
    """Optional needs on jobs --force put back into the pipeline hold again:
    GitLab waits for an optional need whenever that job is in the pipeline."""
    result = {}
    for name, planned in candidates.items():
        extra = tuple(
            need
            for need in planned.job.needs or ()
            if need.optional and need.job in forced
        )
        if extra and planned.needs is not None:
            planned = replace(planned, needs=(*planned.needs, *extra))
        result[name] = planned
    return result


def with_dependencies(
    plan: Plan, candidates: Mapping[str, PlannedJob], names: list[str]
) -> list[str]:
    """Add, transitively, what each job waits for: its needs or earlier stages."""
    stage_index = {stage: index for index, stage in enumerate(plan.config.stages)}
    result: list[str] = []
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in result or name not in candidates:
            continue
        result.append(name)
        job = candidates[name]
        if job.needs is not None:
            pending.extend(need.job for need in job.needs)
        else:
            pending.extend(
                other.name
                for other in plan.jobs
                if stage_index[other.stage] < stage_index[job.stage]
            )
    return result


def scheduler_nodes(
    plan: Plan, chosen: list[PlannedJob], named: set[str]
) -> list[Node]:
    """The scheduler's view of the chosen jobs."""
    stage_index = {stage: index for index, stage in enumerate(plan.config.stages)}
    names = {job.name for job in chosen}
    return [
        Node(
            name=job.name,
            stage_index=stage_index[job.stage],
            when=job.when,
            allow_failure=job.allow_failure,
            needs=None
            if job.needs is None
            else tuple(need.job for need in job.needs if need.job in names),
            play=job.name in named,
        )
        for job in chosen
    ]


def made_by_parallel(job_name: str, name: str) -> bool:
    """Whether `job_name` is one of the jobs `parallel` makes of the job `name`
    (`name 2/3`, `name: [a, b]`)."""
    rest = job_name.removeprefix(f"{name} ")
    numbered = rest != job_name and re.fullmatch(r"\d+/\d+", rest) is not None
    return numbered or job_name.startswith(f"{name}: [")


def parallel_names(plan: Plan, names: Sequence[str]) -> tuple[str, ...]:
    """The names, each parallel job's own name replaced by the jobs it makes."""
    every = [job.name for job in plan.config.jobs]
    result: list[str] = []
    for name in names:
        made = [] if name in every else [e for e in every if made_by_parallel(e, name)]
        result.extend(made or [name])
    return tuple(dict.fromkeys(result))


def why_not_planned(plan: Plan, name: str) -> str:
    """Why no job of the plan is called `name`: its rules, the workflow's, or
    no such job at all."""
    for job, decision in plan.excluded:
        if job.name == name:
            return f"job '{name}' is not in this pipeline: {decision.reason}"
    known = [job.name for job in plan.config.jobs]
    if name in known:
        return f"job '{name}' is not in this pipeline: {plan.workflow.reason}"
    made = [each for each in known if made_by_parallel(each, name)]
    if made:
        listed = ", ".join(f"'{each}'" for each in made)
        return f"'{name}' is a parallel job: name one of the jobs it makes: {listed}"
    return absent(name, known)


def absent(name: str, known: Sequence[str]) -> str:
    """Why there is no job called `name`."""
    if name.startswith("."):
        return (
            f"'{name}' names a hidden job: a name that starts with a dot is a "
            "template for `extends` or `!reference`, and GitLab never runs it"
        )
    reserved = ("stages", "variables", "workflow", "default", "include", "image")
    if name in reserved:
        return f"'{name}' is a global keyword of .gitlab-ci.yml, not a job"
    message = f"no job named '{name}' in the configuration"
    close = difflib.get_close_matches(name, known, n=3)
    if close:
        message += "; did you mean " + " or ".join(f"'{n}'" for n in close) + "?"
    return message
