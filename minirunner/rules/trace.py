"""Records of how rules were judged, for `minirunner explain` and error messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from minirunner.config.model import frozen_map


@dataclass(frozen=True)
class PathMatch:
    """What a `changes` or `exists` clause found: the pattern and path that
    matched, or a note saying why it holds or fails without one."""

    matched: bool
    pattern: str | None = None
    path: str | None = None
    note: str = ""

    def describe(self) -> str:
        """One phrase for explanations."""
        if self.pattern is not None and self.path is not None:
            return f"{self.path} matches {self.pattern}"
        if self.note:
            return self.note
        return "a path matches" if self.matched else "no path matches"


@dataclass(frozen=True)
class RuleTrace:
    """One rule (or one only/except part) as it was evaluated.

    `index` is 1-based within its list; `source` is `rules`, `workflow:rules`,
    `only` or `except`. Clauses after the first false one are not evaluated,
    as in GitLab, and stay None; `reads` holds each variable the `if` (or the
    `$VAR` in paths) read, None for an undefined one.
    """

    index: int
    text: str
    matched: bool
    reads: Mapping[str, str | None] = field(default_factory=frozen_map)
    if_matched: bool | None = None
    changes: PathMatch | None = None
    exists: PathMatch | None = None
    source: str = "rules"
