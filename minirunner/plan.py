"""The pipeline GitLab would create: its jobs, their `when`, `needs` and variables."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from minirunner.config.model import Config, Job, Need, Variable, frozen_map
from minirunner.errors import ConfigError
from minirunner.rules.decide import (
    Decision,
    RuleInputs,
    WorkflowDecision,
    decide_job,
    decide_workflow,
)
from minirunner.variables.expand import expand, resolve

# Persisted pipeline variables exist only once the pipeline is saved, so rules
# and workflow cannot read them
# (https://docs.gitlab.com/ci/variables/where_variables_can_be_used/#persisted-variables).
PERSISTED = frozenset({"CI_PIPELINE_ID", "CI_PIPELINE_URL"})
EDGE_STAGES = (".pre", ".post")
# Ci::Pipeline::Chain::Skip: either spelling, any capitalisation.
SKIP_CI = re.compile(r"\[(ci[ _-]skip|skip[ _-]ci)\]", re.IGNORECASE)
# Ci::Pipeline.rules_failure_message
NO_JOBS = (
    "Pipeline will not run for the selected trigger. The rules configuration "
    "prevented any jobs from being added to the pipeline."
)
ONLY_EDGE_JOBS = (
    "only .pre and .post jobs are left, and GitLab does not run a pipeline "
    "without a job in another stage"
)


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
    pipeline_name: str | None = None

    @property
    def created(self) -> bool:
        """False when workflow:rules prevent the pipeline, or no job is left to
        run (`workflow.reason` says which)."""
        return self.workflow.created

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages that hold at least one job, in order."""
        used = {planned.stage for planned in self.jobs}
        return tuple(stage for stage in self.config.stages if stage in used)

    def get(self, name: str) -> PlannedJob | None:
        """The planned job of that name, if it is in the pipeline."""
        return next((job for job in self.jobs if job.name == name), None)


def inherited_variables(
    job: Job, config: Config, workflow_variables: Mapping[str, Variable]
) -> dict[str, Variable]:
    """The default variables a job takes, as `inherit:variables` allows.

    The workflow:rules:variables are default variables too: GitLab merges them
    over the top-level ones before it applies `inherit:variables`
    (https://docs.gitlab.com/ci/yaml/#workflowrulesvariables).
    """
    root = {**config.variables, **workflow_variables}
    if job.inherit_variables is True:
        return root
    if job.inherit_variables is False:
        return {}
    names = set(job.inherit_variables)
    return {key: value for key, value in root.items() if key in names}


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


class RawView(Mapping[str, str]):
    """What `rules:if` and `only`/`except:variables` read: values as written.

    GitLab evaluates these expressions against the variables unexpanded
    (Rule::Clause::If reads `variables_hash`, not `variables_hash_expanded`;
    https://docs.gitlab.com/ci/variables/where_variables_can_be_used/ lists
    `rules:if` as not expanded), so with `B: $A`, `$B` reads `$A`. The user's
    variables win over the file's, which win over the predefined ones.
    """

    def __init__(
        self,
        pipeline: Mapping[str, str],
        yaml: Mapping[str, Variable],
        user: Mapping[str, str],
    ) -> None:
        self._pipeline = pipeline
        self._yaml = yaml
        self._user = user

    def __getitem__(self, name: str) -> str:
        if name in self._user:
            return self._user[name]
        if name in self._yaml:
            return self._yaml[name].value
        return self._pipeline[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._pipeline, *self._yaml, *self._user]))

    def __len__(self) -> int:
        return len(self._pipeline.keys() | self._yaml.keys() | self._user.keys())


def rule_variables(
    pipeline: Mapping[str, str],
    yaml: Mapping[str, Variable],
    user: Mapping[str, str],
) -> Mapping[str, str]:
    """The variables, expanded as jobs get them (see RuleView)."""
    return RuleView(pipeline, yaml, user)


def rule_inputs(
    inputs: RuleInputs,
    pipeline: Mapping[str, str],
    yaml: Mapping[str, Variable],
    user: Mapping[str, str],
) -> RuleInputs:
    """The inputs of one job's (or the workflow's) rules: the raw view for
    expressions, the expanded one for paths."""
    return replace(
        inputs,
        variables=RawView(pipeline, yaml, user),
        expanded=rule_variables(pipeline, yaml, user),
    )


def pipeline_name(
    workflow: WorkflowDecision,
    config: Config,
    pipeline: Mapping[str, str],
    user: Mapping[str, str],
) -> str | None:
    """`workflow:name` expanded with the global and workflow rules variables,
    stripped; None when blank (Chain::PopulateMetadata#set_pipeline_name)."""
    if not workflow.name:
        return None
    yaml = {**config.variables, **workflow.variables}
    name = expand(workflow.name, rule_variables(pipeline, yaml, user)).strip()
    return name or None


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
    """Apply workflow rules, then each job's rules, then resolve `needs`.

    A pipeline left without jobs, or with jobs in `.pre` and `.post` only, is
    not created (Chain::Populate#no_pipeline_to_create?).
    """
    visible = {
        key: value for key, value in pipeline_variables.items() if key not in PERSISTED
    }
    workflow_view = rule_variables(visible, config.variables, user_variables)
    message = pipeline_variables.get("CI_COMMIT_MESSAGE", "")
    if inputs.source == "push" and SKIP_CI.search(message):
        reason = (
            "the commit message says [skip ci], so GitLab creates no push pipeline "
            "(`--source web` runs it all the same)"
        )
        skipped = WorkflowDecision(False, frozen_map(), config.workflow.name, reason)
        return Plan(config, skipped, (), (), workflow_view)
    workflow = decide_workflow(
        config.workflow, rule_inputs(inputs, visible, config.variables, user_variables)
    )
    if not workflow.created:
        return Plan(config, workflow, (), (), workflow_view)

    planned: list[PlannedJob] = []
    excluded: list[tuple[Job, Decision]] = []
    for job in config.jobs:
        yaml = {
            **inherited_variables(job, config, workflow.variables),
            **job.variables,
        }
        job_inputs = rule_inputs(
            inputs, {**visible, **job_identity(job)}, yaml, user_variables
        )
        decision = decide_job(
            job,
            job_inputs,
            {},
            workflow_has_rules=config.workflow.rules is not None,
        )
        if not decision.included:
            excluded.append((job, decision))
            continue
        check_variable_cycles(job, [yaml, decision.variables], user_variables)
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
    if all(job.stage in EDGE_STAGES for job in resolved):
        reason = ONLY_EDGE_JOBS if resolved else NO_JOBS
        empty = replace(workflow, created=False, reason=reason)
        return Plan(config, empty, (), tuple(excluded), workflow_view)
    name = pipeline_name(workflow, config, visible, user_variables)
    return Plan(config, workflow, tuple(resolved), tuple(excluded), workflow_view, name)


def check_variable_cycles(
    job: Job,
    yaml: Sequence[Mapping[str, Variable]],
    user: Mapping[str, str],
) -> None:
    """Refuse a job whose variables reference each other in a loop.

    GitLab sorts a job's variables before expanding them and fails the
    pipeline's creation on a cycle (Seed::Build#variable_expansion_errors).
    Only references between the file's and the user's variables can loop, and
    only values holding a reference need looking at.
    """
    layers: list[Mapping[str, Variable | str]] = [*yaml, user]
    texts = "".join(
        value.value if isinstance(value, Variable) else value
        for layer in layers
        for value in layer.values()
    )
    if "$" not in texts and "%" not in texts:
        return
    try:
        resolve(layers)
    except ConfigError as error:
        raise error.located(
            file=job.location.file or None,
            line=job.location.line,
            job=job.name,
            keyword="variables",
        ) from None


def resolve_needs(planned: Sequence[PlannedJob]) -> list[PlannedJob]:
    """Point each need at jobs of the pipeline; drop optional needs of absent jobs.

    A need naming a job that rules removed is an error unless it is optional
    (https://docs.gitlab.com/ci/yaml/#needsoptional). A need naming a `parallel`
    job means every job it was expanded into.
    """
    names = [job.name for job in planned]
    known = set(names)
    result = []
    for job in planned:
        if job.needs is None:
            result.append(job)
            continue
        needs: list[Need] = []
        for need in job.needs:
            targets = (
                [need.job] if need.job in known else expanded_names(need.job, names)
            )
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
            needs.extend(
                need if target == need.job else replace(need, job=target)
                for target in targets
            )
        resolved = tuple(needs)
        result.append(job if resolved == job.needs else replace(job, needs=resolved))
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
