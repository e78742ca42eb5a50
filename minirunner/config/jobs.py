"""One job's raw mapping (after extends and references) into a Job record."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from minirunner.config import conditions, records, relations
from minirunner.config import keywords as kw
from minirunner.config.durations import MONTH, WEEK
from minirunner.config.model import (
    Artifacts,
    Job,
    Location,
    Need,
    Retry,
    Trigger,
    frozen_map,
)
from minirunner.config.relations import Matrix, NeedSpec
from minirunner.config.shared import SharedRecords
from minirunner.config.unused import CHECKS, LOCAL_NOTES, check_unused
from minirunner.config.values import (
    Site,
    boolean,
    commands,
    flatten,
    integer,
    mapping,
    optional_string,
    string,
    strings,
    type_name,
)
from minirunner.config.variables import variables

# Keys a bridge (`trigger:`) job takes from `default:`.
_BRIDGE_DEFAULTS = frozenset({"interruptible"})


@dataclass(frozen=True)
class Defaults:
    """What `default:` (and the deprecated top-level keys) give to jobs."""

    built: Mapping[str, Any]


@dataclass(frozen=True)
class Draft:
    """A built job before `parallel` expansion and the checks across jobs."""

    job: Job
    needs: tuple[NeedSpec, ...] | None
    parallel: int | Matrix | None
    on_stop: str | None
    site: Site


def is_job(name: Any, raw: Any) -> bool:
    """Entry::Jobs.find_type: a visible mapping with `script`, `run` or `trigger`."""
    return isinstance(raw, dict) and (
        "script" in raw or "run" in raw or "trigger" in raw
    )


def _unknown(site: Site, raw: dict[Any, Any], allowed: frozenset[str]) -> None:
    for key in raw:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise site.error(str(key), f"unknown keyword{hint}")


def _inherit(
    site: Site, raw: Any
) -> tuple[bool | frozenset[str], bool | tuple[str, ...]]:
    if raw is None:
        return True, True
    mapping(site, "inherit", raw)
    _unknown(
        site,
        {f"inherit:{key}": value for key, value in raw.items()},
        frozenset(f"inherit:{key}" for key in kw.INHERIT_KEYS),
    )
    default: bool | frozenset[str] = True
    value = raw.get("default")
    if isinstance(value, bool):
        default = value
    elif isinstance(value, list):
        names = strings(site, "inherit:default", value)
        unknown = [name for name in names if name not in kw.DEFAULT_KEYS]
        if unknown:
            raise site.error(
                "inherit:default", f"contains unknown values: {', '.join(unknown)}"
            )
        default = frozenset(names)
    elif value is not None:
        raise site.error(
            "inherit:default", "config should be a bool or array of strings"
        )
    variables_: bool | tuple[str, ...] = True
    value = raw.get("variables")
    if isinstance(value, bool):
        variables_ = value
    elif isinstance(value, list):
        variables_ = strings(site, "inherit:variables", value)
    elif value is not None:
        raise site.error(
            "inherit:variables", "config should be a bool or array of strings"
        )
    return default, variables_


def _parallel(
    site: Site, raw: Any, bridge: bool, warnings: list[str]
) -> int | Matrix | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        _unknown(
            site,
            {f"parallel:{key}": v for key, v in raw.items()},
            frozenset({"parallel:matrix"}),
        )
        if "matrix" not in raw:
            raise site.error("parallel", "config missing required keys: matrix")
        matrix = relations.matrix(site, "parallel:matrix", raw["matrix"])
        if not matrix:
            file, line = site.where("parallel:matrix")
            warnings.append(
                f"{file}:{line}: job '{site.job}': parallel:matrix: is empty, "
                "so the job makes no jobs"
            )
        return matrix
    if isinstance(raw, int) and not isinstance(raw, bool):
        if bridge:
            raise site.error("parallel", 'cannot use "parallel: <number>".')
        return integer(site, "parallel", raw, 1, 200)
    raise site.error("parallel", "should be an integer or a hash")


def _coverage(site: Site, raw: Any) -> str | None:
    if raw is None:
        return None
    text = string(site, "coverage", raw)
    from minirunner.rules.regex import ruby_syntax

    if not (text.startswith("/") and not isinstance(ruby_syntax(text), str)):
        raise site.error("coverage", "must be a regular expression with re2 syntax")
    return text


def _tags(site: Site, path: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise site.error(path, "should be an array of strings")
    items = flatten(site, path, raw, "should be an array of strings")
    if not all(isinstance(item, str) for item in items):
        raise site.error(path, "should be an array of strings")
    if len(items) > 50:
        raise site.error(path, "must be less than the limit of 50 tags")
    return items


def build_default(site: Site, key: str, raw: Any, path: str) -> Any:
    """The record of one inheritable keyword, at `path` for error messages."""
    if key in ("before_script", "after_script"):
        return commands(site, path, raw)
    if key == "image":
        return records.image(site, path, raw)
    if key == "services":
        return records.services(site, path, raw)
    if key == "artifacts":
        return records.artifacts(site, path, raw)
    if key == "cache":
        return records.caches(site, path, raw)
    if key == "retry":
        return records.retry(site, path, raw)
    if key == "timeout":
        return records.duration(site, path, raw, MONTH)
    if key == "interruptible":
        return boolean(site, path, raw)
    if key == "tags":
        return _tags(site, path, raw)
    # hooks and id_tokens have no use offline; they are only type-checked.
    if key in CHECKS:
        CHECKS[key](site, path, raw)
        return raw
    return mapping(site, path, raw)


def build_job(
    name: str,
    raw: dict[Any, Any],
    site: Site,
    defaults: Defaults,
    warnings: list[str],
    shared: SharedRecords,
) -> Draft:
    """Validate a job's keywords and build its record."""
    bridge = "trigger" in raw and "script" not in raw and "run" not in raw
    if "trigger" in raw and ("script" in raw or "run" in raw):
        both = "script" if "script" in raw else "run"
        raise site.error(both, f"these keys cannot be used together: {both}, trigger")
    _unknown(site, raw, kw.BRIDGE if bridge else kw.JOB)
    check_unused(site, raw)

    has_rules = raw.get("rules") is not None
    if has_rules:
        for key in ("only", "except", "start_in"):
            if raw.get(key) is not None:
                raise site.error(key, "key may not be used with `rules`")
    inherit_default, inherit_variables = _inherit(site, raw.get("inherit"))

    def value(key: str) -> Any:
        """The job's own record for `key`, else the default one it inherits."""
        own = raw.get(key)
        if own is not None:
            return shared.record(key, own, lambda: build_default(site, key, own, key))
        if bridge and key not in _BRIDGE_DEFAULTS:
            return None
        inherits = (
            inherit_default
            if isinstance(inherit_default, bool)
            else key in inherit_default
        )
        return defaults.built.get(key) if inherits else None

    when, start_in = _timing(site, raw, bridge)
    allow_failure, exit_codes = relations.allow_failure(
        site, "allow_failure", raw.get("allow_failure"), bridge=bridge
    )
    stage_key = "type" if raw.get("stage") is None else "stage"
    stage_raw = raw.get(stage_key)
    stage = "test" if stage_raw is None else string(site, stage_key, stage_raw)
    job_needs = raw.get("needs")
    environment = relations.environment(site, "environment", raw.get("environment"))
    on_stop = (
        raw["environment"].get("on_stop")
        if isinstance(raw.get("environment"), dict)
        else None
    )
    dependencies = raw.get("dependencies")
    rules = conditions.rules(site, "rules", raw.get("rules"), warnings, shared=shared)
    only = conditions.policy(site, "only", raw.get("only"), only=True)
    except_ = conditions.policy(site, "except", raw.get("except"), only=False)
    script: tuple[str, ...] = ()
    if not bridge and "run" not in raw:
        script = commands(site, "script", raw.get("script"), required=True)
    elif "script" in raw:
        script = commands(site, "script", raw["script"])

    retry = value("retry")
    interruptible = value("interruptible")
    job = Job(
        name=name,
        stage=stage,
        script=script,
        before_script=value("before_script") or (),
        after_script=value("after_script") or (),
        image=value("image"),
        services=value("services") or (),
        variables=frozen_map(
            variables(site, "variables", raw.get("variables"), kw.JOB_VARIABLE_DATA)
        ),
        inherit_variables=inherit_variables,
        rules=rules,
        only=only,
        except_=except_,
        when=when,
        start_in=start_in,
        allow_failure=allow_failure,
        allow_failure_exit_codes=exit_codes,
        dependencies=None
        if dependencies is None
        else strings(site, "dependencies", dependencies),
        artifacts=value("artifacts"),
        cache=value("cache") or (),
        timeout=value("timeout"),
        retry=retry if isinstance(retry, Retry) else Retry(),
        interruptible=bool(interruptible),
        resource_group=optional_string(
            site, "resource_group", raw.get("resource_group")
        ),
        environment=environment,
        coverage=_coverage(site, raw.get("coverage")),
        local_notes=_local_notes(raw, value),
        tags=value("tags") or (),
        trigger=_trigger(site, raw) if bridge else None,
        location=Location(site.file, site.line),
        # Last, so that the keywords above report their errors first.
        needs=_needs(specs := _need_specs(site, job_needs, warnings)),
    )
    parallel = _parallel(site, raw.get("parallel"), bridge, warnings)
    folder = _pages_folder(name, raw)
    if folder is not None:
        job = replace(job, artifacts=_with_path(job.artifacts, folder))
    return Draft(job, specs, parallel, on_stop, site)


def _pages_folder(name: str, raw: dict[Any, Any]) -> str | None:
    """The folder a Pages job publishes, which GitLab adds to its artifacts:
    `pages:publish`, else the older `publish`, else `public`; None for another
    job (https://docs.gitlab.com/user/project/pages/)."""
    pages = raw.get("pages")
    if pages is False or (pages is None and name != "pages"):
        return None
    chosen = pages.get("publish") if isinstance(pages, dict) else None
    folder = chosen or raw.get("publish") or "public"
    return str(folder).lstrip("/") or "public"


def _with_path(artifacts: Artifacts | None, folder: str) -> Artifacts:
    if artifacts is None:
        return Artifacts(paths=(folder,))
    if folder in artifacts.paths:
        return artifacts
    return replace(artifacts, paths=(*artifacts.paths, folder))


def _local_notes(
    raw: dict[Any, Any], value: Callable[[str], Any]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The keywords of LOCAL_NOTES the job has (hooks and id_tokens may come from
    `default:`), each with the variable names it defines."""
    found = []
    for key in LOCAL_NOTES:
        given = value(key) if key in ("hooks", "id_tokens") else raw.get(key)
        if given is not None:
            names = tuple(map(str, given)) if key in ("id_tokens", "secrets") else ()
            found.append((key, names))
    return tuple(found)


def _need_specs(
    site: Site, raw: Any, warnings: list[str]
) -> tuple[NeedSpec, ...] | None:
    return None if raw is None else relations.needs(site, "needs", raw, warnings)


def _needs(specs: tuple[NeedSpec, ...] | None) -> tuple[Need, ...] | None:
    """The needs as written; `parallel` may later point them at its jobs."""
    return None if specs is None else tuple(spec.need for spec in specs)


def _timing(site: Site, raw: dict[Any, Any], bridge: bool) -> tuple[str, str | None]:
    """`when` (checked against the job's kind) and `start_in` (delayed only)."""
    allowed = kw.BRIDGE_WHEN if bridge else kw.JOB_WHEN
    when = raw.get("when")
    if when is not None and (not isinstance(when, str) or when not in allowed):
        raise site.error("when", f"should be one of: {', '.join(allowed)}")
    start_in = raw.get("start_in")
    if when == "delayed":
        if start_in is None:
            raise site.error("start_in", "can't be blank")
        records.duration(site, "start_in", start_in, WEEK)
    elif start_in is not None:
        raise site.error("start_in", "should be blank")
    return when or "on_success", start_in


def _trigger(site: Site, raw: dict[Any, Any]) -> Trigger:
    if raw.get("trigger") is None:
        raise site.error(
            "trigger", f"should be a string or a hash, not {type_name(None)}"
        )
    return relations.trigger(site, "trigger", raw["trigger"])
