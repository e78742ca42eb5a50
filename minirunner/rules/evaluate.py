"""Evaluation of a parsed expression against variables, with Ruby's value semantics.

GitLab evaluates each node to a Ruby value (a string, nil, true, false or a
regular expression): `&&` and `||` return one of their operands, where only nil
and false are false (so `""` counts as true inside them), and the statement as
a whole holds when its value is `present?`: not nil, not false, and not a
string of whitespace only (`Statement#truthful?`).
"""

from __future__ import annotations

from collections.abc import Mapping

from minirunner.rules.parser import (
    And,
    Compare,
    Expression,
    Null,
    Or,
    Regex,
    String,
    Variable,
    parse,
)
from minirunner.rules.regex import Regexp, fabricate

Value = str | bool | Regexp | None

Reads = dict[str, str | None]

# ActiveSupport's String#blank? is /\A[[:space:]]*\z/: Unicode White_Space.
_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# What Ruby's `to_s` gives for a regular expression object on the left of =~.
_REGEXP_TO_S = "#<Gitlab::UntrustedRegexp>"


def evaluate(
    expression: Expression,
    variables: Mapping[str, str],
    reads: Reads | None = None,
) -> bool:
    """Whether the expression holds; each variable it reads goes into `reads`.

    Undefined variables are None in `reads`; `&&` and `||` short-circuit, so a
    variable on a side that was not needed is not read.
    """
    return present(value_of(expression, variables, reads))


def matches(
    text: str, variables: Mapping[str, str], reads: Reads | None = None
) -> bool:
    """Parse (cached) and evaluate an expression; ExpressionError if invalid."""
    return evaluate(parse(text), variables, reads)


def present(value: Value) -> bool:
    """Ruby's `present?` for the values an expression yields."""
    if isinstance(value, str):
        return any(char not in _WHITE_SPACE for char in value)
    return value is not None and value is not False


def value_of(
    expression: Expression, variables: Mapping[str, str], reads: Reads | None
) -> Value:
    """The Ruby value GitLab computes for a node (see the module docstring)."""
    if type(expression) is Variable:
        name = expression.name
        value = variables.get(name)
        if reads is not None:
            reads[name] = value
        return value
    if type(expression) is String:
        return expression.value
    if type(expression) is Compare:
        lhs = value_of(expression.left, variables, reads)
        rhs = value_of(expression.right, variables, reads)
        op = expression.op
        if op == "==":
            return _equal(lhs, rhs)
        if op == "!=":
            return not _equal(lhs, rhs)
        if op == "=~":
            return _match(lhs, rhs)
        return not _match(lhs, rhs)
    if type(expression) is And:
        first = value_of(expression.left, variables, reads)
        if not _truthy(first):
            return first
        return value_of(expression.right, variables, reads)
    if type(expression) is Or:
        first = value_of(expression.left, variables, reads)
        if _truthy(first):
            return first
        return value_of(expression.right, variables, reads)
    if type(expression) is Regex:
        return expression.regexp
    if type(expression) is Null:
        return None
    raise TypeError(f"not an expression: {expression!r}")


def _truthy(value: Value) -> bool:
    return value is not None and value is not False


def _equal(left: Value, right: Value) -> bool:
    # GitLab crashes comparing a regular expression with anything but another
    # one (UntrustedRegexp#== calls `source` on it); here that is just unequal.
    if isinstance(left, Regexp) or isinstance(right, Regexp):
        return (
            isinstance(left, Regexp)
            and isinstance(right, Regexp)
            and left.source == right.source
        )
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    return left is right


def _match(text: Value, pattern: Value) -> bool:
    """`=~` (Lexeme::Matches): regex search, or substring when not a regex.

    A right side that is a string is read as `/pattern/flags` (with `\\/`
    unescaped); if it is not one, the left side must be a substring of it
    (https://docs.gitlab.com/ci/jobs/job_rules/#compare-a-variable-to-a-regular-expression).
    An undefined left side is the empty string; an undefined right side never
    matches, and `!~` is the negation of all this (Lexeme::NotMatches).
    """
    if pattern is None or isinstance(pattern, bool):
        # nil and false never match; GitLab crashes on true.
        return False
    subject = _to_s(text)
    if isinstance(pattern, Regexp):
        return pattern.search(subject)
    regexp = fabricate(pattern.replace("\\/", "/"))
    if regexp is None:
        return subject in pattern
    return regexp.search(subject)


def _to_s(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Regexp):
        return _REGEXP_TO_S
    return value
