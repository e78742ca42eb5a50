"""The `changes` and `exists` clauses of a rule, judged as GitLab's Rule::Clause."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from minirunner.rules.globs import first_match
from minirunner.rules.trace import PathMatch
from minirunner.sourcetree import SourceTree

# Rule::Clause::Changes and ::Exists: past this many glob comparisons GitLab
# stops looking and assumes a match.
MAX_PATTERN_COMPARISONS = 50_000

ASSUMED_MATCH = "GitLab assumes a match past 50,000 path comparisons"
NO_DIFF = "always true: no push diff to compare (tag, new branch or no push)"

# ExpandVariables::VARIABLES_REGEXP: $NAME, ${NAME} and %NAME%.
_REFERENCE = re.compile(
    r"\$([a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}"
    r"|%([a-zA-Z_][a-zA-Z0-9_]*)%"
)

_METACHARACTERS = "*?[{"
_NESTED = "**/*"


def expand_existing(
    value: str,
    variables: Mapping[str, str],
    reads: dict[str, str | None] | None = None,
) -> str:
    """Replace `$NAME`, `${NAME}` and `%NAME%` by defined variables only.

    ExpandVariables.expand_existing: a reference to an undefined variable stays
    as written (https://docs.gitlab.com/ci/yaml/#ruleschanges).
    """

    def replace(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2) or found.group(3)
        known = variables.get(name)
        if reads is not None:
            reads[name] = known
        return found.group(0) if known is None else known

    if "$" not in value and "%" not in value:
        return value
    return _REFERENCE.sub(replace, value)


def changes(
    globs: Iterable[str],
    paths: frozenset[str] | None,
    *,
    limit: bool = True,
) -> PathMatch:
    """Rule::Clause::Changes over already expanded globs.

    `paths` None means there is nothing to compare with, so the clause holds.
    `limit` applies GitLab's comparison limit (rules, not only/except).
    """
    if paths is None:
        return PathMatch(True, note=NO_DIFF)
    if not paths:
        return PathMatch(False, note="no file changed")
    unique = list(dict.fromkeys(globs))
    if not unique:
        return PathMatch(False, note="no pattern given")
    if limit and len(paths) * len(unique) > MAX_PATTERN_COMPARISONS:
        return PathMatch(True, note=ASSUMED_MATCH)
    found = first_match(unique, sorted(paths))
    if found is None:
        return PathMatch(False, note="no changed file matches")
    return PathMatch(True, found[0], found[1])


def exists(globs: Iterable[str], tree: SourceTree) -> PathMatch:
    """Rule::Clause::Exists over already expanded globs, cached per tree."""
    return _exists(tuple(globs), _Files.of(tree))


@functools.lru_cache(maxsize=4096)
def _exists(globs: tuple[str, ...], files: _Files) -> PathMatch:
    if not globs:
        return PathMatch(False, note="no pattern given")
    top_level_only = all("/" not in glob and "**" not in glob for glob in globs)
    paths = files.top_level if top_level_only else files.all
    exact = [glob for glob in globs if _is_exact(glob)]
    extension = [g for g in globs if not _is_exact(g) and _is_extension(g)]
    patterns = [g for g in globs if not _is_exact(g) and not _is_extension(g)]

    for glob in exact:
        if glob.endswith("/"):
            # A folder: it exists when a file lies below it (GitLab 18.2+).
            path = next((p for p in paths if p.startswith(glob)), None)
        else:
            path = glob if glob in files.members else None
        if path is not None:
            return PathMatch(True, glob, path)
    for glob in extension:
        suffix = glob.removeprefix(_NESTED)
        path = next((p for p in paths if p.endswith(suffix)), None)
        if path is not None:
            return PathMatch(True, glob, path)
    if not patterns:
        return PathMatch(False, note="no file matches")
    if len(paths) * len(patterns) > MAX_PATTERN_COMPARISONS:
        return PathMatch(True, note=ASSUMED_MATCH)
    found = first_match(patterns, paths)
    if found is None:
        return PathMatch(False, note="no file matches")
    return PathMatch(True, found[0], found[1])


def _is_exact(glob: str) -> bool:
    return not any(char in glob for char in _METACHARACTERS)


def _is_extension(glob: str) -> bool:
    # `**/*.js`: GitLab tests the file name's end instead of globbing.
    rest = glob.removeprefix(_NESTED)
    return rest.startswith(".") and "/" not in rest and _is_exact(rest)


class _Files:
    """A tree's file list, read once and shared by every `exists` clause."""

    _cache: dict[int, tuple[SourceTree, _Files]] = {}

    def __init__(self, paths: Iterable[str]) -> None:
        self.all = tuple(sorted(paths))
        self.members = frozenset(self.all)
        self.top_level = tuple(path for path in self.all if "/" not in path)

    @classmethod
    def of(cls, tree: SourceTree) -> _Files:
        """The listing of `tree`, made on first use."""
        cached = cls._cache.get(id(tree))
        if cached is not None and cached[0] is tree:
            return cached[1]
        files = cls(tree.files())
        if len(cls._cache) > 16:
            cls._cache.clear()
        cls._cache[id(tree)] = (tree, files)
        return files
