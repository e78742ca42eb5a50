"""The syntax tree of a CI/CD variable expression, built as GitLab's parser builds it.

GitLab (`Expression::Parser`) orders tokens with Dijkstra's shunting-yard
algorithm, then folds the reverse Polish result into a tree. This module does
the same, so it accepts exactly the statements GitLab accepts, including odd
ones such as `$A $B ==`, and rejects the rest with the offending column.
Comparisons bind tighter than `&&`, which binds tighter than `||`; all are
left-associative, and comparisons chain: `$A == $B == $C`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from minirunner.errors import ExpressionError
from minirunner.rules.lexer import OPERATOR_KINDS, Token, tokenize
from minirunner.rules.regex import Regexp, ruby_syntax


@dataclass(frozen=True)
class Variable:
    """`$NAME`."""

    name: str


@dataclass(frozen=True)
class String:
    """`"text"` or `'text'` (no escapes)."""

    value: str


@dataclass(frozen=True)
class Regex:
    """`/pattern/flags`, as written and compiled."""

    literal: str
    regexp: Regexp


@dataclass(frozen=True)
class Null:
    """`null`: the value of an undefined variable."""


@dataclass(frozen=True)
class Compare:
    """`==`, `!=`, `=~` or `!~`."""

    op: str
    left: Expression
    right: Expression


@dataclass(frozen=True)
class And:
    """`&&`."""

    left: Expression
    right: Expression


@dataclass(frozen=True)
class Or:
    """`||`."""

    left: Expression
    right: Expression


Expression = Variable | String | Regex | Null | Compare | And | Or

# The lexemes' `precedence`: lower binds tighter.
PRECEDENCE = {"==": 10, "!=": 10, "=~": 10, "!~": 10, "&&": 11, "||": 12}


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> Expression:
    """The tree of an expression; ExpressionError when GitLab would reject it."""
    tokens = tokenize(text)
    if not tokens:
        raise ExpressionError("empty expression", text, 1)
    return _fold(_postfix(tokens, text), text)


def _postfix(tokens: tuple[Token, ...], text: str) -> list[Token]:
    """Reorder tokens into reverse Polish notation (parser.rb `tokens_rpn`)."""
    output: list[Token] = []
    operators: list[Token] = []
    for token in tokens:
        if token.kind in OPERATOR_KINDS:
            while operators and _binds_before(token, operators[-1]):
                output.append(operators.pop())
            operators.append(token)
        elif token.kind == "(":
            operators.append(token)
        elif token.kind == ")":
            while operators and operators[-1].kind != "(":
                output.append(operators.pop())
            if not operators:
                raise ExpressionError("unmatched ')'", text, token.column)
            operators.pop()
        else:
            output.append(token)
    output.extend(reversed(operators))
    return output


def _binds_before(incoming: Token, stacked: Token) -> bool:
    return stacked.kind != "(" and (
        PRECEDENCE[incoming.kind] >= PRECEDENCE[stacked.kind]
    )


def _fold(postfix: list[Token], text: str) -> Expression:
    """Build the tree from reverse Polish notation (parser.rb `tree`)."""
    stack: list[tuple[Expression, int]] = []
    for token in postfix:
        if token.kind == "(":
            raise ExpressionError("unclosed '('", text, token.column)
        if token.kind not in OPERATOR_KINDS:
            stack.append((_value(token, text), token.column))
            continue
        right = stack.pop() if stack else None
        left = stack.pop() if stack else None
        if left is None or right is None:
            message = f"'{token.kind}' needs a value on each side"
            raise ExpressionError(message, text, token.column)
        column = min(left[1], right[1])
        stack.append((_operator(token.kind, left[0], right[0]), column))
    if not stack:
        raise ExpressionError("empty expression", text, 1)
    if len(stack) > 1:
        column = stack[1][1]
        raise ExpressionError("missing operator before this value", text, column)
    return stack[0][0]


def _value(token: Token, text: str) -> Expression:
    if token.kind == "variable":
        return Variable(token.text[1:])
    if token.kind == "string":
        return String(token.text[1:-1])
    if token.kind == "null":
        return Null()
    # Pattern.new unescapes `\/` before compiling.
    compiled = ruby_syntax(token.text.replace("\\/", "/"))
    if isinstance(compiled, str):
        message = f"invalid regular expression {token.text}: {compiled}"
        raise ExpressionError(message, text, token.column)
    return Regex(token.text, compiled)


def _operator(kind: str, left: Expression, right: Expression) -> Expression:
    if kind == "&&":
        return And(left, right)
    if kind == "||":
        return Or(left, right)
    return Compare(kind, left, right)


_NAMES = {"==": "equals", "!=": "not_equals", "=~": "matches", "!~": "not_matches"}


def describe(expression: Expression) -> str:
    """The tree in the style of GitLab's `inspect`: `or(equals($A, "x"), $B)`."""
    match expression:
        case Variable(name):
            return f"${name}"
        case String(value):
            return f'"{value}"'
        case Regex(regexp=regexp):
            return f"/{regexp.source}/"
        case Null():
            return "null"
        case Compare(op, left, right):
            return f"{_NAMES[op]}({describe(left)}, {describe(right)})"
        case And(left, right):
            return f"and({describe(left)}, {describe(right)})"
        case Or(left, right):
            return f"or({describe(left)}, {describe(right)})"
    raise TypeError(f"not an expression: {expression!r}")


__all__ = [
    "And",
    "Compare",
    "Expression",
    "Null",
    "Or",
    "Regex",
    "String",
    "Variable",
    "describe",
    "parse",
]
