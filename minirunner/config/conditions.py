"""When a job or pipeline exists: `rules`, `workflow`, `only` and `except`.

https://docs.gitlab.com/ci/yaml/#rules
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from minirunner.config import keywords as kw
from minirunner.config.model import Refs, Rule, Workflow, frozen_map
from minirunner.config.records import duration
from minirunner.config.relations import needs
from minirunner.config.shared import SharedRecords
from minirunner.config.unused import auto_cancel
from minirunner.config.values import (
    Site,
    boolean,
    check_keys,
    flatten,
    keyword_name,
    mapping,
    ruby_str,
    string,
    strings,
    type_name,
)
from minirunner.config.variables import variables
from minirunner.config.yamlnodes import Reference
from minirunner.errors import ConfigError

_REGEX_SYNTAX = re.compile(r"^/.*/[ismU]*$", re.DOTALL)
_WEEK = 7 * 24 * 3600
MAX_PATHS = 50
DEFAULT_ONLY_REFS = ("branches", "tags")


def check_expression(site: Site, path: str, text: Any) -> str:
    """A `rules:if` string whose syntax GitLab accepts."""
    if not isinstance(text, str):
        raise site.error(path, f"should be a string, not {type_name(text)}")
    try:
        from minirunner.rules.parser import parse
    except ImportError:
        return text
    try:
        parse(text)
    except ConfigError as error:
        file, line = site.where(path)
        raise error.located(
            file=file, line=line, job=site.job, keyword=keyword_name(path)
        ) from None
    return text


def _compact(value: Any) -> str:
    if type(value) is str:
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{key}: {_compact(item)}" for key, item in value.items())
        return "{" + inner + "}"
    if isinstance(value, Reference):
        return value.text
    return str(value)


def rule_text(raw: dict[Any, Any]) -> str:
    """One line naming a rule's clauses, e.g. `if: $CI_COMMIT_TAG, when: never`."""
    return ", ".join(
        f"{key}: {_compact(value)}" for key, value in raw.items() if value is not None
    )


def _paths(site: Site, path: str, raw: Any) -> tuple[str, ...]:
    paths = strings(site, path, raw)
    if len(paths) > MAX_PATHS:
        raise site.error(path, f"has too many entries (maximum {MAX_PATHS})")
    return paths


def _changes(site: Site, path: str, raw: Any) -> tuple[tuple[str, ...], str | None]:
    if isinstance(raw, list):
        return _paths(site, path, raw), None
    if not isinstance(raw, dict):
        raise site.error(path, "should be an array or a hash")
    check_keys(site, path, raw, frozenset({"paths", "compare_to"}))
    if "paths" not in raw:
        raise site.error(path, "missing required keys: paths")
    compare_to = raw.get("compare_to")
    if compare_to is not None:
        string(site, f"{path}:compare_to", compare_to)
    return _paths(site, f"{path}:paths", raw["paths"]), compare_to


def _exists(site: Site, path: str, raw: Any, warnings: list[str]) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list):
        return _paths(site, path, raw)
    if not isinstance(raw, dict):
        raise site.error(path, "should be a string, an array of strings, or a hash")
    check_keys(site, path, raw, frozenset({"paths", "project", "ref"}))
    if "paths" not in raw:
        raise site.error(path, "missing required keys: paths")
    if raw.get("project") is not None:
        file, line = site.where(path)
        warnings.append(
            f"{file}:{line}: job '{site.job}': rules:exists in project "
            f"'{raw['project']}' cannot be checked offline; this project's files "
            "are used"
        )
    return _paths(site, f"{path}:paths", raw["paths"])


def rule(
    site: Site,
    path: str,
    raw: Any,
    warnings: list[str],
    *,
    workflow: bool = False,
) -> Rule:
    """One rule of `rules:` (a job's, or `workflow:rules` when `workflow`)."""
    if not isinstance(raw, dict):
        raise site.error(path, f"config should be a hash, not {type_name(raw)}")
    allowed = kw.WORKFLOW_RULE_KEYS if workflow else kw.RULE_KEYS
    check_keys(site, path, raw, allowed)
    on_job_failure = auto_cancel(site, f"{path}:auto_cancel", raw.get("auto_cancel"))
    when = raw.get("when")
    if when is not None:
        allowed_when = kw.WORKFLOW_WHEN if workflow else kw.RULE_WHEN
        if not isinstance(when, str) or when not in allowed_when:
            raise site.error(f"{path}:when", f"unknown value: {ruby_str(when)}")
    start_in = raw.get("start_in")
    if when == "delayed":
        if start_in is None:
            raise site.error(f"{path}:start_in", "can't be blank")
        duration(site, f"{path}:start_in", start_in, _WEEK)
    elif "start_in" in raw:
        raise site.error(path, "contains disallowed keys: start_in")
    changes, compare_to = (
        _changes(site, f"{path}:changes", raw["changes"])
        if raw.get("changes") is not None
        else (None, None)
    )
    if_ = raw.get("if")
    allow = raw.get("allow_failure")
    interruptible = raw.get("interruptible")
    rule_needs = raw.get("needs")
    return Rule(
        if_=None if if_ is None else check_expression(site, f"{path}:if", if_),
        changes=changes,
        compare_to=compare_to,
        exists=None
        if raw.get("exists") is None
        else _exists(site, f"{path}:exists", raw["exists"], warnings),
        when=when,
        start_in=start_in,
        allow_failure=None
        if allow is None
        else boolean(site, f"{path}:allow_failure", allow),
        variables=frozen_map(
            variables(
                site, f"{path}:variables", raw.get("variables"), kw.JOB_VARIABLE_DATA
            )
        ),
        needs=None
        if rule_needs is None
        else tuple(
            spec.need for spec in needs(site, f"{path}:needs", rule_needs, warnings)
        ),
        interruptible=None
        if interruptible is None
        else boolean(site, f"{path}:interruptible", interruptible),
        on_job_failure=on_job_failure,
        text=rule_text(raw),
    )


def rules(
    site: Site,
    path: str,
    raw: Any,
    warnings: list[str],
    *,
    workflow: bool = False,
    shared: SharedRecords | None = None,
) -> tuple[Rule, ...] | None:
    """`rules:`; nested lists from `!reference` are flattened (up to 10 levels).

    With `shared`, a rule several jobs hold is built once.
    """
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise site.error(
            path, "should be an array containing hashes and arrays of hashes"
        )
    items = flatten(
        site, path, raw, "should be an array containing hashes and arrays of hashes"
    )
    if shared is None:
        shared = SharedRecords()
    kind = "workflow rule" if workflow else "rule"
    return tuple(
        shared.record(
            kind,
            item,
            partial(rule, site, f"{path}[{index}]", item, warnings, workflow=workflow),
            warnings,
        )
        for index, item in enumerate(items)
    )


def workflow(site: Site, raw: Any, warnings: list[str]) -> Workflow:
    """`workflow:` with its `rules` (when: always or never) and `name`."""
    if raw is None:
        return Workflow()
    mapping(site, "workflow", raw)
    check_keys(site, "workflow", raw, kw.WORKFLOW_KEYS)
    on_job_failure = auto_cancel(site, "workflow:auto_cancel", raw.get("auto_cancel"))
    name = raw.get("name")
    if name is not None:
        string(site, "workflow:name", name)
        if len(name) > 255:
            raise site.error("workflow:name", "is too long (maximum is 255 characters)")
    return Workflow(
        rules=rules(site, "workflow:rules", raw.get("rules"), warnings, workflow=True),
        name=name,
        on_job_failure=on_job_failure or "none",
    )


def _refs(site: Site, path: str, raw: Any) -> tuple[str, ...]:
    message = "should be an array of strings or regular expressions using re2 syntax"
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise site.error(path, message)
    from minirunner.rules.regex import ruby_syntax

    for item in raw:
        if _REGEX_SYNTAX.match(item) and isinstance(ruby_syntax(item), str):
            raise site.error(path, message)
    return tuple(raw)


def policy(site: Site, path: str, raw: Any, *, only: bool) -> Refs | None:
    """`only:`/`except:`; `only` keeps GitLab's default refs (branches, tags)
    unless it names refs itself (Entry::Policy deep-merges DEFAULT_ONLY)."""
    default = DEFAULT_ONLY_REFS if only else ()
    if raw is None:
        return None
    if isinstance(raw, list):
        return Refs(refs=_refs(site, path, raw))
    if not isinstance(raw, dict):
        raise site.error(
            path, "config has to be either an array of conditions or a hash"
        )
    if not raw:
        raise site.error(path, "config can't be blank")
    check_keys(site, path, raw, kw.ONLY_KEYS)
    kubernetes = raw.get("kubernetes")
    if kubernetes is not None and kubernetes != "active":
        raise site.error(f"{path}:kubernetes", f"unknown value: {kubernetes}")
    expressions = raw.get("variables")
    checked: tuple[str, ...] = ()
    if expressions is not None:
        checked = strings(site, f"{path}:variables", expressions)
        for text in checked:
            check_expression(site, f"{path}:variables", text)
    refs = raw.get("refs")
    changes = raw.get("changes")
    return Refs(
        refs=default if refs is None else _refs(site, f"{path}:refs", refs),
        variables=checked,
        changes=() if changes is None else strings(site, f"{path}:changes", changes),
        kubernetes=kubernetes,
    )
