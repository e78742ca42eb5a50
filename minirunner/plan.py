"""The pipeline GitLab would create: its jobs, their `when`, `needs` and variables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from minirunner.config.model import Config, Job, Need, Variable
from minirunner.errors import ConfigError
from minirunner.rules.decide import (
    Decision,
    RuleInputs,
    WorkflowDecision,
    decide_job,
    decide_workflow,
)
from minirunner.variables.expand import resolve


@dataclass(frozen=True)
class PlannedJob:
    """A job that is in the pipeline, as its rules shaped it."""

    job: Job
    when: str
    allow_failure: bool
    needs: tuple[Need, ...] | None
    rule_variables: Mapping[str, Variable]
    decision: Decision

    @property
    def name(self) -> str:
        """The job's name."""
        return self.job.name

    @property
    def stage(self) -> str:
        """The job's stage."""
        return self.job.stage


@dataclass(frozen=True)
class Plan:
    """The whole pipeline: created or not, its jobs in stage order, and why."""

    config: Config
    workflow: WorkflowDecision
    jobs: tuple[PlannedJob, ...]
    excluded: tuple[tuple[Job, Decision], ...]
    variables: Mapping[str, str]

    @property
    def created(self) -> bool:
        """False when workflow:rules prevent the pipeline."""
        return self.workflow.created

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages that hold at least one job, in order."""
        used = {planned.stage for planned in self.jobs}
        return tuple(stage for stage in self.config.stages if stage in used)

    def get(self, name: str) -> PlannedJob | None:
        """The planned job of that name, if it is in the pipeline."""
        return next((job for job in self.jobs if job.name == name), None)


def global_variables_for(job: Job, config: Config) -> dict[str, Variable]:
    """The top-level variables a job takes, as `inherit:variables` allows."""
    if job.inherit_variables is True:
        return dict(config.variables)
    if job.inherit_variables is False:
        return {}
    names = set(job.inherit_variables)
    return {key: value for key, value in config.variables.items() if key in names}


class RuleView(Mapping[str, str]):
    """What a rules expression may read, expanded only when it is read.

    The file's variables form one layer, merged by name before expansion, as
    GitLab merges them; the user's variables come last and win. A predefined
    variable that neither layer redefines is read as it is; anything else
    resolves the whole set once. Most expressions read only predefined
    variables, so planning thousands of jobs stays fast.
    """

    def __init__(
        self,
        pipeline: Mapping[str, str],
        yaml: Mapping[str, Variable],
        user: Mapping[str, str],
    ) -> None:
        self._pipeline = pipeline
        self._layers = (pipeline, yaml, user)
        self._redefined = yaml.keys() | user.keys()
        self._resolved: dict[str, str] | None = None

    def _all(self) -> dict[str, str]:
        if self._resolved is None:
            self._resolved = resolve(self._layers)
        return self._resolved

    def __getitem__(self, name: str) -> str:
        if name not in self._redefined and self._resolved is None:
            return self._pipeline[name]
        return self._all()[name]

    def __contains__(self, name: object) -> bool:
        if name not in self._redefined and self._resolved is None:
            return name in self._pipeline
        return name in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def rule_variables(
    pipeline: Mapping[str, str],
    yaml: Mapping[str, Variable],
    user: Mapping[str, str],
) -> Mapping[str, str]:
    """What a rules expression may read (see RuleView)."""
    return RuleView(pipeline, yaml, user)


def job_identity(job: Job) -> dict[str, str]:
    """The job-level predefined variables that rules can read."""
    identity = {
        "CI_JOB_NAME": job.name,
        "CI_JOB_STAGE": job.stage,
        "CI_NODE_TOTAL": str(job.node_total),
    }
    if job.node_index is not None:
        identity["CI_NODE_INDEX"] = str(job.node_index)
    return identity


def make_plan(
    config: Config,
    inputs: RuleInputs,
    pipeline_variables: Mapping[str, str],
    user_variables: Mapping[str, str],
) -> Plan:
    """Apply workflow rules, then each job's rules, then resolve `needs`."""
    workflow_view = rule_variables(pipeline_variables, config.variables, user_variables)
    workflow = decide_workflow(config.workflow, _with_variables(inputs, workflow_view))
    if not workflow.created:
        return Plan(config, workflow, (), (), workflow_view)

    planned: list[PlannedJob] = []
    excluded: list[tuple[Job, Decision]] = []
    for job in config.jobs:
        yaml = {
            **global_variables_for(job, config),
            **workflow.variables,
            **job.variables,
        }
        view = rule_variables(
            {**pipeline_variables, **job_identity(job)}, yaml, user_variables
        )
        decision = decide_job(
            job,
            _with_variables(inputs, view),
            {},
            workflow_has_rules=config.workflow.rules is not None,
        )
        if not decision.included:
            excluded.append((job, decision))
            continue
        planned.append(
            PlannedJob(
                job=job,
                when=decision.when,
                allow_failure=decision.allow_failure,
                needs=decision.needs,
                rule_variables=decision.variables,
                decision=decision,
            )
        )

    resolved = resolve_needs(planned)
    order = {stage: index for index, stage in enumerate(config.stages)}
    resolved.sort(key=lambda job: order[job.stage])
    return Plan(config, workflow, tuple(resolved), tuple(excluded), workflow_view)


def _with_variables(inputs: RuleInputs, variables: Mapping[str, str]) -> RuleInputs:
    from dataclasses import replace

    return replace(inputs, variables=variables)


def resolve_needs(planned: Sequence[PlannedJob]) -> list[PlannedJob]:
    """Point each need at jobs of the pipeline; drop optional needs of absent jobs.

    A need naming a job that rules removed is an error unless it is optional
    (https://docs.gitlab.com/ci/yaml/#needsoptional). A need naming a `parallel`
    job means every job it was expanded into.
    """
    from dataclasses import replace

    names = [job.name for job in planned]
    result = []
    for job in planned:
        if job.needs is None:
            result.append(job)
            continue
        needs: list[Need] = []
        for need in job.needs:
            targets = expanded_names(need.job, names)
            if not targets:
                if need.optional:
                    continue
                raise ConfigError(
                    f"'{job.name}' job needs '{need.job}' job, "
                    f"but '{need.job}' does not exist in the pipeline",
                    file=job.job.location.file,
                    line=job.job.location.line,
                    job=job.name,
                    keyword="needs",
                )
            needs.extend(replace(need, job=target) for target in targets)
        result.append(replace(job, needs=tuple(needs)))
    return result


def expanded_names(name: str, names: Sequence[str]) -> list[str]:
    """The jobs a need names: the job itself, or the jobs `parallel` made of it."""
    if name in names:
        return [name]
    return [
        other
        for other in names
        if other.startswith(f"{name} ")
        and other[len(name) + 1 :][:1].isdigit()
        or other.startswith(f"{name}: [")
    ]
