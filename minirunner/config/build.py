"""The merged configuration (includes, extends, references done) into a Config."""

from __future__ import annotations

import difflib
from typing import Any

from minirunner.config import conditions
from minirunner.config import keywords as kw
from minirunner.config.checks import (
    check_needs,
    check_on_stop,
    check_stages,
    check_visible,
)
from minirunner.config.jobs import Defaults, Draft, build_default, build_job, is_job
from minirunner.config.merge import Locs
from minirunner.config.model import (
    DEFAULT_STAGES,
    POST_STAGE,
    PRE_STAGE,
    Config,
    frozen_map,
)
from minirunner.config.parallel import expand_parallel
from minirunner.config.shared import SharedRecords
from minirunner.config.values import (
    check_keys,
    job_site,
    mapping,
    ruby_str,
    strings,
    top_site,
)
from minirunner.config.variables import variables
from minirunner.errors import ConfigError, ConfigErrors

MAX_JOB_NAME = 255
# How many mistakes of one job lint lists, as a hostile file could hold many.
MAX_MISTAKES_PER_JOB = 20


def wrap_stages(listed: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """`.pre` first and `.post` last, as GitLab's EdgeStagesInjector does."""
    if not listed:
        return ()
    inner = [
        stage for stage in dict.fromkeys(listed) if stage not in (PRE_STAGE, POST_STAGE)
    ]
    return (PRE_STAGE, *inner, POST_STAGE)


def _stages(data: dict[Any, Any], locs: Locs) -> tuple[str, ...]:
    key = "stages"
    raw = data.get("stages")
    if raw is None and data.get("types") is not None:
        key, raw = "types", data["types"]
    if raw is None:
        return wrap_stages(DEFAULT_STAGES)
    return wrap_stages(strings(top_site(key, locs), key, raw))


def _defaults(data: dict[Any, Any], locs: Locs) -> Defaults:
    raw = data.get("default")
    if is_job("default", raw):
        raw = None
    site = top_site("default", locs)
    if raw is not None:
        mapping(site, "default", raw)
        check_keys(site, "default", raw, frozenset(kw.DEFAULT_KEYS))
    own = raw or {}
    built: dict[str, Any] = {}
    for key in kw.DEFAULT_KEYS:
        value = own.get(key)
        legacy = data.get(key) if key in kw.DEPRECATED_GLOBALS else None
        if value is not None and legacy is not None:
            raise top_site(key, locs).error(
                key, f"{key} is defined in top-level and `default:` entry"
            )
        if value is not None:
            built[key] = build_default(site, key, value, f"default:{key}")
        elif legacy is not None:
            built[key] = build_default(top_site(key, locs), key, legacy, key)
    return Defaults(built)


def _drafts(
    data: dict[Any, Any],
    locs: Locs,
    defaults: Defaults,
    warnings: list[str],
) -> list[Draft]:
    """Every job's draft; the mistakes of all the jobs at once, as GitLab's lint
    lists them."""
    drafts = []
    errors: list[ConfigError] = []
    shared = SharedRecords()
    for name, raw in data.items():
        if name in kw.RESERVED:
            continue
        if name in ("default", "workflow") and not is_job(name, raw):
            continue
        if isinstance(name, str) and name.startswith("."):
            continue
        try:
            drafts.append(_draft(name, raw, locs, defaults, warnings, shared))
        except ConfigError as error:
            errors.extend(_mistakes_of_job(error, name, raw, locs, defaults, shared))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    return drafts


def _draft(
    name: Any,
    raw: Any,
    locs: Locs,
    defaults: Defaults,
    warnings: list[str],
    shared: SharedRecords,
) -> Draft:
    if not isinstance(name, str):
        written = "null" if name is None else ruby_str(name)
        site = job_site(ruby_str(name), locs)
        raise ConfigError(
            f"a job name should be a string; write it in quotes: '{written}':",
            file=site.file,
            line=site.line,
            job=written,
        )
    site = job_site(name, locs)
    if not is_job(name, raw):
        raise ConfigError(
            "config should implement the script:, run:, or trigger: keyword"
            + _misspelt_script(raw),
            file=site.file,
            line=site.line,
            job=name,
        )
    if len(name) > MAX_JOB_NAME:
        raise ConfigError(
            f"name is too long (maximum is {MAX_JOB_NAME} characters)",
            file=site.file,
            line=site.line,
            job=name[:40] + "...",
        )
    return build_job(name, raw, site, defaults, warnings, shared)


def _mistakes_of_job(
    first: ConfigError,
    name: Any,
    raw: Any,
    locs: Locs,
    defaults: Defaults,
    shared: SharedRecords,
) -> list[ConfigError]:
    """A job's mistakes, as GitLab's lint lists them all: after each one, the job
    is checked again without the keyword at fault. A mistake that only the
    removal makes (a missing `script`) ends the search."""
    found = [first]
    removed: set[str] = set()
    current = raw
    while len(found) < MAX_MISTAKES_PER_JOB and isinstance(current, dict):
        key = (found[-1].keyword or "").split(":")[0]
        if not key or key not in current or key in removed:
            break
        removed.add(key)
        current = {other: value for other, value in current.items() if other != key}
        try:
            _draft(name, current, locs, defaults, [], shared)
        except ConfigError as error:
            keyword = (error.keyword or "").split(":")[0]
            if not keyword or keyword in removed:
                break
            found.append(error)
            continue
        break
    return sorted(found, key=lambda error: error.line or 0)


def _misspelt_script(raw: Any) -> str:
    """A hint when a key of a would-be job looks like `script` or `trigger`."""
    if not isinstance(raw, dict):
        return ""
    for key in raw:
        close = difflib.get_close_matches(str(key), ("script", "trigger"), n=1)
        if close:
            return f" ('{key}' looks like '{close[0]}')"
    return ""


def build_config(
    data: dict[Any, Any],
    locs: Locs,
    *,
    path: str,
    files: tuple[str, ...],
    warnings: tuple[str, ...],
) -> Config:
    """Validate the merged configuration and build its records."""
    notes = list(warnings)
    stages = _stages(data, locs)
    global_variables = variables(
        top_site("variables", locs),
        "variables",
        data.get("variables"),
        kw.GLOBAL_VARIABLE_DATA,
    )
    workflow = conditions.workflow(
        top_site("workflow", locs), data.get("workflow"), notes
    )
    defaults = _defaults(data, locs)
    drafts = _drafts(data, locs, defaults, notes)
    check_visible(drafts, path)
    drafts = expand_parallel(drafts)
    check_stages(drafts, stages)
    check_needs(drafts, stages)
    check_on_stop(drafts)
    return Config(
        stages=stages,
        jobs=tuple(draft.job for draft in drafts),
        variables=frozen_map(global_variables),
        workflow=workflow,
        files=files,
        path=path,
        warnings=tuple(notes),
    )
