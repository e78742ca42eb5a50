"""GitLab's `rules`: the CI/CD variable expression language and job inclusion."""

from __future__ import annotations

from minirunner.rules.decide import (
    Decision,
    RuleInputs,
    WorkflowDecision,
    decide_job,
    decide_workflow,
)
from minirunner.rules.evaluate import evaluate, matches
from minirunner.rules.globs import first_match, match
from minirunner.rules.parser import Expression, describe, parse
from minirunner.rules.trace import PathMatch, RuleTrace

__all__ = [
    "Decision",
    "Expression",
    "PathMatch",
    "RuleInputs",
    "RuleTrace",
    "WorkflowDecision",
    "decide_job",
    "decide_workflow",
    "describe",
    "evaluate",
    "first_match",
    "match",
    "matches",
    "parse",
]
