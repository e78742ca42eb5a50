"""Reading a pipeline for the commands, and the small commands themselves.

The CLI only parses; the work lives in functions of plain values here and in
`minirunner.commands`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import click

from minirunner import registry_record
from minirunner.context import Context, Options, load_context
from minirunner.errors import ConfigErrors, RegistryError
from minirunner.gitstate import GitState
from minirunner.plan import Plan, make_plan
from minirunner.runs import next_run_id
from minirunner.varfiles import UserVariables


@dataclass(frozen=True)
class Pipeline:
    """A planned pipeline and the variables files it was planned with.

    `user` holds only the variables the command line did not override.
    """

    context: Context
    plan: Plan
    user: UserVariables


def with_user_variables(
    options: Options, state: GitState | None = None
) -> tuple[Options, UserVariables]:
    """Options whose variables include the variables files', below `--variable`."""
    from minirunner.gitstate import read_git_state
    from minirunner.varfiles import load_user_variables
    from minirunner.variables.project import project_info

    state = state or read_git_state(options.cwd)
    project = project_info(state.remote_url, state.root.name)
    user = load_user_variables(state.root, project.path)
    kept = {
        name: item
        for name, item in user.variables.items()
        if name not in options.variables
    }
    user = UserVariables(kept, user.sources)
    merged = {**user.pipeline_values(), **options.variables}
    options = replace(options, variables=merged, settings_variables=frozenset(kept))
    return options, user


def load_pipeline(
    options: Options, *, pipeline_id: int | None = None, registry: str | None = None
) -> Pipeline:
    """Read everything, variables files included, and decide the pipeline."""
    from minirunner.gitstate import read_git_state

    state = read_git_state(options.cwd)
    options, user = with_user_variables(options, state)
    if pipeline_id is None:
        pipeline_id = next_run_id(state.root)
    context = load_context(
        options, pipeline_id=pipeline_id, registry=registry, state=state
    )
    plan = make_plan(
        context.config, context.inputs, context.variables, options.variables
    )
    return Pipeline(context, plan, user)


def plan_pipeline(
    options: Options, *, pipeline_id: int | None = None, registry: str | None = None
) -> tuple[Context, Plan]:
    """Read everything and decide the pipeline."""
    pipeline = load_pipeline(options, pipeline_id=pipeline_id, registry=registry)
    return pipeline.context, pipeline.plan


def show_notes(context: Context) -> None:
    """What the user should know about how the pipeline was read, on stderr."""
    for warning in context.config.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for note in context.notes:
        click.echo(f"Note: {note}", err=True)


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
    show_notes(context)
    if as_json:
        click.echo(json.dumps(plan_json(context, plan), indent=2))
        return
    click.echo(describe_ref(context))
    if not plan.created:
        click.echo(f"No pipeline: {plan.workflow.reason}")
    elif not plan.jobs:
        click.echo("No job is in this pipeline.")
    else:
        click.echo(format_table(job_rows(plan)))
    for job, decision in plan.excluded:
        click.echo(f"not in the pipeline: {job.name} ({decision.reason})")


def job_rows(plan: Plan, names: Iterable[str] | None = None) -> list[tuple[str, ...]]:
    """The rows of `minirunner list`'s table, header first (only `names` if given)."""
    chosen = None if names is None else set(names)
    rows: list[tuple[str, ...]] = [
        ("stage", "job", "when", "allow_failure", "needs", "image")
    ]
    for job in plan.jobs:
        if chosen is not None and job.name not in chosen:
            continue
        needs = (
            "-" if job.needs is None else ", ".join(n.job for n in job.needs) or "[]"
        )
        image = job.job.image.name if job.job.image else "-"
        allow = "yes" if job.allow_failure else "no"
        rows.append((job.stage, job.name, job.when, allow, needs, image))
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns, two spaces apart."""
    from minirunner.output import printable

    rows = [tuple(printable(cell) for cell in row) for row in rows]
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
    """`minirunner lint`: load and plan; each mistake found is one line."""
    try:
        context, plan = plan_pipeline(options)
    except ConfigErrors as found:
        for error in found.errors[:-1]:
            click.echo(f"Error: {error.format_message()}", err=True)
        raise found.errors[-1] from None
    show_notes(context)
    total = len(context.config.jobs)
    click.echo(
        f"{context.options.config_file} is valid: {total} "
        f"job{'' if total == 1 else 's'}, {len(plan.jobs)} in this pipeline"
    )


def show_config(options: Options) -> None:
    """`minirunner show`: the merged configuration as YAML."""
    import yaml

    from minirunner import gitstate
    from minirunner.config import expanded_config, load_include_map
    from minirunner.sourcetree import DirectoryTree, SourceTree

    options, _ = with_user_variables(options)
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

    class WholeValues(yaml.SafeDumper):
        """Writes a value shared by several jobs out in full each time, as
        GitLab's merged YAML does, rather than as an anchor and aliases."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    text = yaml.dump(data, Dumper=WholeValues, sort_keys=False, allow_unicode=True)
    click.echo(text, nl=False)


def needs_registry(plan: Plan, jobs: Iterable[str]) -> bool:
    """Whether a job's text mentions the registry or its script runs docker."""
    from minirunner.executors.script import runs_docker

    chosen = set(jobs)
    for planned in plan.jobs:
        if chosen and planned.name not in chosen:
            continue
        job = planned.job
        scripts = [*job.before_script, *job.script, *job.after_script]
        text = "\n".join(
            scripts + [variable.value for variable in job.variables.values()]
        )
        if "CI_REGISTRY" in text or runs_docker(scripts):
            return True
    return False


def start_registry() -> dict[str, str]:
    """Start (or find) the local registry; its variables for the jobs."""
    return registry_variables(start_registry_info())


def start_registry_info() -> Any:
    """Start (or find) the local registry; its RegistryInfo."""
    from minirunner import engine, registry

    name, volume = registry_names()
    known = registry_record.recorded_registry(name)
    if known is not None and known.volume == volume:
        return known
    return registry.ensure_registry(engine.connect(), name=name, volume=volume)


def recorded_registry_info() -> Any:
    """The local registry's RegistryInfo when it was started and still answers."""
    return registry_record.recorded_registry(registry_names()[0])


def known_registry_info() -> Any:
    """The local registry's RegistryInfo when it is up, else None; starts nothing."""
    from minirunner import engine, registry
    from minirunner.errors import DockerUnavailable

    name = registry_names()[0]
    known = registry_record.recorded_registry(name)
    if known is not None:
        return known
    try:
        return registry.registry_status(engine.connect(), name=name)
    except DockerUnavailable:
        return None


def registry_names() -> tuple[str, str]:
    """The registry's container and volume; tests and CI may name their own."""
    default = registry_record.CONTAINER_NAME
    name = os.environ.get("MINIRUNNER_REGISTRY_NAME") or default
    volume = os.environ.get("MINIRUNNER_REGISTRY_VOLUME") or f"{name}-data"
    if name == default and "MINIRUNNER_REGISTRY_VOLUME" not in os.environ:
        volume = registry_record.VOLUME_NAME
    return name, volume


def running_registry() -> dict[str, str]:
    """The variables of the registry if it runs; none when it or the engine is off."""
    info = known_registry_info()
    return registry_variables(info) if info else {}


def registry_variables(info: Any) -> dict[str, str]:
    """CI_REGISTRY and its credentials, as jobs get them."""
    return {
        "CI_REGISTRY": info.address,
        "CI_REGISTRY_USER": info.user,
        "CI_REGISTRY_PASSWORD": info.password,
    }


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
    client = engine.connect()
    running = registry.registry_status(client, name=name) is not None
    registry.registry_down(client, remove_data=purge, name=name, volume=volume)
    said = "registry stopped" if running else "registry: not running"
    click.echo(said + (", its images deleted" if purge else ""))


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
