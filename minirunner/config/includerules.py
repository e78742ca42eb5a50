"""`include:rules`: `if`, `exists`, `changes` and `when` (never/always) of an include.

https://docs.gitlab.com/ci/yaml/includes/#use-rules-with-include
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from minirunner.config.conditions import MAX_PATHS
from minirunner.config.values import Site, check_keys, string, strings, type_name
from minirunner.errors import ConfigError

_RULE_KEYS = frozenset({"if", "exists", "when", "changes"})
_EXISTS_KEYS = frozenset({"paths", "project", "ref"})
_CHANGES_KEYS = frozenset({"paths", "compare_to"})
_VARIABLE = re.compile(r"\$([a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


def expand_existing(text: str, variables: Mapping[str, str]) -> str:
    """ExpandVariables.expand_existing: defined variables only, others stay."""
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        value = variables.get(match.group(1) or match.group(2))
        return match.group(0) if value is None else value

    return _VARIABLE.sub(replace, text)


def if_matches(text: Any, variables: Mapping[str, str], site: Site, path: str) -> bool:
    """Evaluate a `rules:if` expression with minirunner's expression module."""
    if not isinstance(text, str):
        raise site.error(path, f"should be a string, not {type_name(text)}")
    from minirunner.rules.evaluate import matches

    try:
        return bool(matches(text, variables))
    except ConfigError as error:
        file, line = site.where(path)
        raise error.located(file=file, line=line, keyword="include:rules:if") from None


def _exists(
    value: Any,
    site: Site,
    path: str,
    variables: Mapping[str, str],
    tree_files: Callable[[], list[str]],
) -> bool:
    if isinstance(value, dict):
        check_keys(site, path, value, _EXISTS_KEYS)
        if value.get("project"):
            # Another project's files cannot be listed offline.
            return False
        value = value.get("paths")
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise site.error(path, "should be a string, an array of strings, or a hash")
    from minirunner.rules.globs import first_match

    expanded = [expand_existing(pattern, variables) for pattern in patterns]
    return first_match(expanded, tree_files()) is not None


def _changes(
    value: Any,
    site: Site,
    path: str,
    variables: Mapping[str, str],
    changed_paths: frozenset[str] | None,
    compare_to: Callable[[str], frozenset[str] | None] | None,
) -> bool:
    # Rule::Clause::Changes, the class job rules use too: the push's changed
    # paths, or those since `compare_to`; nothing to compare with holds.
    ref: Any = None
    listed, listed_path = value, path
    if isinstance(value, dict):
        check_keys(site, path, value, _CHANGES_KEYS)
        if "paths" not in value:
            raise site.error(path, "missing required keys: paths")
        ref = value.get("compare_to")
        if ref is not None:
            string(site, f"{path}:compare_to", ref)
        listed, listed_path = value["paths"], f"{path}:paths"
    elif not isinstance(value, list):
        raise site.error(path, "should be an array or a hash")
    patterns = strings(site, listed_path, listed)
    if len(patterns) > MAX_PATHS:
        raise site.error(listed_path, f"has too many entries (maximum {MAX_PATHS})")
    from minirunner.rules import clauses

    paths = changed_paths
    if ref is not None and compare_to is None:
        # No repository to resolve the ref in: nothing to compare with.
        paths = None
    elif ref is not None and compare_to is not None:
        try:
            paths = compare_to(clauses.expand_existing(ref, variables))
        except ConfigError as error:
            file, line = site.where(f"{path}:compare_to")
            keyword = "include:rules:changes:compare_to"
            raise error.located(file=file, line=line, keyword=keyword) from None
    globs = [clauses.expand_existing(pattern, variables) for pattern in patterns]
    return clauses.changes(globs, paths).matched


def rules_pass(
    rules: Any,
    site: Site,
    path: str,
    variables: Mapping[str, str],
    tree_files: Callable[[], list[str]],
    *,
    changed_paths: frozenset[str] | None = None,
    compare_to: Callable[[str], frozenset[str] | None] | None = None,
) -> bool:
    """Whether an include with these rules is included.

    The first rule whose clauses all hold decides. `changes` is judged as
    job `rules:changes`: against `changed_paths`, or against what
    `compare_to(ref)` gives for `changes:compare_to`. It holds when there is
    nothing to compare with: `changed_paths` None (tags, new branches, no
    push), or a `compare_to` ref with no `compare_to` resolver.
    """
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise site.error(path, "should be an array of hashes")
    for index, rule in enumerate(rules):
        where = f"{path}[{index}]"
        check_keys(site, where, rule, _RULE_KEYS)
        when: Any = rule.get("when")
        if when is not None and when not in ("never", "always"):
            raise site.error(f"{where}:when", f"unknown value: {when}")
        if rule.get("if") is not None and not if_matches(
            rule["if"], variables, site, where
        ):
            continue
        if rule.get("changes") is not None and not _changes(
            rule["changes"],
            site,
            f"{where}:changes",
            variables,
            changed_paths,
            compare_to,
        ):
            continue
        if rule.get("exists") is not None and not _exists(
            rule["exists"], site, f"{where}:exists", variables, tree_files
        ):
            continue
        return bool(when != "never")
    return False
