"""`only` and `except` (Build::Policy): refs, variables, changes, kubernetes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from minirunner.config.model import Refs
from minirunner.errors import ExpressionError
from minirunner.rules.clauses import changes
from minirunner.rules.evaluate import Reads, matches, present
from minirunner.rules.regex import fabricate
from minirunner.rules.trace import RuleTrace

# Entry::Policy::DEFAULT_ONLY, for jobs with neither rules nor only/except.
DEFAULT_ONLY = Refs(refs=("branches", "tags"))


@dataclass(frozen=True)
class RefContext:
    """What the refs policy looks at in a pipeline."""

    source: str
    ref_kind: str
    ref_name: str
    project_path: str | None


def policy_traces(
    policy: Refs,
    keyword: str,
    context: RefContext,
    variables: Mapping[str, str],
    changed_paths: frozenset[str] | None,
    *,
    stop_on: bool,
) -> tuple[RuleTrace, ...]:
    """Evaluate each part of `only` (stop_on=False) or `except` (stop_on=True).

    GitLab needs all `only` parts and none of the `except` parts; it stops at
    the first part that decides, and so does this.
    """
    traces: list[RuleTrace] = []
    for index, (kind, text) in enumerate(_parts(policy, keyword), start=1):
        if kind == "changes":
            found = changes(policy.changes, changed_paths, limit=False)
            trace = RuleTrace(index, text, found.matched, changes=found, source=keyword)
        else:
            reads: Reads = {}
            held = _judge(kind, policy, keyword, context, variables, reads)
            trace = RuleTrace(
                index, text, held, MappingProxyType(reads), source=keyword
            )
        traces.append(trace)
        if trace.matched == stop_on:
            break
    return tuple(traces)


def describe_part(kind: str, policy: Refs) -> str:
    """A part as the user wrote it, e.g. `branches, tags` or `variables: [...]`."""
    if kind == "refs":
        return ", ".join(policy.refs) if policy.refs else "[]"
    if kind == "variables":
        return "variables: [" + ", ".join(policy.variables) + "]"
    if kind == "changes":
        return "changes: [" + ", ".join(policy.changes) + "]"
    return f"kubernetes: {policy.kubernetes}"


def _parts(policy: Refs, keyword: str) -> list[tuple[str, str]]:
    kinds = []
    # Entry::Policy deep-merges `only` over its default `refs: [branches,
    # tags]`, and the loader does the same, so an empty `only` refs list was
    # written as `[]` and matches nothing. An empty `except` list never
    # excludes, the same as no list.
    if policy.refs or keyword == "only":
        kinds.append("refs")
    if policy.variables:
        kinds.append("variables")
    if policy.changes:
        kinds.append("changes")
    if policy.kubernetes is not None:
        kinds.append("kubernetes")
    return [(kind, describe_part(kind, policy)) for kind in kinds]


def _judge(
    kind: str,
    policy: Refs,
    keyword: str,
    context: RefContext,
    variables: Mapping[str, str],
    reads: Reads,
) -> bool:
    if kind == "refs":
        return any(ref_matches(pattern, context) for pattern in policy.refs)
    if kind == "variables":
        return any(_holds(e, variables, reads, keyword) for e in policy.variables)
    # `kubernetes: active` asks for a cluster integration, which a local run
    # never has.
    return False


def _holds(
    expression: str, variables: Mapping[str, str], reads: Reads, key: str
) -> bool:
    try:
        return matches(expression, variables, reads)
    except ExpressionError as error:
        raise error.located(keyword=f"{key}:variables") from None


def ref_matches(pattern: str, context: RefContext) -> bool:
    """Policy::Refs for one entry: a keyword, a source, a ref name or /regex/.

    `name@group/project` also requires the project path. Ref names and regexes
    only apply to branch and tag pipelines, never to merge request ones.
    """
    pattern, at, path = pattern.partition("@")
    if at and path != context.project_path:
        return False
    if pattern == "tags" and context.ref_kind == "tag":
        return True
    if pattern == "branches" and context.ref_kind == "branch":
        return True
    source = context.source.removesuffix("_event")
    if pattern in (source, pluralize(source)):
        return True
    if context.ref_kind not in ("branch", "tag"):
        return False
    regexp = fabricate(pattern)
    if regexp is None:
        return pattern == context.ref_name
    return present(context.ref_name) and regexp.search(context.ref_name)


def pluralize(word: str) -> str:
    """ActiveSupport's plural for the endings pipeline sources have (`pushes`)."""
    if word.endswith(("x", "ch", "ss", "sh")):
        return word + "es"
    if word.endswith("s"):
        return word
    if word.endswith("y") and (word[-2:-1] not in "aeiouy" or word.endswith("quy")):
        return word[:-1] + "ies"
    return word + "s"
