"""Records of a job's runtime keywords: image, services, artifacts, cache, retry."""

from __future__ import annotations

import re
from typing import Any

from minirunner.config import keywords as kw
from minirunner.config.durations import parse_duration
from minirunner.config.model import Artifacts, Cache, Image, Retry, Service, frozen_map
from minirunner.config.unused import executor_options
from minirunner.config.values import (
    Site,
    boolean,
    check_keys,
    integer,
    integers,
    mapping,
    one_of,
    optional_string,
    string,
    string_or_strings,
    strings,
    type_name,
)
from minirunner.config.variables import variables

# Gitlab::Ci::Config::Entry::Cache::ALLOWED_POLICY (unanchored, as in GitLab).
_CACHE_POLICY = re.compile(r"pull-push|push|pull|\$\w{1,255}")
_EXPOSE_AS = re.compile(r"\A\w[-\w ]*\Z")


def _pull_policy(site: Site, path: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    policies = string_or_strings(site, path, raw)
    for policy in policies:
        if policy not in kw.PULL_POLICIES:
            raise site.error(path, f"should be one of: {', '.join(kw.PULL_POLICIES)}")
    return policies


def image(site: Site, path: str, raw: Any) -> Image | None:
    """`image:` as a name or `{name, entrypoint, docker, pull_policy}`."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return Image(raw)
    if not isinstance(raw, dict):
        raise site.error(
            path, f"config should be a hash or a string, not {type_name(raw)}"
        )
    check_keys(site, path, raw, kw.IMAGE_KEYS)
    executor_options(site, path, raw)
    name = _image_name(site, f"{path}:name", raw.get("name"))
    entrypoint = raw.get("entrypoint")
    docker = raw.get("docker")
    user = None
    if docker is not None:
        mapping(site, f"{path}:docker", docker)
        user = optional_string(site, f"{path}:docker:user", docker.get("user"))
    return Image(
        name,
        entrypoint=None
        if entrypoint is None
        else strings(site, f"{path}:entrypoint", entrypoint),
        pull_policy=_pull_policy(site, f"{path}:pull_policy", raw.get("pull_policy")),
        user=user,
    )


def services(site: Site, path: str, raw: Any) -> tuple[Service, ...]:
    """`services:`: names or `{name, alias, entrypoint, command, variables, ...}`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise site.error(path, f"config should be an array, not {type_name(raw)}")
    result = []
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        if isinstance(item, str):
            result.append(Service(item))
            continue
        if not isinstance(item, dict):
            raise site.error(where, "config should be a hash or a string")
        check_keys(site, where, item, kw.SERVICE_KEYS)
        executor_options(site, where, item)
        name = _image_name(site, f"{where}:name", item.get("name"))
        alias = optional_string(site, f"{where}:alias", item.get("alias"))
        entrypoint = item.get("entrypoint")
        command = item.get("command")
        result.append(
            Service(
                name,
                # The runner splits an alias on commas and spaces.
                alias=tuple(alias.replace(",", " ").split()) if alias else (),
                entrypoint=None
                if entrypoint is None
                else strings(site, f"{where}:entrypoint", entrypoint),
                command=None
                if command is None
                else strings(site, f"{where}:command", command),
                variables=frozen_map(
                    variables(
                        site,
                        f"{where}:variables",
                        item.get("variables"),
                        kw.JOB_VARIABLE_DATA,
                    )
                ),
                pull_policy=_pull_policy(
                    site, f"{where}:pull_policy", item.get("pull_policy")
                ),
            )
        )
    return tuple(result)


def duration(
    site: Site, path: str, raw: Any, limit: float | None = None, *, never: bool = False
) -> str:
    """A duration text GitLab can parse, within `limit` seconds."""
    if not isinstance(raw, str):
        raise site.error(path, "should be a duration")
    if never and raw.strip().lower() == "never":
        return raw
    seconds = parse_duration(raw)
    if seconds is None:
        raise site.error(path, "should be a duration")
    if limit is not None and seconds > limit:
        raise site.error(path, "should not exceed the limit")
    return raw


def _reports(site: Site, path: str, raw: Any) -> dict[str, tuple[str, ...]]:
    mapping(site, path, raw)
    reports: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        where = f"{path}:{name}"
        if isinstance(value, dict):
            # coverage_report: {coverage_format, path}
            reports[str(name)] = string_or_strings(
                site, f"{where}:path", value.get("path")
            )
        else:
            reports[str(name)] = string_or_strings(site, where, value)
    return reports


def artifacts(site: Site, path: str, raw: Any) -> Artifacts | None:
    """`artifacts:`."""
    if raw is None:
        return None
    mapping(site, path, raw)
    check_keys(site, path, raw, kw.ARTIFACTS_KEYS)
    if "public" in raw and "access" in raw:
        raise site.error(path, "these keys cannot be used together: public, access")
    paths = raw.get("paths")
    paths = () if paths is None else strings(site, f"{path}:paths", paths)
    if raw.get("expose_as") is not None:
        expose = string(site, f"{path}:expose_as", raw["expose_as"])
        if not _EXPOSE_AS.match(expose):
            raise site.error(
                f"{path}:expose_as",
                "can contain only letters, digits, '-', '_' and spaces",
            )
        if not paths:
            raise site.error(f"{path}:paths", "can't be blank")
    if raw.get("public") is not None:
        boolean(site, f"{path}:public", raw["public"])
    if raw.get("access") is not None:
        one_of(site, f"{path}:access", raw["access"], ("none", "developer", "all"))
    exclude = raw.get("exclude")
    when = raw.get("when")
    untracked = raw.get("untracked")
    expire_in = raw.get("expire_in")
    reports = raw.get("reports")
    return Artifacts(
        paths=paths,
        exclude=() if exclude is None else strings(site, f"{path}:exclude", exclude),
        untracked=False
        if untracked is None
        else boolean(site, f"{path}:untracked", untracked),
        when="on_success"
        if when is None
        else one_of(site, f"{path}:when", when, kw.ARTIFACTS_WHEN),
        expire_in=None
        if expire_in is None
        else duration(site, f"{path}:expire_in", expire_in, never=True),
        name=optional_string(site, f"{path}:name", raw.get("name")),
        reports=frozen_map(
            {} if reports is None else _reports(site, f"{path}:reports", reports)
        ),
    )


def _cache(site: Site, path: str, raw: Any) -> Cache:
    mapping(site, path, raw)
    check_keys(site, path, raw, kw.CACHE_KEYS)
    key = raw.get("key")
    key_text, key_prefix = "default", None
    key_files: tuple[str, ...] = ()
    if isinstance(key, dict):
        check_keys(site, f"{path}:key", key, frozenset({"files", "prefix"}))
        key_files = strings(site, f"{path}:key:files", key.get("files"))
        if not 1 <= len(key_files) <= 2:
            raise site.error(f"{path}:key:files", "has to have between 1 and 2 items")
        key_prefix = optional_string(site, f"{path}:key:prefix", key.get("prefix"))
    elif key is not None:
        if not isinstance(key, str):
            raise site.error(
                f"{path}:key", "config should be a hash, a string or a symbol"
            )
        if "/" in key or key in (".", ".."):
            raise site.error(
                f"{path}:key", 'cannot contain the "/" character or be "." or ".."'
            )
        key_text = key
    policy = raw.get("policy")
    if policy is not None and policy != "":
        if not isinstance(policy, str) or not _CACHE_POLICY.search(policy):
            raise site.error(
                f"{path}:policy",
                "should be a variable or one of: pull-push, push, pull",
            )
    when = raw.get("when")
    paths = raw.get("paths")
    untracked = raw.get("untracked")
    if raw.get("unprotect") is not None:
        boolean(site, f"{path}:unprotect", raw["unprotect"])
    fallback = raw.get("fallback_keys")
    fallback_keys = (
        () if fallback is None else strings(site, f"{path}:fallback_keys", fallback)
    )
    if len(fallback_keys) > 5:
        raise site.error(f"{path}:fallback_keys", "has too many entries (maximum 5)")
    return Cache(
        key=key_text,
        key_files=key_files,
        key_prefix=key_prefix,
        paths=() if paths is None else strings(site, f"{path}:paths", paths),
        untracked=False
        if untracked is None
        else boolean(site, f"{path}:untracked", untracked),
        policy=policy or "pull-push",
        when="on_success"
        if when is None
        else one_of(site, f"{path}:when", when, kw.CACHE_WHEN),
        fallback_keys=fallback_keys,
    )


def caches(site: Site, path: str, raw: Any) -> tuple[Cache, ...]:
    """`cache:` as one map or a list of at most four."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > kw.MAX_CACHES:
        raise site.error(path, f"no more than {kw.MAX_CACHES} caches can be created")
    # `cache: {}` is how a job turns an inherited cache off.
    return tuple(
        _cache(site, f"{path}[{index}]" if isinstance(raw, list) else path, item)
        for index, item in enumerate(items)
        if item != {}
    )


def retry(site: Site, path: str, raw: Any) -> Retry:
    """`retry:` as a count (0-2) or `{max, when, exit_codes}`."""
    if raw is None:
        return Retry()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Retry(max=integer(site, path, raw, 0, 2))
    if not isinstance(raw, dict):
        raise site.error(path, "config has to be either an integer or a hash")
    check_keys(site, path, raw, kw.RETRY_KEYS)
    when = raw.get("when")
    codes = raw.get("exit_codes")
    # With exit_codes and no when, only those exit codes retry (GitLab's
    # Ci::Build#retry_on_reason_or_always? reads an absent `when` as none).
    default_when: tuple[str, ...] = () if codes is not None else ("always",)
    whens = (
        default_when if when is None else string_or_strings(site, f"{path}:when", when)
    )
    for value in whens:
        if value not in kw.RETRY_WHEN:
            raise site.error(f"{path}:when", f"contains unknown values: {value}")
    maximum = raw.get("max")
    return Retry(
        max=0 if maximum is None else integer(site, f"{path}:max", maximum, 0, 2),
        when=whens,
        exit_codes=() if codes is None else integers(site, f"{path}:exit_codes", codes),
    )


def _image_name(site: Site, path: str, name: Any) -> str:
    """An image's or service's `name:`, present and a string."""
    if name is None or name == "":
        raise site.error(path, "can't be blank")
    if not isinstance(name, str):
        raise site.error(path, f"should be a string, not {type_name(name)}")
    return name
