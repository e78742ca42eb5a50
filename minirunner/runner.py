"""Runs a planned pipeline: schedules jobs, hands them to executors, keeps results."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from minirunner import artifacts, cache
from minirunner.children import child_options, forwarded_variables, generated_includes
from minirunner.config.durations import parse_duration
from minirunner.config.model import Variable
from minirunner.config.unused import LOCAL_NOTES
from minirunner.context import Context
from minirunner.coverage import read_coverage
from minirunner.errors import MinirunnerError, UsageError
from minirunner.executors import ExecutorSettings, make_executor
from minirunner.executors.base import Executor, JobOutcome, JobRequest
from minirunner.interrupts import cancel_on_signals
from minirunner.output import Console, JobLog, printable
from minirunner.plan import Plan, PlannedJob, inherited_variables
from minirunner.results import JobResult, PipelineResult, write_report
from minirunner.runs import FOLDER, project_folder
from minirunner.scheduler import CANCELED, Scheduler
from minirunner.selection import scheduler_nodes, select_jobs
from minirunner.variables.expand import expand, resolve
from minirunner.variables.predefined import environment_variables, job_variables
from minirunner.variables.slug import slugify
from minirunner.workspace import (
    GitTemplates,
    Slot,
    Slots,
    own_folder,
    prepare_checkout,
)

if TYPE_CHECKING:
    from minirunner.registry_record import RegistryInfo

DEFAULT_TIMEOUT_S = 3600.0
BUILDS_DIR = "/builds"


@dataclass(frozen=True)
class RunSettings:
    """How to run: which jobs, how many at once, with which executor.

    `secrets` maps masked variables to their values; `file_paths` maps file-type
    variables to the file holding their value (what the job's variable holds, as
    GitLab gives it, gitlab#30775).
    """

    executor: str = "auto"
    jobs: tuple[str, ...] = ()
    with_needs: bool = False
    force: bool = False
    concurrency: int = field(default_factory=lambda: os.cpu_count() or 2)
    keep: bool = False
    secrets: Mapping[str, str] = field(default_factory=dict)
    pull_policy: tuple[str, ...] = ()
    file_paths: Mapping[str, str] = field(default_factory=dict)
    docker_socket: bool = True


class PipelineRun:
    """One run of a planned pipeline."""

    def __init__(
        self,
        context: Context,
        plan: Plan,
        settings: RunSettings,
        console: Console,
        run_id: int,
        run_dir: Path,
        registry: Mapping[str, str] | None = None,
        registry_info: RegistryInfo | None = None,
        templates: GitTemplates | None = None,
    ) -> None:
        self.context = context
        self.plan = plan
        self.settings = settings
        self.console = console
        self.run_id = run_id
        self.run_dir = run_dir
        self.registry = dict(registry or {})
        self.registry_info = registry_info
        self.label = uuid.uuid4().hex[:12]
        self.display_prefix = ""
        """Every container, network and volume of the run carries the label
        `minirunner.run=<label>`."""
        self.cancel = threading.Event()
        self.abort = threading.Event()
        # Child pipelines running now: a cancel or abort of this run reaches them.
        self._children: list[PipelineRun] = []
        self._job_numbers: dict[str, int] | None = None
        self.interrupted: int | None = None
        self._executors: dict[str, Executor] = {}
        self._log_names: set[str] = set()
        self._lock = threading.Lock()
        self.stored: dict[str, artifacts.StoredArtifacts] = {}
        self._chosen: Sequence[PlannedJob] = ()
        # A template handed in is its giver's to remove.
        self._own_templates = templates is None
        self._templates = templates or GitTemplates(context.root)

    def run(self, *, install_signals: bool = True) -> PipelineResult:
        """Run the chosen jobs in GitLab's order; always clean up."""
        settings = self.settings
        chosen = select_jobs(
            self.plan,
            settings.jobs,
            force=settings.force,
            with_needs=settings.with_needs,
        )
        named = set(self.settings.jobs)
        scheduler = Scheduler(scheduler_nodes(self.plan, chosen, named))
        by_name = {job.name: job for job in chosen}
        self._chosen = chosen
        results: dict[str, JobResult] = {}
        if not self.display_prefix:
            self.console.set_name_width([job.name for job in chosen])
        if self.settings.keep:
            workspace = Path(tempfile.mkdtemp(prefix=f"minirunner-{self.run_id}-"))
        else:
            workspace = project_folder(self.context.root) / "builds"
        # The handlers stay while what the run started is removed, so that
        # another Ctrl-C then cannot cut the removal short.
        with cancel_on_signals(self, install_signals):
            try:
                with ThreadPoolExecutor(
                    max_workers=max(1, self.settings.concurrency)
                ) as pool:
                    slots = Slots(workspace, reuse=not self.settings.keep)
                    self._loop(scheduler, by_name, results, pool, slots)
            finally:
                for executor in self._executors.values():
                    executor.close()
                if self._own_templates:
                    self._templates.close()
                if self.settings.keep:
                    self.console.info(f"Kept the jobs' folders in {workspace}")
        ordered = tuple(results[job.name] for job in chosen if job.name in results)
        return PipelineResult(self.run_id, ordered, self.interrupted)

    def _loop(
        self,
        scheduler: Scheduler,
        by_name: Mapping[str, PlannedJob],
        results: dict[str, JobResult],
        pool: ThreadPoolExecutor,
        slots: Slots,
    ) -> None:
        running: dict[Future[JobResult], str] = {}
        ready: list[str] = []
        capacity = max(1, self.settings.concurrency)
        while True:
            if not self.cancel.is_set():
                step = scheduler.step()
                for name, status, reason in step.settle:
                    results[name] = self._settled(by_name[name], status, reason)
                ready.extend(step.start)
                # Jobs are handed to the pool only when a worker is free, so a
                # cancel leaves the waiting ones unstarted.
                while len(running) < capacity:
                    chosen = self._next_ready(ready, running.values(), by_name)
                    if chosen is None:
                        break
                    future = pool.submit(self._run_job, by_name[chosen], slots)
                    running[future] = chosen
            if not running:
                break
            finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            self._pass_on_cancel()
            for future in finished:
                name = running.pop(future)
                result = future.result()
                results[name] = result
                self.console.job_finished(self.display(name), result.status)
                scheduler.finish(name, result.status, result.allow_failure)
                if result.blocks:
                    self._auto_cancel(name)
        for name, job in by_name.items():
            if name not in results:
                results[name] = JobResult(
                    name, job.stage, CANCELED, job.allow_failure, message="canceled"
                )

    @staticmethod
    def _next_ready(
        ready: list[str],
        running: Iterable[str],
        by_name: Mapping[str, PlannedJob],
    ) -> str | None:
        """The first ready job whose resource group, if any, no running job holds:
        the jobs of one `resource_group` run one at a time, as on GitLab."""
        held = {by_name[name].job.resource_group for name in running}
        for index, name in enumerate(ready):
            group = by_name[name].job.resource_group
            if group is None or group not in held:
                return ready.pop(index)
        return None

    def _auto_cancel(self, failed: str) -> None:
        """workflow:auto_cancel:on_job_failure `all`: a failure cancels the run."""
        if self.plan.workflow.on_job_failure != "all" or self.cancel.is_set():
            return
        self.console.info(
            f"{self.display(failed)} failed and workflow:auto_cancel:on_job_failure "
            "is all: canceling the pipeline"
        )
        self.cancel.set()
        self._pass_on_cancel()

    def _pass_on_cancel(self) -> None:
        with self._lock:
            children = list(self._children)
        for child in children:
            if self.cancel.is_set():
                child.cancel.set()
            if self.abort.is_set():
                child.abort.set()

    def _settled(self, job: PlannedJob, status: str, reason: str) -> JobResult:
        self.console.settled(self.display(job.name), status, reason)
        return JobResult(job.name, job.stage, status, job.allow_failure, message=reason)

    def _run_job(self, planned: PlannedJob, slots: Slots) -> JobResult:
        started = time.monotonic()
        log_path = self.run_dir / f"{self._log_name(planned.name)}.log"
        if self.cancel.is_set():
            return self._result(planned, CANCELED, None, started, None, "canceled")
        if planned.job.trigger is not None:
            return self._run_trigger(planned, log_path, started)
        executor = self._executor_for(planned)
        # Shell and container jobs keep apart: a container's leftovers must not
        # reach a job on the host.
        with slots.take(executor.name) as slot:
            return self._run_in_slot(planned, executor, slot, log_path, started)

    def _run_in_slot(
        self,
        planned: PlannedJob,
        executor: Executor,
        slot: Slot,
        log_path: Path,
        started: float,
    ) -> JobResult:
        job = planned.job
        sources = self._artifact_sources(planned)
        with self._lock:
            dotenv = artifacts.dotenv_of(sources, self.stored)
        if executor.name == "shell":
            env = self.environment(
                planned,
                project_dir=str(slot.checkout),
                builds_dir=str(slot.folder),
                dotenv=dotenv,
                concurrent_id=slot.index,
            )
            env["DOCKER_CONFIG"] = str(slot.docker_config)
        else:
            env = self.environment(planned, dotenv=dotenv, concurrent_id=slot.index)
        secrets = [
            *self.settings.secrets.values(),
            *(value for key, value in env.items() if key in MASKED_PREDEFINED),
        ]
        log = self.console.job_log(self.display(job.name), log_path, secrets)
        attempts = job.retry.max + 1
        outcome = JobOutcome("failed", None, "not started")
        try:
            check_environment(env)
            for attempt in range(attempts):
                if attempt:
                    log.note(f"Retrying ({attempt}/{job.retry.max})")
                outcome = self._attempt(planned, executor, env, slot, log, sources)
                if outcome.status != "failed" or not self._retry_allowed(
                    planned, outcome
                ):
                    break
        except MinirunnerError as error:
            outcome = JobOutcome("failed", None, error.format_message())
        except Exception:
            log.note(traceback.format_exc().rstrip())
            outcome = JobOutcome("failed", None, "minirunner failed; see the log")
        finally:
            if outcome.status == "success":
                log.note("Job succeeded")
            elif outcome.message and outcome.message != outcome.status:
                log.note(f"ERROR: Job {outcome.status}: {outcome.message}")
            else:
                log.note(f"ERROR: Job {outcome.status}")
            log.close()
        status = outcome.status
        if planned.job.allow_failure_exit_codes and status == "failed":
            allowed = outcome.exit_code in planned.job.allow_failure_exit_codes
            planned = _with_allow_failure(planned, allowed)
        result = self._result(
            planned, status, outcome.exit_code, started, log_path, outcome.message
        )
        if job.coverage is None:
            return result
        return replace(result, coverage=read_coverage(log_path, job.coverage))

    def _run_trigger(
        self, planned: PlannedJob, log_path: Path, started: float
    ) -> JobResult:
        """Run a local child pipeline as GitLab's `trigger:include` does.

        The child gets the trigger job's variables as pipeline variables (and the
        parent's pipeline variables with `forward:pipeline_variables`) and
        CI_PIPELINE_SOURCE `parent_pipeline`. With `strategy: depend` the trigger
        job takes the child's status; without, it succeeds once the child exists.
        A multi-project trigger cannot run offline and is skipped.
        """
        job = planned.job
        trigger = job.trigger
        assert trigger is not None
        log = self.console.job_log(self.display(job.name), log_path, [])
        try:
            if trigger.project or not (trigger.include or trigger.external):
                target = trigger.project or "another project"
                log.note(
                    f"Skipped: a multi-project trigger of {target} cannot run here"
                )
                return self._result(planned, "skipped", None, started, log_path)
            child = self._child_run(planned, log_path)
            count = f"{len(child.jobs)} job" + ("" if len(child.jobs) == 1 else "s")
            log.note(f"Child pipeline: {count}, {child.status}")
            for result in child.jobs:
                if result.blocks:
                    log.note(f"  {result.name} {result.status}: {result.log}")
            status = "success"
            if trigger.strategy == "depend":
                status = child.status
            return self._result(planned, status, None, started, log_path)
        except MinirunnerError as error:
            log.note(f"ERROR: {error.format_message()}")
            return self._result(
                planned, "failed", None, started, log_path, error.format_message()
            )
        finally:
            log.close()

    def _child_run(self, planned: PlannedJob, log_path: Path) -> PipelineResult:
        from minirunner.config import load_child_config, load_include_map
        from minirunner.plan import make_plan

        job = planned.job
        trigger = job.trigger
        assert trigger is not None
        own = yaml_variables(planned, self.plan)
        forwarded = forwarded_variables(trigger, own, self.environment(planned))
        variables = {**self.context.variables, "CI_PIPELINE_SOURCE": "parent_pipeline"}
        in_run = {chosen.name for chosen in self._chosen}
        with self._lock:
            generated = generated_includes(trigger, in_run, self.stored)
        include_map = {**load_include_map(self.context.root), **generated}
        config = load_child_config(
            self.context.tree,
            trigger,
            job.name,
            include_variables={**variables, **forwarded},
            include_map=include_map,
            tree_root=self.context.root,
        )
        inputs = replace(self.context.inputs, source="parent_pipeline")
        options = child_options(self.context.options, trigger, forwarded)
        user = options.variables
        context = replace(
            self.context,
            config=config,
            inputs=inputs,
            variables=variables,
            options=options,
        )
        plan = make_plan(config, inputs, variables, user)
        child_dir = self.run_dir / f"{log_path.stem}-child"
        child_dir.mkdir()
        run = PipelineRun(
            context,
            plan,
            replace(self.settings, jobs=()),
            self.console,
            self.run_id,
            child_dir,
            registry=self.registry,
            registry_info=self.registry_info,
            templates=self._templates,
        )
        run.display_prefix = f"{self.display(job.name)} > "
        with self._lock:
            self._children.append(run)
        self._pass_on_cancel()
        try:
            result = run.run(install_signals=False)
        finally:
            with self._lock:
                self._children.remove(run)
        write_report(result, child_dir / "report.json")
        return result

    def display(self, name: str) -> str:
        """How the terminal names a job: a child's jobs under their trigger's."""
        return f"{self.display_prefix}{name}"

    def _result(
        self,
        planned: PlannedJob,
        status: str,
        exit_code: int | None,
        started: float,
        log_path: Path | None,
        message: str | None = None,
    ) -> JobResult:
        return JobResult(
            planned.name,
            planned.stage,
            status,
            planned.allow_failure,
            exit_code,
            time.monotonic() - started,
            log_path,
            message,
        )

    def _attempt(
        self,
        planned: PlannedJob,
        executor: Executor,
        env: dict[str, str],
        slot: Slot,
        log: JobLog,
        sources: list[str],
    ) -> JobOutcome:
        job = planned.job
        checkout, scratch = slot.checkout, slot.scratch
        own_folder(scratch, empty=True)
        where = prepare_checkout(
            self.context.root,
            self.context.state.head.sha,
            slot,
            env,
            worktree=self.context.options.worktree,
            shared=executor.checkout_on_host,
            templates=self._templates,
        )
        name = printable(planned.name)
        log.note(f"Running {name} with the {executor.name} executor in {where}")
        if planned.when == "delayed":
            log.note(
                f"when: delayed: GitLab would start it {_start_in(planned)} later; "
                "minirunner starts it at once"
            )
        for keyword, names in job.local_notes:
            log.note(LOCAL_NOTES[keyword].format(names=", ".join(names)))
        with self._lock:
            artifacts.restore(sources, self.stored, checkout)
        cache_root = project_folder(self.context.root) / "cache"
        cache.restore(job.cache, cache_root, checkout, env, log.note)
        request = JobRequest(
            job=job,
            env=env,
            checkout=checkout,
            project_dir=env["CI_PROJECT_DIR"],
            scratch=scratch,
            timeout_s=parse_duration(job.timeout or "") or DEFAULT_TIMEOUT_S,
            emit=log,
            cancel=self.cancel,
            abort=self.abort,
            files={
                name: Path(path)
                for name, path in self.settings.file_paths.items()
                if name in env
            },
        )
        outcome = executor.run(request)
        cache.save(job.cache, cache_root, checkout, env, outcome.status, log.note)
        kept = artifacts.store(
            job,
            checkout,
            self.run_dir / "artifacts" / log.path.stem,
            outcome.status,
            env,
            log.note,
        )
        if kept is not None:
            with self._lock:
                self.stored[job.name] = kept
        return outcome

    def _artifact_sources(self, planned: PlannedJob) -> list[str]:
        stage_index = {stage: i for i, stage in enumerate(self.plan.config.stages)}
        mine = stage_index[planned.stage]
        # The run's jobs, which may hold a job --force added to the plan's.
        earlier = [job.name for job in self._chosen if stage_index[job.stage] < mine]
        needs = (
            None
            if planned.needs is None
            else [(need.job, need.artifacts) for need in planned.needs]
        )
        return artifacts.sources_for(planned.job, earlier, needs)

    def _retry_allowed(self, planned: PlannedJob, outcome: JobOutcome) -> bool:
        retry = planned.job.retry
        if retry.exit_codes and outcome.exit_code in retry.exit_codes:
            return True
        kinds = set(retry.when)
        if "always" in kinds:
            return True
        if "script_failure" in kinds and outcome.exit_code is not None:
            return True
        return "job_execution_timeout" in kinds and outcome.exit_code is None

    def executor_name(self, planned: PlannedJob) -> str:
        """The executor a job runs with; `auto` is docker for a job with an image."""
        name = self.settings.executor
        if name == "auto":
            return "docker" if planned.job.image else "shell"
        return name

    def preview_environment(self, planned: PlannedJob) -> dict[str, str]:
        """The variables a job would get; a shell job's folders are its first slot's."""
        if self.executor_name(planned) != "shell":
            return self.environment(planned)
        slot = Slot(0, self.context.root / FOLDER / "builds" / "shell" / "slot-0")
        return self.environment(
            planned, project_dir=str(slot.checkout), builds_dir=str(slot.folder)
        )

    def _executor_for(self, planned: PlannedJob) -> Executor:
        name = self.executor_name(planned)
        with self._lock:
            if name not in self._executors:
                settings = ExecutorSettings(
                    run_id=self.label,
                    keep=self.settings.keep,
                    pull_policy=self.settings.pull_policy,
                    registry=self.registry_info,
                    docker_socket=self.settings.docker_socket,
                )
                self._executors[name] = make_executor(name, self.console, settings)
            return self._executors[name]

    def _log_name(self, job_name: str) -> str:
        base = slugify(job_name) or "job"
        with self._lock:
            name, number = base, 1
            while name in self._log_names:
                number += 1
                name = f"{base}-{number}"
            self._log_names.add(name)
        return name

    def environment(
        self,
        planned: PlannedJob,
        *,
        project_dir: str | None = None,
        builds_dir: str = BUILDS_DIR,
        dotenv: Mapping[str, str] | None = None,
        concurrent_id: int = 0,
    ) -> dict[str, str]:
        """The job's variables, in GitLab's order of precedence, expanded.

        Container jobs see the project at /builds/<namespace>/<project>; shell
        jobs pass their own folders.
        """
        job = planned.job
        path = self.context.variables.get("CI_PROJECT_PATH", "local/project")
        predefined = job_variables(
            job_name=job.name,
            stage=job.stage,
            job_id=self.run_id * 1000 + self._job_number(job.name),
            project_dir=project_dir or f"{BUILDS_DIR}/{path}",
            builds_dir=builds_dir,
            concurrent_id=concurrent_id,
            node_index=job.node_index,
            node_total=job.node_total,
            timeout_s=int(parse_duration(job.timeout or "") or DEFAULT_TIMEOUT_S),
            image=job.image.name if job.image else None,
            registry_user=self.registry.get("CI_REGISTRY_USER"),
            registry_password=self.registry.get("CI_REGISTRY_PASSWORD"),
            started_at=datetime.now(UTC),
            project_url=self.context.variables.get("CI_PROJECT_URL"),
        )
        if self.plan.pipeline_name is not None:
            predefined["CI_PIPELINE_NAME"] = self.plan.pipeline_name
        if planned.when == "manual":
            predefined["CI_JOB_MANUAL"] = "true"
        layers: list[Mapping[str, Variable | str]] = [
            {**self.context.variables, **predefined},
            yaml_variables(planned, self.plan),
            dict(dotenv or {}),
            self.context.options.variables,
        ]
        env = resolve(layers)
        if job.environment is not None:
            # The name and URL may use the job's variables, but not CI_ENVIRONMENT_*.
            name = expand(job.environment.name, env)
            url = expand(job.environment.url or "", env)
            predefined.update(environment_variables(job.environment, name, url))
            layers[0] = {**self.context.variables, **predefined}
            env = resolve(layers)
        for name, path in self.settings.file_paths.items():
            if name in env:
                env[name] = path
        return env

    def _job_number(self, name: str) -> int:
        if self._job_numbers is None:
            self._job_numbers = {
                job.name: number for number, job in enumerate(self.plan.jobs, 1)
            }
        return self._job_numbers.get(name, 0)


def yaml_variables(planned: PlannedJob, plan: Plan) -> dict[str, Variable]:
    """The `variables:` a job gets from the file, merged by name before expansion.

    GitLab merges default (top-level and workflow), job and rule variables into
    one list first, so a job's `FOO: $FOO` does not see the global FOO
    (gitlab#433964); `inherit:variables` filters the default ones.
    """
    return {
        **inherited_variables(planned.job, plan.config, plan.workflow.variables),
        **planned.job.variables,
        **planned.rule_variables,
    }


def check_environment(env: Mapping[str, str]) -> None:
    """Refuse what no process environment can hold, naming the variable."""
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise UsageError(f"variable name {name!r} cannot be passed to a job")
        if "\0" in value:
            raise UsageError(f"variable {name} holds a NUL byte: it cannot be passed")
        size = len(f"{name}={value}".encode("utf-8", "surrogateescape")) + 1
        if size > MAX_VARIABLE_BYTES:
            raise UsageError(
                f"variable {name} holds {size - len(name) - 2:,} bytes: Linux passes "
                f"at most {MAX_VARIABLE_BYTES:,} per variable to a process, so the "
                "job cannot start"
            )


MASKED_PREDEFINED = frozenset({"CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN"})
# MAX_ARG_STRLEN: the size of one `NAME=value` string a process may be given.
MAX_VARIABLE_BYTES = 128 * 1024


def _with_allow_failure(planned: PlannedJob, allowed: bool) -> PlannedJob:
    return replace(planned, allow_failure=allowed)


def _start_in(planned: PlannedJob) -> str:
    """The delay of a `when: delayed` job: its deciding rule's, else its own."""
    job, index = planned.job, planned.decision.rule_index
    rule = job.rules[index - 1] if job.rules is not None and index else None
    return (rule and rule.start_in) or job.start_in or "its start_in"
