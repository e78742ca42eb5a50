"""`minirunner run`: choose the jobs, run them (or only show them), sum up."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from minirunner.context import Context, Options
from minirunner.errors import UsageError
from minirunner.output import Console, is_terminal, use_colour
from minirunner.plan import Plan, PlannedJob
from minirunner.runs import new_run_folder
from minirunner.selection import parallel_names, select_jobs
from minirunner.session import (
    Pipeline,
    describe_ref,
    load_pipeline,
    needs_registry,
    recorded_registry_info,
    registry_variables,
    running_registry,
    start_registry_info,
)
from minirunner.snapshot import check_git_trusts
from minirunner.uncommitted import UncommittedChanges, uncommitted_changes
from minirunner.userconfig import find_root
from minirunner.varfiles import UserVariables
from minirunner.workspace import GitTemplates, git_templates


@dataclass(frozen=True)
class Registry:
    """The local registry a run uses: its variables and its RegistryInfo."""

    variables: Mapping[str, str]
    info: Any = None


@dataclass(frozen=True)
class RunChoice:
    """How `minirunner run` was asked to run."""

    jobs: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    executor: str = "auto"
    with_needs: bool = False
    force: bool = False
    concurrency: int | None = None
    report: Path | None = None
    registry: bool | None = None
    keep: bool = False
    pull_policy: tuple[str, ...] = ()
    docker_socket: bool = True
    artifacts_to: Path | None = None
    color: str = "auto"
    quiet: bool = False
    verbose: bool = False
    progress: bool | None = None
    dry_run: bool = False


def run_pipeline(options: Options, choice: RunChoice) -> int:
    """`minirunner run`; returns the exit status."""
    if choice.report is not None and not choice.report.resolve().parent.is_dir():
        raise UsageError(f"--report: no folder {choice.report.resolve().parent}")
    if choice.artifacts_to is not None:
        check_writable_folder(choice.artifacts_to, "--artifacts-to")
    stream = sys.stdout
    console = Console(
        colour=use_colour(choice.color, stream),
        quiet=choice.quiet,
        verbose=choice.verbose,
        progress=is_terminal(stream) if choice.progress is None else choice.progress,
    )
    asked = None if options.worktree else options.cwd
    with uncommitted_changes(asked) as changes:
        if choice.dry_run:
            return _dry_run(options, choice, console, changes)
        # The jobs' checkouts copy one clone, made while the pipeline is planned.
        with git_templates(find_root(options.cwd)) as templates:
            return _run(options, choice, console, changes, templates)


def _dry_run(
    options: Options, choice: RunChoice, console: Console, changes: UncommittedChanges
) -> int:
    from minirunner.commands.dryrun import dry_run

    pipeline = load_pipeline(options, registry=running_registry().get("CI_REGISTRY"))
    jobs = chosen_names(pipeline.plan, choice, console)
    return dry_run(pipeline, replace(choice, jobs=jobs), console, changes.paths())


def _run(
    options: Options,
    choice: RunChoice,
    console: Console,
    changes: UncommittedChanges,
    templates: GitTemplates,
) -> int:
    """Plan the pipeline with the registry it needs, then execute it."""
    # A registry that is up already is in the plan from the start (as GitLab's
    # is in every pipeline), so the pipeline need not be planned twice.
    known = None if choice.registry is False else recorded_registry_info()
    first = load_pipeline(options, registry=known.address if known else None)
    check_git_trusts(first.context.root)
    jobs = chosen_names(first.plan, choice, console)
    registry_info = known
    wanted = choice.registry
    if wanted is None:
        wanted = needs_registry(first.plan, jobs)
    if registry_info is None and wanted:
        registry_info = start_registry_info()
    registry_vars = registry_variables(registry_info) if registry_info else {}
    if registry_info is not None:
        console.debug(f"local registry at {registry_info.address}")
    if jobs:
        # A name that is wrong fails here, before a run number is taken.
        chosen = select_jobs(
            first.plan, jobs, force=choice.force, with_needs=choice.with_needs
        )
        note_skipped_needs(chosen, console)
    run_id, run_dir = new_run_folder(first.context.root)
    pipeline = first
    if registry_info is not known or run_id != first.context.pipeline_id:
        # Planned again only when the registry or a concurrent run changed its inputs.
        pipeline = load_pipeline(
            options, pipeline_id=run_id, registry=registry_vars.get("CI_REGISTRY")
        )
    context, plan = pipeline.context, pipeline.plan
    console.info(describe_ref(context))
    for warning in context.config.warnings:
        console.warn(warning)
    for note in context.notes:
        console.info(f"Note: {note}")
    if registry_info is not None and registry_info is not known:
        console.info(
            f"Note: the local registry is up at {registry_info.address} "
            "(`minirunner registry down` stops it)"
        )
    for source in pipeline.user.sources:
        console.debug(f"variables from {source}")
    note_uncommitted(changes.paths(), console)
    if not plan.created and not jobs:
        console.info(f"No pipeline: {plan.workflow.reason}")
        for job, decision in plan.excluded:
            console.info(f"  {job.name}: {decision.reason}")
        run_dir.rmdir()
        return 0
    registry = Registry(registry_vars, registry_info)
    return execute(
        pipeline,
        replace(choice, jobs=jobs),
        console,
        run_id,
        run_dir,
        registry,
        templates,
    )


def execute(
    pipeline: Pipeline,
    choice: RunChoice,
    console: Console,
    run_id: int,
    run_dir: Path,
    registry: Registry,
    templates: GitTemplates | None = None,
) -> int:
    """Run the planned pipeline, write its reports and print the summary."""
    from minirunner.results import print_summary, write_report
    from minirunner.runner import PipelineRun, RunSettings

    context, plan, user = pipeline.context, pipeline.plan, pipeline.user
    console.add_secrets(user.secrets())
    files = Path(tempfile.mkdtemp(prefix="minirunner-files-"))
    settings = RunSettings(
        executor=choice.executor,
        jobs=choice.jobs,
        with_needs=choice.with_needs,
        force=choice.force,
        concurrency=choice.concurrency or os.cpu_count() or 2,
        keep=choice.keep,
        secrets={name: user.variables[name].value for name in user.masked},
        file_paths=user.materialise(files),
        pull_policy=choice.pull_policy,
        docker_socket=choice.docker_socket,
    )
    began = time.monotonic()
    try:
        runner = PipelineRun(
            context,
            plan,
            settings,
            console,
            run_id,
            run_dir,
            registry=registry.variables,
            registry_info=registry.info,
            templates=templates,
        )
        result = runner.run()
    finally:
        console.close()
        shutil.rmtree(files, ignore_errors=True)
    result = replace(
        result,
        snapshot=snapshot_text(context),
        duration_s=time.monotonic() - began,
    )
    write_report(result, run_dir / "report.json")
    if choice.report is not None:
        write_report(result, choice.report)
    if choice.artifacts_to is not None:
        stored = run_dir / "artifacts"
        try:
            copied = copy_artifacts(stored, choice.artifacts_to)
        except OSError as error:
            console.warn(f"--artifacts-to: {error}; the artifacts stay in {stored}")
        else:
            jobs = "1 job" if copied == 1 else f"{copied} jobs"
            console.info(f"Copied the artifacts of {jobs} to {choice.artifacts_to}")
    print_summary(console, result)
    if result.interrupted:
        return 128 + result.interrupted
    return 0 if result.status == "success" else 1


def chosen_names(plan: Plan, choice: RunChoice, console: Console) -> tuple[str, ...]:
    """The jobs named (a parallel job's own name stands for every job it makes),
    plus those of the stages named (manual jobs only by name)."""
    named = parallel_names(plan, choice.jobs)
    if not choice.stages:
        return named
    names = list(named)
    for stage in choice.stages:
        if stage not in plan.config.stages:
            raise UsageError(
                f"no stage named '{stage}' (stages: {', '.join(plan.config.stages)})"
            )
        jobs = [job for job in plan.jobs if job.stage == stage]
        if not jobs:
            raise UsageError(f"no job of stage '{stage}' is in this pipeline")
        for job in jobs:
            if job.name in names:
                continue
            if job.when == "manual":
                console.info(f"{job.name}: manual, not started (name it to run it)")
                continue
            names.append(job.name)
    if not names:
        raise UsageError("only manual jobs in the stages asked: name them to run them")
    return tuple(names)


def snapshot_text(context: Context) -> str:
    """Which files the jobs ran on, for the summary."""
    sha = context.state.head.sha[:8]
    if context.options.worktree:
        return f"the working tree as it is, over {sha}"
    return f"commit {sha}"


def note_uncommitted(changed: Sequence[str], console: Console) -> None:
    """Say that uncommitted changes are not in a run of the commit."""
    if changed:
        count = (
            "1 uncommitted change"
            if len(changed) == 1
            else (f"{len(changed)} uncommitted changes")
        )
        verb = "is" if len(changed) == 1 else "are"
        more = ", …" if len(changed) > 3 else ""
        console.info(
            f"Note: {count} ({', '.join(changed[:3])}{more}) {verb} not in this "
            "run; --worktree runs the working tree as it is"
        )


def masked_values(user: UserVariables, env: Mapping[str, str]) -> list[str]:
    """The values to hide in what a command prints about a job."""
    from minirunner.runner import MASKED_PREDEFINED

    # A file variable's value in a job is the file's path; its content is
    # among the secrets.
    names = (set(user.masked) - set(user.files)) | set(MASKED_PREDEFINED)
    return [env[name] for name in names if env.get(name)] + user.secrets()


def check_writable_folder(path: Path, option: str) -> None:
    """Refuse, before anything runs, a folder that cannot be made or written
    (click has refused a file already)."""
    existing = next(
        folder for folder in (path, *path.resolve().parents) if folder.exists()
    )
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"{option}: {path} cannot be written ({existing} is not writable)"
        )


def copy_artifacts(stored: Path, destination: Path) -> int:
    """Copy each job's kept artifacts to destination/<job>/; the number of jobs."""
    if not stored.is_dir():
        return 0
    count = 0
    for folder in sorted(stored.iterdir()):
        shutil.copytree(
            folder, destination / folder.name, symlinks=True, dirs_exist_ok=True
        )
        count += 1
    return count


def note_skipped_needs(chosen: list[PlannedJob], console: Console) -> None:
    """Say which `needs` a run of named jobs leaves out (and so their artifacts)."""
    names = {job.name for job in chosen}
    for job in chosen:
        missing = [need.job for need in job.needs or () if need.job not in names]
        if missing:
            console.info(
                f"Note: {job.name} needs {', '.join(missing)}, not in this run "
                "(--needs adds them)"
            )
