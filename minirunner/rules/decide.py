"""Whether the pipeline is created and each job enters it, and with which `when`.

The semantics follow https://docs.gitlab.com/ci/yaml/#rules and GitLab's
Gitlab::Ci::Build::Rules, Pipeline::Seed::Build and Config::Entry::Job:
the first rule whose clauses all hold decides; no match leaves the job out;
jobs without rules use `only`/`except`, which default to `only: [branches,
tags]` unless `workflow:rules` exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from minirunner.config.model import Job, Need, Rule, Variable, Workflow, frozen_map
from minirunner.errors import ConfigError, ExpressionError
from minirunner.rules import clauses
from minirunner.rules.evaluate import Reads, evaluate
from minirunner.rules.onlyexcept import DEFAULT_ONLY, RefContext, policy_traces
from minirunner.rules.parser import parse
from minirunner.rules.trace import PathMatch, RuleTrace
from minirunner.sourcetree import SourceTree


@dataclass(frozen=True)
class RuleInputs:
    """Everything about the pipeline that rules may look at.

    `variables` is what expressions read (the caller resolves precedence);
    `changed_paths` None means `changes` always holds (tags, new branches,
    sources without a push); `compare_to` gives the files changed against a
    ref or SHA for `changes:compare_to` and raises ConfigError for an unknown
    one; `tree` holds the files at the pipeline's commit, for `exists`.
    `expanded`, when given, is what the paths of `changes`, `compare_to` and
    `exists` expand from: GitLab expands those from the expanded variables
    (`variables_hash_expanded`) while `if` reads them as written.
    """

    variables: Mapping[str, str]
    source: str
    ref_kind: str
    ref_name: str
    changed_paths: frozenset[str] | None
    compare_to: Callable[[str], frozenset[str] | None]
    tree: SourceTree
    expanded: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Decision:
    """How a job enters the pipeline, or why it does not.

    `when`, `allow_failure`, `start_in`, `needs` and `interruptible` are the
    effective values (the matched rule's, else the job's); `variables` are the
    matched rule's own; `allow_failure_exit_codes` is emptied when the rule
    sets `allow_failure`, as GitLab drops the criteria then.
    """

    included: bool
    when: str
    allow_failure: bool
    start_in: str | None
    needs: tuple[Need, ...] | None
    variables: Mapping[str, Variable]
    interruptible: bool
    reason: str
    trace: tuple[RuleTrace, ...]
    allow_failure_exit_codes: tuple[int, ...] = ()
    rule_index: int | None = None


@dataclass(frozen=True)
class WorkflowDecision:
    """Whether `workflow:rules` let the pipeline be created."""

    created: bool
    variables: Mapping[str, Variable]
    name: str | None
    reason: str
    trace: tuple[RuleTrace, ...] = field(default_factory=tuple)
    rule_index: int | None = None
    # auto_cancel:on_job_failure, a matching rule's over workflow's own.
    on_job_failure: str = "none"


def decide_workflow(workflow: Workflow, inputs: RuleInputs) -> WorkflowDecision:
    """Apply `workflow:rules`: no rules, or a match without `when: never`, creates
    the pipeline (https://docs.gitlab.com/ci/yaml/workflow/)."""
    if workflow.rules is None:
        return WorkflowDecision(
            True,
            frozen_map(),
            workflow.name,
            "no workflow:rules",
            on_job_failure=workflow.on_job_failure,
        )

    traces: list[RuleTrace] = []
    for index, rule in enumerate(workflow.rules, start=1):
        trace = judge_rule(rule, index, inputs.variables, inputs, "workflow:rules")
        traces.append(trace)
        if not trace.matched:
            continue
        when = rule.when or "always"
        if when == "never":
            reason = f"workflow rule {index} matched: {trace.text}"
            return WorkflowDecision(
                False, frozen_map(), workflow.name, reason, tuple(traces), index
            )
        reason = f"workflow rule {index} matched: {trace.text}"
        return WorkflowDecision(
            True,
            rule.variables,
            workflow.name,
            reason,
            tuple(traces),
            index,
            rule.on_job_failure or workflow.on_job_failure,
        )
    reason = "no workflow rule matched, so GitLab creates no pipeline"
    return WorkflowDecision(False, frozen_map(), workflow.name, reason, tuple(traces))


def decide_job(
    job: Job,
    inputs: RuleInputs,
    job_variables: Mapping[str, str],
    *,
    workflow_has_rules: bool = False,
) -> Decision:
    """Apply a job's `rules`, or else its `only`/`except`, to this pipeline.

    `job_variables` (expanded) are read on top of `inputs.variables`.
    `workflow_has_rules` must say whether the configuration has
    `workflow:rules`: it removes the implicit `only: [branches, tags]`.
    """
    variables = (
        {**inputs.variables, **job_variables} if job_variables else inputs.variables
    )
    try:
        if job.rules is not None:
            return _by_rules(job, job.rules, inputs, variables)
        return _by_policies(job, inputs, variables, workflow_has_rules)
    except ConfigError as error:
        raise error.located(
            file=job.location.file or None, line=job.location.line, job=job.name
        ) from None


def judge_rule(
    rule: Rule,
    index: int,
    variables: Mapping[str, str],
    inputs: RuleInputs,
    source: str,
) -> RuleTrace:
    """Evaluate one rule's `if`, `changes` and `exists`, stopping at the first
    that fails; a rule with none of them always matches."""
    reads: Reads = {}
    matched = True
    if_matched: bool | None = None
    changes: PathMatch | None = None
    exists: PathMatch | None = None

    if rule.if_ is not None:
        try:
            if_matched = evaluate(parse(rule.if_), variables, reads)
        except ExpressionError as error:
            raise error.located(keyword=f"{source}:if") from None
        matched = if_matched
    paths_view = variables if inputs.expanded is None else inputs.expanded
    if matched and rule.changes is not None:
        changes = _changes(rule, rule.changes, paths_view, inputs, reads, source)
        matched = changes.matched
    if matched and rule.exists is not None:
        globs = [clauses.expand_existing(g, paths_view, reads) for g in rule.exists]
        exists = clauses.exists(globs, inputs.tree)
        matched = exists.matched

    text = rule.text or rule_text(rule)
    frozen_reads = MappingProxyType(reads)
    return RuleTrace(
        index, text, matched, frozen_reads, if_matched, changes, exists, source
    )


def _changes(
    rule: Rule,
    globs: tuple[str, ...],
    variables: Mapping[str, str],
    inputs: RuleInputs,
    reads: Reads,
    source: str,
) -> PathMatch:
    paths = inputs.changed_paths
    note = ""
    if rule.compare_to is not None:
        ref = clauses.expand_existing(rule.compare_to, variables, reads)
        try:
            paths = inputs.compare_to(ref)
        except ConfigError as error:
            raise error.located(keyword=f"{source}:changes:compare_to") from None
        note = f" (compared to {ref})"
    expanded = [clauses.expand_existing(glob, variables, reads) for glob in globs]
    found = clauses.changes(expanded, paths)
    if note and found.pattern is None:
        return PathMatch(found.matched, note=found.describe() + note)
    return found


def _by_rules(
    job: Job,
    rules: tuple[Rule, ...],
    inputs: RuleInputs,
    variables: Mapping[str, str],
) -> Decision:
    traces: list[RuleTrace] = []
    for index, rule in enumerate(rules, start=1):
        trace = judge_rule(rule, index, variables, inputs, "rules")
        traces.append(trace)
        if trace.matched:
            return _matched(job, rule, index, trace, tuple(traces))
    return _excluded(job, "no rule matched", tuple(traces))


def _matched(
    job: Job,
    rule: Rule,
    index: int,
    trace: RuleTrace,
    traces: tuple[RuleTrace, ...],
) -> Decision:
    when = rule.when or job.when
    if when == "never":
        reason = f"rule {index} matched: {trace.text}"
        return _excluded(job, reason, traces, index)

    # Rules::Result#build_attributes merges only what the rule sets over the
    # job's attributes; the job's own `allow_failure` (Entry::Job#ignored?)
    # stays unless the rule has one.
    if rule.allow_failure is not None:
        allow_failure = rule.allow_failure
        exit_codes: tuple[int, ...] = ()
    else:
        allow_failure = static_allow_failure(job)
        exit_codes = job.allow_failure_exit_codes
    return Decision(
        included=True,
        when=when,
        allow_failure=allow_failure,
        start_in=rule.start_in or job.start_in,
        needs=rule.needs if rule.needs is not None else job.needs,
        variables=rule.variables,
        interruptible=(
            rule.interruptible if rule.interruptible is not None else job.interruptible
        ),
        reason=f"rule {index} matched: {trace.text}",
        trace=traces,
        allow_failure_exit_codes=exit_codes,
        rule_index=index,
    )


def static_allow_failure(job: Job) -> bool:
    """The job-level `allow_failure` GitLab computes from the YAML alone.

    An explicit value wins (`allow_failure: {exit_codes}` counts as false);
    otherwise a job-level `when: manual` makes it true (Entry::Job#ignored?),
    except for trigger jobs (Entry::Bridge: `!!allow_failure`). A `when:
    manual` that comes from a rule does not count, so such a job blocks
    (https://docs.gitlab.com/ci/yaml/#allow_failure).
    """
    if job.allow_failure is not None:
        return job.allow_failure
    if job.allow_failure_exit_codes or job.trigger is not None:
        return False
    return job.when == "manual"


def _excluded(
    job: Job,
    reason: str,
    traces: tuple[RuleTrace, ...],
    index: int | None = None,
) -> Decision:
    return Decision(
        included=False,
        when="never",
        allow_failure=static_allow_failure(job),
        start_in=job.start_in,
        needs=job.needs,
        variables=frozen_map(),
        interruptible=job.interruptible,
        reason=reason,
        trace=traces,
        allow_failure_exit_codes=job.allow_failure_exit_codes,
        rule_index=index,
    )


def _by_policies(
    job: Job,
    inputs: RuleInputs,
    variables: Mapping[str, str],
    workflow_has_rules: bool,
) -> Decision:
    only = job.only
    implicit = only is None and not workflow_has_rules
    if implicit:
        only = DEFAULT_ONLY
    if only is None and job.except_ is None:
        return _included(job, "no rules, only or except (workflow:rules is set)", ())

    context = RefContext(
        inputs.source,
        inputs.ref_kind,
        inputs.ref_name,
        variables.get("CI_PROJECT_PATH"),
    )
    only_traces: tuple[RuleTrace, ...] = ()
    if only is not None:
        only_traces = policy_traces(
            only, "only", context, variables, inputs.changed_paths, stop_on=False
        )
        failed = next((t for t in only_traces if not t.matched), None)
        if failed is not None:
            return _excluded(job, _only_failed(failed, implicit), only_traces)
    except_traces: tuple[RuleTrace, ...] = ()
    if job.except_ is not None:
        except_traces = policy_traces(
            job.except_,
            "except",
            context,
            variables,
            inputs.changed_paths,
            stop_on=True,
        )
        hit = next((t for t in except_traces if t.matched), None)
        if hit is not None:
            reason = f"excluded by except: {hit.text}"
            return _excluded(job, reason, only_traces + except_traces)
    reason = _passed(only_traces, except_traces, implicit)
    return _included(job, reason, only_traces + except_traces)


def _only_failed(failed: RuleTrace, implicit: bool) -> str:
    if implicit:
        return (
            "excluded by the implicit only: branches, tags "
            "(a job without rules, only or except)"
        )
    return f"excluded by only: {failed.text}"


def _passed(
    only: tuple[RuleTrace, ...], except_: tuple[RuleTrace, ...], implicit: bool
) -> str:
    if implicit:
        reason = "included by the implicit only: branches, tags"
    elif only:
        reason = "included: only: " + "; ".join(t.text for t in only) + " matched"
    else:
        reason = "included"
    if except_:
        reason += "; except: " + "; ".join(t.text for t in except_) + " did not"
    return reason


def _included(job: Job, reason: str, traces: tuple[RuleTrace, ...]) -> Decision:
    return Decision(
        included=job.when != "never",
        when=job.when,
        allow_failure=static_allow_failure(job),
        start_in=job.start_in,
        needs=job.needs,
        variables=frozen_map(),
        interruptible=job.interruptible,
        reason=reason,
        trace=traces,
        allow_failure_exit_codes=job.allow_failure_exit_codes,
    )


def rule_text(rule: Rule) -> str:
    """A rule's clauses and `when` in YAML-like words, for when the loader gave
    no text: `if: $CI_COMMIT_TAG, when: manual`."""
    parts = []
    if rule.if_ is not None:
        parts.append(f"if: {rule.if_}")
    if rule.changes is not None:
        listed = "[" + ", ".join(rule.changes) + "]"
        if rule.compare_to is not None:
            listed = f"{{paths: {listed}, compare_to: {rule.compare_to}}}"
        parts.append(f"changes: {listed}")
    if rule.exists is not None:
        parts.append("exists: [" + ", ".join(rule.exists) + "]")
    if rule.when is not None:
        parts.append(f"when: {rule.when}")
    return ", ".join(parts) or "(a rule without conditions)"
