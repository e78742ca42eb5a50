"""Checks across jobs that GitLab's YamlProcessor makes: stages, needs, on_stop."""

from __future__ import annotations

from collections import Counter

from minirunner.config.jobs import Draft
from minirunner.config.model import Job
from minirunner.errors import ConfigError


def check_stages(drafts: list[Draft], stages: tuple[str, ...]) -> None:
    """Every job's stage is one of the pipeline's stages."""
    known = set(stages)
    for draft in drafts:
        if draft.job.stage not in known:
            raise draft.site.error(
                "stage",
                f"chosen stage {draft.job.stage} does not exist; available stages "
                f"are {', '.join(stages)}",
            )


def _check_dependency(
    draft: Draft, kind: str, target: str, jobs: dict[str, Job], order: dict[str, int]
) -> None:
    job = draft.job
    keyword = "needs" if kind == "need" else "dependencies"
    other = jobs.get(target)
    if other is None:
        raise draft.site.error(keyword, f"undefined {kind}: {target}")
    if order[other.stage] > order[job.stage]:
        raise draft.site.error(
            keyword, f"{kind} {target} is not defined in current or prior stages"
        )


def check_needs(drafts: list[Draft], stages: tuple[str, ...]) -> None:
    """Needs and dependencies name defined jobs of current or earlier stages."""
    jobs = {draft.job.name: draft.job for draft in drafts}
    order = {stage: index for index, stage in enumerate(stages)}
    for draft in drafts:
        job = draft.job
        if job.needs:
            counts = Counter(need.job for need in job.needs)
            duplicated = [name for name, count in counts.items() if count > 1]
            if duplicated:
                raise draft.site.error(
                    "needs",
                    f"has the following needs duplicated: {', '.join(duplicated)}.",
                )
            for need in job.needs:
                if need.optional and need.job not in jobs:
                    continue
                _check_dependency(draft, "need", need.job, jobs, order)
        for dependency in job.dependencies or ():
            _check_dependency(draft, "dependency", dependency, jobs, order)
        if job.dependencies and job.needs is not None:
            named = {need.job for need in job.needs}
            missing = [name for name in job.dependencies if name not in named]
            if missing:
                raise draft.site.error(
                    "dependencies", f"the {', '.join(missing)} should be part of needs"
                )
    _check_cycles(drafts, jobs)


def _check_cycles(drafts: list[Draft], jobs: dict[str, Job]) -> None:
    sites = {draft.job.name: draft.site for draft in drafts}
    done: set[str] = set()
    for draft in drafts:
        start = draft.job.name
        if start in done:
            continue
        # Iterative depth-first search, keeping the path to name a cycle.
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(jobs[start].needs or ())]
        while stack:
            need = next(stack[-1], None)
            if need is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                stack.pop()
                continue
            target = need.job
            if target not in jobs or target in done:
                continue
            if target in on_path:
                cycle = path[path.index(target) :] + [target]
                raise sites[target].error(
                    "needs", "needs form a cycle: " + " -> ".join(cycle)
                )
            path.append(target)
            on_path.add(target)
            stack.append(iter(jobs[target].needs or ()))


def check_on_stop(drafts: list[Draft]) -> None:
    """`environment:on_stop` names a job that stops the same environment."""
    jobs = {draft.job.name: draft.job for draft in drafts}
    for draft in drafts:
        on_stop = draft.on_stop
        if on_stop is None or draft.job.environment is None:
            continue
        stopper = jobs.get(on_stop)
        message = None
        if stopper is None:
            message = f"on_stop job {on_stop} is not defined"
        elif stopper.environment is None:
            message = f"on_stop job {on_stop} does not have environment defined"
        elif stopper.environment.name != draft.job.environment.name:
            message = f"on_stop job {on_stop} have different environment name"
        elif stopper.environment.action != "stop":
            message = f"on_stop job {on_stop} needs to have action stop defined"
        if message is not None:
            raise draft.site.error("environment:on_stop", message)


def check_visible(drafts: list[Draft], file: str) -> None:
    """GitLab refuses a configuration without any visible job."""
    if not drafts:
        raise ConfigError(
            "jobs config should contain at least one visible job", file=file
        )
