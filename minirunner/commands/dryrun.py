"""`minirunner run --dry-run`: the jobs that would run and their scripts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from minirunner.output import Console, paint
from minirunner.session import Pipeline, describe_ref, format_table, job_rows

if TYPE_CHECKING:
    from minirunner.commands.run import RunChoice

# `$NAME` or `${NAME}` outside single quotes, where a shell would expand it.
_QUOTED_OR_REFERENCE = re.compile(
    r"'[^']*'|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
)


def fill_in(command: str, env: Mapping[str, str]) -> str:
    """A script line with the job's variables filled in where a shell would.

    Only variables the job gets are replaced; the rest (the script's own, `$(...)`,
    `$$`, single-quoted text) is shown as written.
    """

    def replace(found: re.Match[str]) -> str:
        name = found.group("braced") or found.group("plain")
        if name is None or name not in env:
            return found.group(0)
        return env[name]

    return _QUOTED_OR_REFERENCE.sub(replace, command)


def dry_run(
    pipeline: Pipeline,
    choice: RunChoice,
    console: Console,
    uncommitted: Sequence[str] = (),
) -> int:
    """Print the plan of the chosen jobs and each one's scripts; exit status 0."""
    from minirunner.commands.run import masked_values, note_uncommitted
    from minirunner.runner import PipelineRun, RunSettings
    from minirunner.selection import select_jobs

    context, plan, user = pipeline.context, pipeline.plan, pipeline.user

    def out(text: str) -> None:
        console.write(text + "\n")

    out(describe_ref(context))
    note_uncommitted(uncommitted, console)
    if not plan.created:
        out(f"No pipeline: {plan.workflow.reason}")
        for job, decision in plan.excluded:
            out(f"  {job.name}: {decision.reason}")
        return 0
    settings = RunSettings(
        executor=choice.executor,
        jobs=choice.jobs,
        with_needs=choice.with_needs,
        force=choice.force,
    )
    chosen = select_jobs(
        plan, choice.jobs, force=choice.force, with_needs=choice.with_needs
    )
    out("Dry run: nothing runs. These jobs would:\n")
    out(format_table(job_rows(plan, [job.name for job in chosen])))
    paths = {name: f"<file {name}>" for name in user.files}
    settings = replace(settings, file_paths=paths)
    runner = PipelineRun(
        context, plan, settings, console, context.pipeline_id, Path(".")
    )
    colour = console.colour
    for planned in chosen:
        env = runner.preview_environment(planned)
        console.add_secrets(masked_values(user, env))
        executor = runner.executor_name(planned)
        image = f", image {planned.job.image.name}" if planned.job.image else ""
        title = f"{planned.name} (stage {planned.stage}, {executor} executor{image})"
        out("\n" + paint(f"── {title}", 1, colour))
        job = planned.job
        sections: Sequence[tuple[str, Sequence[str]]] = (
            ("before_script", job.before_script),
            ("script", job.script),
            ("after_script", job.after_script),
        )
        for label, commands in sections:
            if not commands:
                continue
            if label != "script":
                out(paint(f"# {label}", 90, colour))
            for command in commands:
                shown = fill_in(command, env).replace("\n", "\n  ")
                out(paint("$ ", 32, colour) + shown)
    return 0
