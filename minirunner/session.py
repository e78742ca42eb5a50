"""What each command does, as functions of plain values (the CLI only parses)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from minirunner.context import Context, Options, load_context
from minirunner.errors import RegistryError
from minirunner.output import Console, use_colour
from minirunner.plan import Plan, make_plan
from minirunner.runs import new_run_folder, next_run_id

REGISTRY_HINTS = ("CI_REGISTRY", "docker ")


def plan_pipeline(
    options: Options, *, pipeline_id: int | None = None, registry: str | None = None
) -> tuple[Context, Plan]:
    """Read everything and decide the pipeline."""
    from minirunner.gitstate import read_git_state

    if pipeline_id is None:
        pipeline_id = next_run_id(read_git_state(options.cwd).root)
    context = load_context(options, pipeline_id=pipeline_id, registry=registry)
    plan = make_plan(
        context.config, context.inputs, context.variables, options.variables
    )
    return context, plan


def plan_json(context: Context, plan: Plan) -> dict[str, Any]:
    """The plan in the stable JSON contract documented in README.md."""
    ref = context.ref
    return {
        "pipeline": {
            "created": plan.created,
            "ref": ref.name,
            "tag": ref.name if ref.kind == "tag" else None,
            "branch": ref.name if ref.kind == "branch" else None,
            "source": ref.source,
        },
        "stages": list(plan.stages),
        "jobs": [
            {
                "name": job.name,
                "stage": job.stage,
                "when": job.when,
                "allow_failure": job.allow_failure,
                "needs": None
                if job.needs is None
                else [need.job for need in job.needs],
                "image": job.job.image.name if job.job.image else None,
            }
            for job in plan.jobs
        ],
    }


def list_pipeline(options: Options, *, as_json: bool) -> None:
    """`minirunner list`."""
    context, plan = plan_pipeline(options)
    if as_json:
        click.echo(json.dumps(plan_json(context, plan), indent=2))
        return
    click.echo(describe_ref(context))
    if not plan.created:
        click.echo(f"No pipeline: {plan.workflow.reason}")
        return
    if not plan.jobs:
        click.echo("No job is in this pipeline.")
    else:
        click.echo(format_table(job_rows(plan)))
    for job, decision in plan.excluded:
        click.echo(f"not in the pipeline: {job.name} ({decision.reason})")


def job_rows(plan: Plan) -> list[tuple[str, ...]]:
    """The rows of `minirunner list`'s table, header first."""
    rows: list[tuple[str, ...]] = [
        ("stage", "job", "when", "allow_failure", "needs", "image")
    ]
    for job in plan.jobs:
        needs = (
            "-" if job.needs is None else ", ".join(n.job for n in job.needs) or "[]"
        )
        image = job.job.image.name if job.job.image else "-"
        allow = "yes" if job.allow_failure else "no"
        rows.append((job.stage, job.name, job.when, allow, needs, image))
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


def describe_ref(context: Context) -> str:
    """One line saying which pipeline this is, and any note about the choice."""
    ref = context.ref
    sha = context.state.head.sha[:8]
    kind = {"merge_request": "merge request"}.get(ref.kind, ref.kind)
    line = f"{kind} pipeline for {ref.name} at {sha} (source: {ref.source})"
    if ref.note:
        line += f"\n{ref.note}"
    return line


def lint_pipeline(options: Options) -> None:
    """`minirunner lint`: load and plan; any error surfaces as one line."""
    context, plan = plan_pipeline(options)
    click.echo(
        f"{context.options.config_file} is valid: {len(context.config.jobs)} jobs, "
        f"{len(plan.jobs)} in this pipeline"
    )


def needs_registry(plan: Plan, jobs: Iterable[str]) -> bool:
    """Whether a job's text mentions the registry or docker."""
    chosen = set(jobs)
    for planned in plan.jobs:
        if chosen and planned.name not in chosen:
            continue
        job = planned.job
        text = "\n".join(
            [*job.before_script, *job.script, *job.after_script]
            + [variable.value for variable in job.variables.values()]
        )
        if any(hint in text for hint in REGISTRY_HINTS):
            return True
    return False


def start_registry() -> dict[str, str]:
    """Start (or find) the local registry; its variables for the jobs."""
    from minirunner import engine, registry

    name, volume = registry_names()
    return registry_variables(
        registry.ensure_registry(engine.connect(), name=name, volume=volume)
    )


def registry_names() -> tuple[str, str]:
    """The registry's container and volume; tests and CI may name their own."""
    from minirunner import registry

    name = os.environ.get("MINIRUNNER_REGISTRY_NAME") or registry.CONTAINER_NAME
    volume = os.environ.get("MINIRUNNER_REGISTRY_VOLUME") or f"{name}-data"
    if (
        name == registry.CONTAINER_NAME
        and "MINIRUNNER_REGISTRY_VOLUME" not in os.environ
    ):
        volume = registry.VOLUME_NAME
    return name, volume


def running_registry() -> dict[str, str]:
    """The variables of the registry if it runs; none when it or the engine is off."""
    from minirunner import engine, registry
    from minirunner.errors import DockerUnavailable

    try:
        info = registry.registry_status(engine.connect(), name=registry_names()[0])
    except DockerUnavailable:
        return {}
    return registry_variables(info) if info else {}


def registry_variables(info: Any) -> dict[str, str]:
    """CI_REGISTRY and its credentials, as jobs get them."""
    return {
        "CI_REGISTRY": info.address,
        "CI_REGISTRY_USER": info.user,
        "CI_REGISTRY_PASSWORD": info.password,
    }


def run_pipeline(
    options: Options,
    *,
    jobs: tuple[str, ...],
    executor: str,
    with_needs: bool,
    force: bool,
    concurrency: int | None,
    report: Path | None,
    registry: bool | None,
    keep: bool,
    color: str,
    quiet: bool,
    verbose: bool,
) -> int:
    """`minirunner run`; returns the exit status."""
    from minirunner.results import print_summary, write_report
    from minirunner.runner import PipelineRun, RunSettings

    console = Console(
        colour=use_colour(color, sys.stdout), quiet=quiet, verbose=verbose
    )
    context, plan = plan_pipeline(options, pipeline_id=0)
    registry_vars: dict[str, str] = {}
    if registry or (registry is None and needs_registry(plan, jobs)):
        registry_vars = start_registry()
        console.debug(f"local registry at {registry_vars['CI_REGISTRY']}")
    run_id, run_dir = new_run_folder(context.root)
    context, plan = plan_pipeline(
        options, pipeline_id=run_id, registry=registry_vars.get("CI_REGISTRY")
    )
    console.info(describe_ref(context))
    if not plan.created:
        console.info(f"No pipeline: {plan.workflow.reason}")
        return 0
    if not plan.jobs:
        console.info("No job is in this pipeline:")
        for job, decision in plan.excluded:
            console.info(f"  {job.name}: {decision.reason}")
        return 0
    settings = RunSettings(
        executor=executor,
        jobs=jobs,
        with_needs=with_needs,
        force=force,
        concurrency=concurrency or os.cpu_count() or 2,
        keep=keep,
    )
    runner = PipelineRun(
        context, plan, settings, console, run_id, run_dir, registry=registry_vars
    )
    result = runner.run()
    snapshot = (
        "working tree" if options.worktree else f"commit {context.state.head.sha[:8]}"
    )
    from dataclasses import replace

    result = replace(result, snapshot=snapshot)
    write_report(result, run_dir / "report.json")
    if report is not None:
        write_report(result, report)
    print_summary(console, result)
    if result.interrupted:
        return 128 + result.interrupted
    return 0 if result.status == "success" else 1


def show_variables(
    options: Options, job: str | None, *, as_json: bool, reveal: bool
) -> None:
    """`minirunner vars`: a job's variables, or those rules see."""
    from minirunner.runner import MASKED_PREDEFINED, PipelineRun, RunSettings

    registry_vars = running_registry()
    context, plan = plan_pipeline(options, registry=registry_vars.get("CI_REGISTRY"))
    if job is None:
        values = dict(plan.variables)
    else:
        planned = plan.get(job)
        if planned is None:
            from minirunner.errors import UsageError

            raise UsageError(f"job '{job}' is not in this pipeline")
        runner = PipelineRun(
            context,
            plan,
            RunSettings(),
            Console(),
            context.pipeline_id,
            Path("."),
            registry=registry_vars,
        )
        values = runner.environment(planned)
    if not reveal:
        values = {
            key: "[MASKED]" if key in MASKED_PREDEFINED and value else value
            for key, value in values.items()
        }
    if as_json:
        click.echo(json.dumps(dict(sorted(values.items())), indent=2))
        return
    for key, value in sorted(values.items()):
        click.echo(f"{key}={value}")


def explain_pipeline(options: Options, jobs: tuple[str, ...]) -> None:
    """`minirunner explain`: why each job is in or out."""
    context, plan = plan_pipeline(options)
    click.echo(describe_ref(context))
    if not plan.created:
        click.echo(f"No pipeline: {plan.workflow.reason}")
        return
    decisions = [(p.job, p.decision, True) for p in plan.jobs] + [
        (job, decision, False) for job, decision in plan.excluded
    ]
    known = {job.name for job, _, _ in decisions}
    for name in jobs:
        if name not in known:
            from minirunner.errors import UsageError

            raise UsageError(f"no job named '{name}'")
    for job, decision, included in decisions:
        if jobs and job.name not in jobs:
            continue
        verdict = "in the pipeline" if included else "not in the pipeline"
        click.echo(f"\n{job.name}: {verdict}: {decision.reason}")
        for trace in decision.trace:
            click.echo(f"  {trace}")


def show_config(options: Options) -> None:
    """`minirunner show`: the merged configuration as YAML."""
    import yaml

    from minirunner import gitstate
    from minirunner.config import expanded_config, load_include_map
    from minirunner.sourcetree import DirectoryTree, SourceTree

    state = gitstate.read_git_state(options.cwd)
    tree: SourceTree = (
        DirectoryTree(state.root)
        if options.worktree
        else gitstate.commit_tree(state.root, state.head.sha)
    )
    data = expanded_config(
        tree,
        options.config_file,
        include_variables=options.variables,
        include_map=load_include_map(state.root),
    )
    click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def registry_up() -> None:
    """`minirunner registry up`."""
    from minirunner import engine, registry

    name, volume = registry_names()
    info = registry.ensure_registry(engine.connect(), name=name, volume=volume)
    click.echo(
        f"registry at {info.address} (user {info.user}, container {info.container})"
    )


def registry_down(*, purge: bool) -> None:
    """`minirunner registry down`."""
    from minirunner import engine, registry

    name, volume = registry_names()
    registry.registry_down(
        engine.connect(), remove_data=purge, name=name, volume=volume
    )
    click.echo("registry stopped" + (" and its images deleted" if purge else ""))


def registry_status() -> None:
    """`minirunner registry status`."""
    from minirunner import engine, registry

    info = registry.registry_status(engine.connect(), name=registry_names()[0])
    if info is None:
        click.echo("registry: not running (start it with `minirunner registry up`)")
        return
    click.echo(f"registry: running at {info.address} (container {info.container})")
    for repository in registry.registry_catalog(info):
        tags = ", ".join(registry.registry_tags(info, repository))
        click.echo(f"  {repository}: {tags}")


def registry_password() -> None:
    """`minirunner registry password`."""
    from minirunner import engine, registry

    info = registry.registry_status(engine.connect(), name=registry_names()[0])
    if info is None:
        raise RegistryError("the registry is not running: `minirunner registry up`")
    click.echo(info.password)
