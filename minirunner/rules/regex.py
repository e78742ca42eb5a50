"""`/pattern/flags` regexes compiled with RE2, as GitLab's UntrustedRegexp."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import re2

# Gitlab::UntrustedRegexp::RubySyntax::PATTERN; Ruby's `^`, `$` and `.` are
# line-based, hence MULTILINE and no DOTALL.
_RUBY_SYNTAX = re.compile(r"^/(?P<regexp>.*)/(?P<flags>[ismU]*)$", re.MULTILINE)

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@dataclass(frozen=True)
class Regexp:
    """A compiled RE2 expression; `source` carries its `(?flags)` prefix."""

    source: str
    compiled: Any = field(compare=False, repr=False)

    def search(self, text: str) -> bool:
        """Whether the expression matches anywhere in `text` (unanchored)."""
        return self.compiled.search(_utf8(text)) is not None


def _utf8(text: str) -> bytes:
    # Environment variables may carry lone surrogates; RE2 then sees bytes
    # that are not UTF-8 instead of Python failing to encode them.
    return text.encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=4096)
def compile_re2(source: str) -> Regexp | str:
    """The RE2 expression for `source`, or RE2's reason for rejecting it."""
    try:
        compiled = re2.compile(_utf8(source), _OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else "invalid regular expression"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return str(reason)
    return Regexp(source, compiled)


def ruby_syntax(value: str) -> Regexp | str:
    """`/body/flags` as RE2 with the flags prefixed as `(?flags)`, or why not.

    This is RubySyntax.fabricate!: flags i, m, s and U are RE2's own; the body
    is not otherwise rewritten.
    """
    found = _RUBY_SYNTAX.search(value)
    if found is None:
        return "not a /pattern/flags regular expression"
    flags = found["flags"]
    body = found["regexp"]
    return compile_re2(f"(?{flags}){body}" if flags else body)


def fabricate(value: str) -> Regexp | None:
    """The regular expression a `/…/flags` string stands for, or None."""
    result = ruby_syntax(value)
    return result if isinstance(result, Regexp) else None
