"""`vars`, `explain` and `graph`: what a pipeline would be, without running it."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import click

from minirunner.context import Options
from minirunner.errors import UsageError
from minirunner.masking import Masker
from minirunner.output import Console, use_colour
from minirunner.selection import why_not_planned
from minirunner.session import (
    describe_ref,
    load_pipeline,
    running_registry,
    show_notes,
)


def show_variables(
    options: Options,
    job: str | None,
    *,
    as_json: bool,
    reveal: bool,
    executor: str = "auto",
) -> None:
    """`minirunner vars`: a job's variables, or those rules see.

    Masked values (the variables files' and GitLab's own) show as [MASKED]
    unless `reveal`; a file-type variable shows as `<file: N bytes>`, since a
    job gets the path of a file that only exists while it runs.
    """
    from minirunner.commands.run import masked_values
    from minirunner.runner import PipelineRun, RunSettings

    registry_vars = running_registry()
    pipeline = load_pipeline(options, registry=registry_vars.get("CI_REGISTRY"))
    context, plan, user = pipeline.context, pipeline.plan, pipeline.user
    show_notes(context)
    if job is None:
        values = dict(plan.variables)
    else:
        planned = plan.get(job)
        if planned is None:
            raise UsageError(why_not_planned(plan, job))
        paths = {
            name: f"<file: {len(user.variables[name].value.encode())} bytes>"
            for name in user.files
        }
        runner = PipelineRun(
            context,
            plan,
            RunSettings(executor=executor, file_paths=paths),
            Console(),
            context.pipeline_id,
            Path("."),
            registry=registry_vars,
        )
        values = runner.preview_environment(planned)
    if not reveal:
        masker = Masker(masked_values(user, values))
        values = {key: masker.mask(value) for key, value in values.items()}
    if as_json:
        click.echo(json.dumps(dict(sorted(values.items())), indent=2))
        return
    for key, value in sorted(values.items()):
        # Quoted as a shell would need it, so multi-line values stay one entry.
        click.echo(f"{key}={shlex.quote(value)}")


def explain_pipeline(
    options: Options, jobs: tuple[str, ...], *, color: str = "auto"
) -> None:
    """`minirunner explain`: why each job is in or out."""
    from minirunner.explain import explain

    pipeline = load_pipeline(options)
    context, plan, user = pipeline.context, pipeline.plan, pipeline.user
    show_notes(context)
    colour = use_colour(color, sys.stdout)
    text = (
        describe_ref(context)
        + "\n"
        + explain(
            context,
            plan,
            jobs,
            masked=user.masked,
            secrets=user.secrets(),
            colour=colour,
        )
    )
    click.echo(Masker(user.secrets()).mask(text), nl=False)


def graph_pipeline(options: Options, *, fmt: str) -> None:
    """`minirunner graph`: stages and needs as text, Mermaid or DOT."""
    from minirunner.graph import render

    pipeline = load_pipeline(options)
    plan = pipeline.plan
    show_notes(pipeline.context)
    if not plan.created:
        raise UsageError(f"no pipeline: {plan.workflow.reason}")
    width = shutil.get_terminal_size((100, 24)).columns
    encoding = (sys.stdout.encoding or "").lower().replace("-", "")
    click.echo(
        render(plan, fmt, width=width, unicode=encoding.startswith("utf")), nl=False
    )
