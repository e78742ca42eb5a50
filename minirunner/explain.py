"""`minirunner explain`: which rule put each job in the pipeline or kept it out."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from minirunner.config.model import Job, Rule
from minirunner.context import Context, changes_base
from minirunner.errors import UsageError
from minirunner.masking import MASK, Masker
from minirunner.output import paint
from minirunner.plan import Plan, PlannedJob
from minirunner.rules.decide import Decision, rule_text
from minirunner.rules.trace import PathMatch, RuleTrace
from minirunner.selection import absent, made_by_parallel

GREEN, RED, GREY, BOLD = 32, 31, 90, 1
VALUE_LIMIT = 60
LISTED_FILES = 10


@dataclass(frozen=True)
class Verdict:
    """One job and how the pipeline decided about it."""

    job: Job
    decision: Decision
    planned: PlannedJob | None

    @property
    def included(self) -> bool:
        """Whether the job is in the pipeline."""
        return self.planned is not None


class Writer:
    """Builds the explanation's lines, with colours when they are on."""

    def __init__(
        self, colour: bool, masked: Collection[str], secrets: Sequence[str] = ()
    ) -> None:
        self.colour = colour
        self.masked = masked
        self.masker = Masker(secrets)
        self.lines: list[str] = []

    def add(self, text: str = "") -> None:
        """One line."""
        self.lines.append(text)

    def paint(self, text: str, colour: int) -> str:
        """Text in a colour, when colours are on."""
        return paint(text, colour, self.colour)

    def mark(self, matched: bool | None) -> str:
        """✓, ✗ or · for a clause or rule that held, failed or was not reached."""
        if matched is None:
            return self.paint("·", GREY)
        return self.paint("✓", GREEN) if matched else self.paint("✗", RED)

    def value(self, name: str, value: str | None) -> str:
        """`$NAME = "value"` or `$NAME is not defined`, masked as needed."""
        if value is None:
            return f"${name} is not defined"
        if name in self.masked and value:
            value = MASK
        value = self.masker.mask(value)
        if len(value) > VALUE_LIMIT:
            value = value[: VALUE_LIMIT - 1] + "…"
        return f'${name} = "{value}"'


def verdicts(plan: Plan) -> list[Verdict]:
    """Every job of the configuration, in declaration order, with its decision."""
    planned = {job.name: job for job in plan.jobs}
    excluded = {job.name: decision for job, decision in plan.excluded}
    result = []
    for job in plan.config.jobs:
        if job.name in planned:
            result.append(Verdict(job, planned[job.name].decision, planned[job.name]))
        elif job.name in excluded:
            result.append(Verdict(job, excluded[job.name], None))
    return result


def select(all_verdicts: Sequence[Verdict], names: Sequence[str]) -> list[Verdict]:
    """The verdicts for the names asked (all when none); an unknown name is an
    error that says why such a job cannot be in any pipeline."""
    if not names:
        return list(all_verdicts)
    chosen: list[Verdict] = []
    known = [verdict.job.name for verdict in all_verdicts]
    missing: list[str] = []
    for name in names:
        found = [v for v in all_verdicts if v.job.name == name] or [
            v for v in all_verdicts if made_by_parallel(v.job.name, name)
        ]
        if not found:
            missing.append(absent(name, known))
        chosen.extend(verdict for verdict in found if verdict not in chosen)
    if missing:
        raise UsageError("; ".join(missing))
    return chosen


def explain(
    context: Context,
    plan: Plan,
    names: Sequence[str] = (),
    *,
    masked: Collection[str] = (),
    secrets: Sequence[str] = (),
    colour: bool = False,
) -> str:
    """The whole explanation as text, for the jobs named (all when none).

    The values of the `masked` names, and any text holding one of `secrets`,
    show as [MASKED].
    """
    out = Writer(colour, masked, secrets)
    # Workflow rules that pass still give no pipeline when every job is ruled
    # out; then each job's verdict is the explanation.
    emptied = not plan.created and bool(plan.excluded)
    chosen = select(verdicts(plan), names) if plan.created or emptied else []
    if emptied:
        out.add(f"{out.paint('no pipeline is created', RED)}: {plan.workflow.reason}")
    if plan.config.workflow.rules is not None or not plan.created:
        _workflow(out, plan, emptied)
    if not chosen:
        return "\n".join(out.lines) + "\n"
    if any(_uses_changes(verdict.job) for verdict in chosen):
        _changes_base(out, context)
    for verdict in chosen:
        out.add()
        _job(out, verdict)
    return "\n".join(out.lines) + "\n"


def _workflow(out: Writer, plan: Plan, emptied: bool) -> None:
    workflow = plan.workflow
    if plan.config.workflow.rules is None and emptied:
        return
    if emptied:
        out.add(f"workflow:rules: {out.paint('passed', GREEN)}")
    elif workflow.created:
        verdict = out.paint("the pipeline is created", GREEN)
        out.add(f"workflow:rules: {verdict}: {workflow.reason}")
    else:
        verdict = out.paint("no pipeline is created", RED)
        # Without a trace no workflow rule was read: the pipeline was refused
        # before them ([skip ci]).
        if not workflow.trace:
            out.add(f"{verdict}: {workflow.reason}")
            return
        out.add(f"workflow:rules: {verdict}: {workflow.reason}")
    rules = plan.config.workflow.rules or ()
    _traces(out, workflow.trace, rules, workflow.rule_index)


def _uses_changes(job: Job) -> bool:
    if job.rules is not None:
        return any(rule.changes is not None for rule in job.rules)
    return any(policy and policy.changes for policy in (job.only, job.except_))


def _changes_base(out: Writer, context: Context) -> None:
    paths = context.inputs.changed_paths
    if paths is None:
        out.add(
            "rules:changes always hold in this pipeline: there is no push to "
            "compare with (a tag, a new branch, or a source without a push)"
        )
        return
    state, ref = context.state, context.ref
    if ref.kind == "merge_request":
        against = f"the merge base of HEAD and {ref.target_branch}"
    else:
        base = changes_base(state, ref) or ""
        which = (
            "the upstream's tip"
            if base == state.upstream_sha
            else "the commit before HEAD"
        )
        against = f"{base[:8]}, {which}"
    listed = sorted(paths)
    files = ", ".join(listed[:LISTED_FILES])
    if len(listed) > LISTED_FILES:
        files += f", … ({len(listed) - LISTED_FILES} more)"
    count = f"{len(listed)} file{'s' if len(listed) != 1 else ''} changed"
    out.add(f"rules:changes compare with {against}: {count}")
    if listed:
        out.add(f"  {files}")


def _job(out: Writer, verdict: Verdict) -> None:
    job, decision = verdict.job, verdict.decision
    name = out.paint(job.name, BOLD)
    if verdict.included:
        state = out.paint("✓ in the pipeline", GREEN)
    else:
        state = out.paint("✗ not in the pipeline", RED)
    out.add(f"{name} (stage {job.stage}) {state}: {_reason(job, decision)}")
    if verdict.planned is not None:
        out.add("  " + out.paint(_attributes(verdict.planned, out), GREY))
    if job.rules is not None:
        _traces(out, decision.trace, job.rules, decision.rule_index)
    elif decision.trace:
        _policy_traces(out, decision.trace)


def _reason(job: Job, decision: Decision) -> str:
    if not decision.included and job.rules is None and job.when == "never":
        return "the job's own `when: never` keeps it out"
    if job.rules is None:
        return decision.reason
    if decision.rule_index is None:
        return "no rule matched"
    if decision.included:
        return f"rule {decision.rule_index} matched"
    return f"rule {decision.rule_index} matched, with when: never"


def _attributes(planned: PlannedJob, out: Writer) -> str:
    needs = (
        "stage order"
        if planned.needs is None
        else ", ".join(need.job for need in planned.needs) or "nothing ([])"
    )
    parts = [
        f"when: {planned.when}",
        f"allow_failure: {'yes' if planned.allow_failure else 'no'}",
        f"needs: {needs}",
    ]
    if planned.decision.start_in:
        parts.append(f"start_in: {planned.decision.start_in}")
    for key, variable in planned.rule_variables.items():
        value = MASK if key in out.masked else variable.value
        parts.append(f"{key}={value} (from the rule)")
    return " · ".join(parts)


def _traces(
    out: Writer,
    traces: Sequence[RuleTrace],
    rules: Sequence[Rule],
    decided: int | None,
) -> None:
    judged = {trace.index: trace for trace in traces}
    width = len(str(len(rules)))
    for index, rule in enumerate(rules, start=1):
        trace = judged.get(index)
        label = f"rule {index:>{width}}"
        text = trace.text if trace else (rule.text or rule_text(rule))
        if trace is None:
            note = "not reached" if traces else "not evaluated"
            out.add(f"  {out.mark(None)} {out.paint(f'{label}  {text}', GREY)}")
            if index == len(traces) + 1:
                out.add(out.paint(f"      ({note}: an earlier rule decided)", GREY))
            continue
        decides = out.paint("  ← decides", BOLD) if index == decided else ""
        out.add(f"  {out.mark(trace.matched)} {label}  {text}{decides}")
        _clauses(out, trace, rule)


def _clauses(out: Writer, trace: RuleTrace, rule: Rule) -> None:
    pad = "      "
    in_if = [name for name in trace.reads if _in_if(name, rule)]
    in_paths = [name for name in trace.reads if name not in in_if]
    if rule.if_ is not None:
        holds = trace.if_matched
        out.add(f"{pad}{out.mark(holds)} if       {_truth(holds)}")
        for name in in_if:
            out.add(f"{pad}           {out.value(name, trace.reads[name])}")
    if rule.changes is not None:
        _path_clause(out, "changes", trace.changes, pad)
    if rule.exists is not None:
        _path_clause(out, "exists ", trace.exists, pad)
    for name in in_paths:
        out.add(f"{pad}           {out.value(name, trace.reads[name])} (in a path)")
    if rule.if_ is None and rule.changes is None and rule.exists is None:
        out.add(
            f"{pad}{out.mark(True)} no condition: a rule without if, changes "
            "or exists always matches"
        )


def _in_if(name: str, rule: Rule) -> bool:
    return rule.if_ is not None and re.search(rf"\${name}\b", rule.if_) is not None


def _truth(holds: bool | None) -> str:
    return {True: "true", False: "false", None: "not evaluated"}[holds]


def _path_clause(out: Writer, label: str, found: PathMatch | None, pad: str) -> None:
    if found is None:
        out.add(
            f"{pad}{out.mark(None)} {label}  not evaluated (an earlier clause is false)"
        )
        return
    out.add(
        f"{pad}{out.mark(found.matched)} {label}  {_truth(found.matched)}: "
        f"{found.describe()}"
    )


def _policy_traces(out: Writer, traces: Sequence[RuleTrace]) -> None:
    for trace in traces:
        keyword = f"{trace.source}:"
        if trace.source == "except":
            holds = not trace.matched
            held = "matches: it excludes the job" if trace.matched else "no match"
        else:
            holds = trace.matched
            held = "matches" if trace.matched else "no match: it excludes the job"
        out.add(f"  {out.mark(holds)} {keyword:<7} {trace.text}  ({held})")
        for name, value in trace.reads.items():
            out.add(f"             {out.value(name, value)}")
        if trace.changes is not None:
            out.add(f"             {trace.changes.describe()}")
