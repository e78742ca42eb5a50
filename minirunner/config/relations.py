"""Keywords that point elsewhere: needs, environment, trigger, allow_failure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from minirunner.config import keywords as kw
from minirunner.config.durations import parse_duration
from minirunner.config.model import Environment, Need, Trigger
from minirunner.config.unused import environment_kubernetes
from minirunner.config.values import (
    Site,
    boolean,
    check_keys,
    flatten,
    integers,
    is_scalar,
    mapping,
    one_of,
    optional_string,
    ruby_str,
    string,
    type_name,
)

# Gitlab::Regex.environment_name_regex
_ENVIRONMENT_NAME = re.compile(r"\A(?!/)[a-zA-Z0-9_/${}. -]+(?<!/)\Z")
_URL = re.compile(r"^https?://", re.IGNORECASE)

Matrix = tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]


@dataclass(frozen=True)
class NeedSpec:
    """A need as written, with its `parallel: matrix` filter if any."""

    need: Need
    matrix: Matrix | None = None


def matrix(site: Site, path: str, raw: Any, limit: int = 200) -> Matrix:
    """`parallel: matrix:` entries as ((name, values), ...) in written order."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise site.error(path, "should be an array of hashes")
    entries = []
    total = 0
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        if not item:
            raise site.error(where, "requires at least 1 items")
        pairs = []
        count = 1
        for name, values in item.items():
            listed = values if isinstance(values, list) else [values]
            if not listed or not all(
                is_scalar(value) and not isinstance(value, bool | float)
                for value in listed
            ):
                raise site.error(
                    f"{where}:{name}",
                    "should be a hash of key value pairs, value can be an array",
                )
            pairs.append((str(name), tuple(ruby_str(value) for value in listed)))
            count *= len(listed)
        total += count
        entries.append(tuple(pairs))
    if total > limit:
        raise site.error(path, f"generates too many jobs (maximum is {limit})")
    return tuple(entries)


def needs(site: Site, path: str, raw: Any, warnings: list[str]) -> tuple[NeedSpec, ...]:
    """`needs:` entries; needs on other pipelines or projects are left out."""
    if not isinstance(raw, list | dict):
        raise site.error(path, f"can only be a Hash or an Array, not {type_name(raw)}")
    items = flatten(
        site, path, raw if isinstance(raw, list) else [raw], "has an unsupported type"
    )
    result = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        if isinstance(item, str):
            if not item:
                raise site.error(where, "can't be blank")
            result.append(NeedSpec(Need(item)))
            continue
        if not isinstance(item, dict):
            raise site.error(where, "has an unsupported type")
        if "pipeline" in item or "project" in item:
            check_keys(site, where, item, kw.CROSS_NEED_KEYS)
            string(site, f"{where}:job", item.get("job"))
            other = item.get("project") or f"pipeline {item.get('pipeline')}"
            file, line = site.where(where)
            warnings.append(
                f"{file}:{line}: job '{site.job}': needs on job '{item.get('job')}' "
                f"of {other} is ignored offline"
            )
            continue
        check_keys(site, where, item, kw.NEED_KEYS)
        job = string(site, f"{where}:job", item.get("job"))
        artifacts = item.get("artifacts")
        optional = item.get("optional")
        filter_ = None
        parallel = item.get("parallel")
        if parallel is not None:
            mapping(site, f"{where}:parallel", parallel)
            check_keys(site, f"{where}:parallel", parallel, frozenset({"matrix"}))
            filter_ = matrix(site, f"{where}:parallel:matrix", parallel.get("matrix"))
        need = Need(
            job,
            artifacts=True
            if artifacts is None
            else boolean(site, f"{where}:artifacts", artifacts),
            optional=False
            if optional is None
            else boolean(site, f"{where}:optional", optional),
        )
        result.append(NeedSpec(need, filter_))
    return tuple(result)


def environment(site: Site, path: str, raw: Any) -> Environment | None:
    """`environment:` as a name or `{name, url, action, ...}`."""
    if raw is None:
        return None
    if isinstance(raw, str):
        values: dict[Any, Any] = {"name": raw}
    elif isinstance(raw, dict):
        check_keys(site, path, raw, kw.ENVIRONMENT_KEYS)
        values = raw
    else:
        raise site.error(path, "config should be a hash or a string")
    name = values.get("name")
    if not isinstance(name, str) or not name:
        raise site.error(f"{path}:name", "can't be blank")
    if values.get("kubernetes") is not None:
        environment_kubernetes(site, f"{path}:kubernetes", values["kubernetes"])
    if not _ENVIRONMENT_NAME.match(name):
        raise site.error(
            f"{path}:name",
            "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and "
            "spaces, but it cannot start or end with '/'",
        )
    action = values.get("action")
    tier = values.get("deployment_tier")
    if tier is not None:
        tier = one_of(site, f"{path}:deployment_tier", tier, kw.DEPLOYMENT_TIERS)
    optional_string(site, f"{path}:on_stop", values.get("on_stop"))
    stop_in = values.get("auto_stop_in")
    if stop_in is not None and (
        not isinstance(stop_in, str)
        or (stop_in.strip().lower() != "never" and parse_duration(stop_in) is None)
    ):
        raise site.error(f"{path}:auto_stop_in", "should be a duration")
    return Environment(
        name,
        url=optional_string(site, f"{path}:url", values.get("url")),
        action="start"
        if action is None
        else one_of(site, f"{path}:action", action, kw.ENVIRONMENT_ACTIONS),
        tier=tier,
    )


def _child_include(site: Site, path: str, raw: Any) -> tuple[str, str | None]:
    """A child pipeline include: ("local", path) or ("kind", "kind:target")."""
    if isinstance(raw, str):
        if _URL.match(raw):
            return "remote", f"remote:{raw}"
        return "local", raw.lstrip("/")
    if not isinstance(raw, dict):
        raise site.error(path, "Each include must be a hash or a string")
    check_keys(site, path, raw, kw.TRIGGER_INCLUDE_KEYS)
    if raw.get("local"):
        return "local", string(site, f"{path}:local", raw["local"]).lstrip("/")
    if raw.get("artifact"):
        job = string(site, f"{path}:job", raw.get("job"))
        return "artifact", f"artifact:{job}:{raw['artifact']}"
    if raw.get("project"):
        ref = raw.get("ref")
        target = f"project:{raw['project']}:{raw.get('file')}"
        return "project", target + (f"@{ref}" if ref else "")
    for kind in ("template", "component", "remote"):
        if raw.get(kind):
            return kind, f"{kind}:{raw[kind]}"
    raise site.error(path, "does not have a valid subkey for include")


def trigger(site: Site, path: str, raw: Any) -> Trigger:
    """`trigger:` of a bridge: a child pipeline (`include`) or another project."""
    if isinstance(raw, str):
        if not raw:
            raise site.error(path, "can't be blank")
        return Trigger(project=raw)
    if not isinstance(raw, dict):
        raise site.error(path, "has to be either a string or a hash")
    check_keys(site, path, raw, kw.TRIGGER_KEYS)
    yaml_variables, pipeline_variables = forward(site, f"{path}:forward", raw)
    if raw.get("inputs") is not None:
        mapping(site, f"{path}:inputs", raw["inputs"])
    strategy = raw.get("strategy")
    if strategy is not None:
        one_of(site, f"{path}:strategy", strategy, ("depend", "mirror"))
    if "include" in raw:
        if raw.get("project") is not None or raw.get("branch") is not None:
            raise site.error(path, "config must specify either project or include")
        entries = raw["include"]
        entries = entries if isinstance(entries, list) else [entries]
        if not entries or len(entries) > 3:
            raise site.error(f"{path}:include", "should have between 1 and 3 entries")
        found = [
            _child_include(site, f"{path}:include[{index}]", entry)
            for index, entry in enumerate(entries)
        ]
        return Trigger(
            include=tuple(str(target) for kind, target in found if kind == "local"),
            strategy=strategy,
            external=tuple(str(target) for kind, target in found if kind != "local"),
            forward_yaml_variables=yaml_variables,
            forward_pipeline_variables=pipeline_variables,
        )
    project = raw.get("project")
    if not isinstance(project, str) or not project:
        raise site.error(f"{path}:project", "can't be blank")
    return Trigger(
        project=project,
        branch=optional_string(site, f"{path}:branch", raw.get("branch")),
        strategy=strategy,
        forward_yaml_variables=yaml_variables,
        forward_pipeline_variables=pipeline_variables,
    )


def forward(site: Site, path: str, trigger: dict[Any, Any]) -> tuple[bool, bool]:
    """`trigger:forward` as (yaml_variables, pipeline_variables), GitLab's
    defaults (true, false) where it says nothing."""
    raw = trigger.get("forward")
    if raw is None:
        return True, False
    mapping(site, path, raw)
    check_keys(site, path, raw, kw.FORWARD_KEYS)
    chosen = {key: boolean(site, f"{path}:{key}", value) for key, value in raw.items()}
    return chosen.get("yaml_variables", True), chosen.get("pipeline_variables", False)


def allow_failure(
    site: Site, path: str, raw: Any, *, bridge: bool = False
) -> tuple[bool | None, tuple[int, ...]]:
    """`allow_failure:` as a boolean or `{exit_codes}` (then false otherwise)."""
    if raw is None:
        return None, ()
    if isinstance(raw, bool):
        return raw, ()
    if bridge or not isinstance(raw, dict):
        raise site.error(path, "should be a hash or a boolean value")
    check_keys(site, path, raw, frozenset({"exit_codes"}))
    return False, integers(site, f"{path}:exit_codes", raw.get("exit_codes"))
