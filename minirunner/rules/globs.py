"""Path globs as Ruby's File.fnmatch with FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB.

GitLab matches `rules:changes`, `rules:exists` and `only:changes` this way
(https://docs.gitlab.com/ci/yaml/#ruleschanges). `*`, `?` and `[...]` never
match `/`; `**/` at the start of a segment matches zero or more folders, while
`**` elsewhere is a plain `*`; `{a,b}` alternatives are expanded first (nested
braces too; an unclosed `{` matches nothing); dotfiles need no explicit dot;
`\\` escapes the next character. Each pattern becomes one cached regex.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from minirunner.errors import ConfigError

# Brace expansion multiplies; Ruby has no limit, but a pattern this prolific is
# a mistake, and refusing it keeps a hostile pattern from eating memory.
MAX_ALTERNATIVES = 4096

_NEVER = "(?!)"


def match(pattern: str, path: str) -> bool:
    """Whether `path` (relative, `/`-separated) matches the glob `pattern`."""
    return _compile(pattern).fullmatch(path) is not None


def first_match(
    patterns: Iterable[str], paths: Iterable[str]
) -> tuple[str, str] | None:
    """The first pattern, in order, that matches one of the paths, with that path.

    Paths are tried in the order given; pass them sorted for a stable answer.
    """
    candidates = paths if isinstance(paths, (list, tuple)) else list(paths)
    for pattern in patterns:
        fullmatch = _compile(pattern).fullmatch
        for path in candidates:
            if fullmatch(path) is not None:
                return pattern, path
    return None


@functools.lru_cache(maxsize=8192)
def _compile(pattern: str) -> re.Pattern[str]:
    alternatives = expand_braces(pattern)
    if len(alternatives) > MAX_ALTERNATIVES:
        raise ConfigError(
            f"glob '{pattern}' expands to more than {MAX_ALTERNATIVES} alternatives"
        )
    regexes = sorted({translate(alternative) for alternative in alternatives})
    return re.compile("|".join(f"(?:{regex})" for regex in regexes) or _NEVER)


def expand_braces(pattern: str) -> list[str]:
    """The patterns `{a,b}` stands for, as Ruby's `ruby_brace_expand` makes them.

    Only the first top-level brace pair is split, then each result is expanded
    again. A `{` without its `}` yields no pattern at all.
    """
    results: list[str] = []
    pending = [pattern]
    while pending:
        current = pending.pop()
        split = _split_first_braces(current)
        if split is None:
            results.append(current)
        elif split:
            pending.extend(reversed(split))
        if len(results) + len(pending) > MAX_ALTERNATIVES:
            return results + pending
    return results


def _split_first_braces(pattern: str) -> list[str] | None:
    """Alternatives for the first brace pair; None when there is no brace.

    An empty list means an unclosed `{`, which matches nothing in Ruby.
    """
    end = len(pattern)
    left = right = -1
    nest = 0
    index = 0
    while index < end:
        char = pattern[index]
        if char == "{":
            if nest == 0:
                left = index
            nest += 1
        if char == "}" and left >= 0:
            nest -= 1
            if nest == 0:
                right = index
                break
        if char == "\\":
            index += 1
            if index >= end:
                break
        index += 1
    if left < 0:
        return None
    if right < 0:
        return []

    prefix, suffix = pattern[:left], pattern[right + 1 :]
    alternatives = []
    position = left
    while position < right:
        position += 1
        start = position
        nest = 0
        while position < right and not (pattern[position] == "," and nest == 0):
            if pattern[position] == "{":
                nest += 1
            if pattern[position] == "}":
                nest -= 1
            if pattern[position] == "\\":
                position += 1
                if position == right:
                    break
            position += 1
        alternatives.append(prefix + pattern[start:position] + suffix)
    return alternatives


def translate(pattern: str) -> str:
    """The regex (for `fullmatch`) of one brace-free pattern (dir.c `fnmatch`)."""
    parts: list[str] = []
    index = 0
    end = len(pattern)
    segment_start = True
    while index < end:
        if segment_start and pattern.startswith("**/", index):
            while pattern.startswith("**/", index):
                index += 3
            parts.append("(?:[^/]*/)*")
            continue
        char = pattern[index]
        segment_start = False
        if char == "*":
            while index < end and pattern[index] == "*":
                index += 1
            parts.append("[^/]*")
            continue
        if char == "?":
            parts.append("[^/]")
        elif char == "[":
            bracket = _bracket(pattern, index + 1)
            if bracket is None:
                # Ruby fails at an unclosed `[`, whatever the path.
                return _NEVER
            regex, index = bracket
            parts.append(regex)
            continue
        elif char == "\\":
            index += 1
            if index == end:
                break
            char = pattern[index]
            segment_start = char == "/"
            parts.append(re.escape(char))
        else:
            segment_start = char == "/"
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def _bracket(pattern: str, index: int) -> tuple[str, int] | None:
    """A `[...]` class starting after `[`: its regex and the index after `]`.

    dir.c `bracket`: `!` or `^` negates; `a-z` is a range, and a reversed range
    matches only its two ends; `\\` escapes; a `]` first closes an empty class;
    the class never matches `/`. None when the class is not closed.
    """
    end = len(pattern)
    if index >= end:
        return None
    negate = pattern[index] in "!^"
    if negate:
        index += 1
    items: list[str] = []
    while True:
        if index >= end:
            return None
        if pattern[index] == "]":
            break
        if pattern[index] == "\\":
            index += 1
        if index >= end:
            return None
        first = pattern[index]
        index += 1
        if index >= end:
            return None
        if pattern[index] == "-" and pattern[index + 1 : index + 2] != "]":
            index += 1
            if index < end and pattern[index] == "\\":
                index += 1
            if index >= end:
                return None
            last = pattern[index]
            index += 1
            items.append(_range(first, last))
        else:
            items.append(_class_char(first))
    members = "".join(items)
    if negate:
        return f"[^/{members}]", index + 1
    if not members:
        return _NEVER, index + 1
    return f"(?!/)[{members}]", index + 1


def _range(first: str, last: str) -> str:
    if first <= last:
        return f"{_class_char(first)}-{_class_char(last)}"
    return _class_char(first) + _class_char(last)


def _class_char(char: str) -> str:
    # re.escape also covers `&&`, `~~`, `||` and `--`, which Python would
    # warn about as possible set operations.
    return re.escape(char)
