"""Tokens of GitLab's CI/CD variable expressions, as `Expression::Lexer` scans them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from minirunner.errors import ExpressionError

# lexer.rb: the scanner stops after MAX_TOKENS rounds, so a statement may hold
# at most MAX_TOKENS - 1 tokens.
MAX_TOKENS = 100

VALUE_KINDS = frozenset({"variable", "string", "regex", "null"})
OPERATOR_KINDS = frozenset({"==", "!=", "=~", "!~", "&&", "||"})

# Ruby's `\s`; Python's would also take Unicode spaces.
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")

# In lexer.rb's order. Ruby's `\w` is ASCII; `.` stops at a newline; the
# regex body needs two characters at least, so `/./` does not scan.
_LEXEMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("(", re.compile(r"\(")),
    (")", re.compile(r"\)")),
    ("variable", re.compile(r"\$[A-Za-z0-9_]+")),
    ("string", re.compile(r"\"[^\"\n]*\"|'[^'\n]*'")),
    ("regex", re.compile(r"/(?:[^/]|\\/)+[^\\]/[ismU]*")),
    ("null", re.compile(r"null")),
    ("==", re.compile(r"==")),
    ("=~", re.compile(r"=~")),
    ("!=", re.compile(r"!=")),
    ("!~", re.compile(r"!~")),
    ("&&", re.compile(r"&&")),
    ("||", re.compile(r"\|\|")),
)


@dataclass(frozen=True)
class Token:
    """One lexeme: its kind (`variable`, `string`, `regex`, `null`, or the
    operator or parenthesis itself), the text as written and its 1-based column."""

    kind: str
    text: str
    column: int


def tokenize(text: str) -> tuple[Token, ...]:
    """Split an expression into tokens; ExpressionError on anything else."""
    tokens: list[Token] = []
    position = 0
    for _ in range(MAX_TOKENS):
        space = _WHITESPACE.match(text, position)
        if space:
            position = space.end()
        if position == len(text):
            return tuple(tokens)
        tokens.append(_scan(text, position))
        position += len(tokens[-1].text)
    raise ExpressionError(
        f"too many tokens (GitLab accepts at most {MAX_TOKENS - 1})",
        text,
        position + 1,
    )


def _scan(text: str, position: int) -> Token:
    for kind, pattern in _LEXEMES:
        found = pattern.match(text, position)
        if found:
            return Token(kind, found.group(), position + 1)
    raise ExpressionError(_unknown(text, position), text, position + 1)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _unknown(text: str, position: int) -> str:
    """Say why nothing scans at `position`, with a hint for the usual slips."""
    rest = text[position:]
    if rest.startswith("${"):
        return "'${NAME}' is not supported in expressions, write '$NAME'"
    if rest.startswith("%") and _NAME.match(rest, 1) and "%" in rest[1:]:
        return "'%NAME%' is not supported in expressions, write '$NAME'"
    if rest.startswith("$"):
        return "'$' must be followed by a variable name"
    if rest[0] in "\"'":
        return f"unterminated string (missing closing {rest[0]} on this line)"
    if rest.startswith("/"):
        return (
            "invalid regular expression literal: write /pattern/flags with at "
            "least two characters and flags among i, m, s, U"
        )
    if rest.startswith("="):
        return "unknown operator '=', use '==' or '=~'"
    if rest.startswith("!"):
        return "unknown operator '!', use '!=' or '!~'"
    if rest[0] in "&|":
        return f"unknown operator '{rest[0]}', use '&&' or '||'"
    return f"unexpected {rest[0]!r}"
