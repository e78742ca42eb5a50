"""Type checks of the job keywords that do nothing offline, as GitLab's entries do.

minirunner accepts `release`, `secrets`, `id_tokens`, `hooks`, `pages` and the
like so that a configuration GitLab accepts loads here too, but does not act on
them (a job's log names those GitLab would act on, LOCAL_NOTES); a value of the
wrong shape is still an error, as on GitLab (lib/gitlab/ci/config/entry/*.rb,
https://docs.gitlab.com/ci/yaml/). Of `auto_cancel`, `on_job_failure` is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minirunner.config.values import (
    Site,
    check_keys,
    commands,
    integer,
    mapping,
    one_of,
    string,
    string_or_strings,
    type_name,
)

HOOK_KEYS = frozenset({"pre_get_sources_script"})
RELEASE_KEYS = frozenset(
    {
        "tag_name",
        "tag_message",
        "name",
        "description",
        "ref",
        "released_at",
        "milestones",
        "assets",
    }
)
PAGES_KEYS = frozenset({"path_prefix", "expire_in", "publish"})
DAST_KEYS = frozenset({"site_profile", "scanner_profile"})
# schemas/imageable/executor_opts.json
DOCKER_OPTION_KEYS = frozenset({"platform", "user"})
KUBERNETES_OPTION_KEYS = frozenset({"user"})
PORT_KEYS = frozenset({"number", "protocol", "name"})
ENVIRONMENT_KUBERNETES_KEYS = frozenset(
    {"namespace", "agent", "flux_resource_path", "dashboard", "managed_resources"}
)
AUTO_CANCEL_KEYS = frozenset({"on_new_commit", "on_job_failure"})
# What a job's log says of a keyword GitLab acts on and a local run does not.
LOCAL_NOTES = {
    "hooks": "hooks: GitLab Runner runs pre_get_sources_script before it fetches "
    "the sources; minirunner makes the checkout itself and does not run it",
    "id_tokens": "id_tokens: there is no OIDC provider offline; not set: {names}",
    "secrets": "secrets: there is no secrets provider offline; not set: {names}",
    "release": "release: GitLab would create the release after the script; "
    "minirunner does not",
}


def hooks(site: Site, path: str, raw: Any) -> None:
    """Entry::Hooks: a hash of `pre_get_sources_script` commands."""
    mapping(site, path, raw)
    check_keys(site, path, raw, HOOK_KEYS)
    for key, value in raw.items():
        commands(site, f"{path}:{key}", value)


def id_tokens(site: Site, path: str, raw: Any) -> None:
    """A hash of IdToken entries, each `{aud: string or array of strings}`."""
    mapping(site, path, raw)
    for name, token in raw.items():
        where = f"{path}:{name}"
        mapping(site, where, token)
        check_keys(site, where, token, frozenset({"aud"}))
        if "aud" not in token:
            raise site.error(where, "config missing required keys: aud")
        string_or_strings(site, f"{where}:aud", token["aud"])


def secrets(site: Site, path: str, raw: Any) -> None:
    """A hash of secrets, each a hash naming its provider."""
    mapping(site, path, raw)
    for name, secret in raw.items():
        mapping(site, f"{path}:{name}", secret)


def release(site: Site, path: str, raw: Any) -> None:
    """Entry::Release: `tag_name` and a string `description` are required."""
    mapping(site, path, raw)
    check_keys(site, path, raw, RELEASE_KEYS)
    for key in ("tag_name", "description"):
        if raw.get(key) in (None, ""):
            raise site.error(f"{path}:{key}", "can't be blank")
    for key in ("tag_name", "tag_message", "name", "description", "ref"):
        if raw.get(key) is not None:
            string(site, f"{path}:{key}", raw[key])
    if raw.get("milestones") is not None:
        string_or_strings(site, f"{path}:milestones", raw["milestones"])
    if raw.get("assets") is not None:
        mapping(site, f"{path}:assets", raw["assets"])


def pages(site: Site, path: str, raw: Any) -> None:
    """Entry::Pages: a boolean, or a hash of `publish`, `path_prefix`, `expire_in`."""
    if isinstance(raw, bool):
        return
    if not isinstance(raw, dict):
        raise site.error(path, f"should be a hash or a boolean, not {type_name(raw)}")
    check_keys(site, path, raw, PAGES_KEYS)
    for key in PAGES_KEYS:
        if raw.get(key) is not None:
            string(site, f"{path}:{key}", raw[key])


def dast_configuration(site: Site, path: str, raw: Any) -> None:
    """A hash of `site_profile` and `scanner_profile` names."""
    mapping(site, path, raw)
    check_keys(site, path, raw, DAST_KEYS)
    for key, value in raw.items():
        string(site, f"{path}:{key}", value)


def steps(site: Site, path: str, raw: Any) -> None:
    """`run`: a list of steps, each a hash."""
    if not isinstance(raw, list) or not all(isinstance(step, dict) for step in raw):
        raise site.error(path, "should be an array of hashes")


def text(site: Site, path: str, raw: Any) -> None:
    """A keyword whose value is a string (`publish`, `manual_confirmation`...)."""
    string(site, path, raw)


def hash_of_inputs(site: Site, path: str, raw: Any) -> None:
    """`inputs` of a job: a hash of names to values."""
    mapping(site, path, raw)


def executor_options(site: Site, path: str, raw: dict[Any, Any]) -> None:
    """`docker`, `kubernetes` and `ports` of an `image:` or a service."""
    docker = raw.get("docker")
    if docker is not None:
        mapping(site, f"{path}:docker", docker)
        check_keys(site, f"{path}:docker", docker, DOCKER_OPTION_KEYS)
        for key, value in docker.items():
            string(site, f"{path}:docker:{key}", value)
    kubernetes = raw.get("kubernetes")
    if kubernetes is not None:
        mapping(site, f"{path}:kubernetes", kubernetes)
        check_keys(site, f"{path}:kubernetes", kubernetes, KUBERNETES_OPTION_KEYS)
        user = kubernetes.get("user")
        if user is not None and not isinstance(user, str | int):
            raise site.error(
                f"{path}:kubernetes:user", "should be a string or a number"
            )
    if raw.get("ports") is not None:
        ports(site, f"{path}:ports", raw["ports"])


def ports(site: Site, path: str, raw: Any) -> None:
    """Entry::Ports: port numbers, or `{number, protocol, name}` hashes."""
    if not isinstance(raw, list):
        raise site.error(path, f"should be an array, not {type_name(raw)}")
    for index, port in enumerate(raw):
        where = f"{path}[{index}]"
        if isinstance(port, dict):
            check_keys(site, where, port, PORT_KEYS)
            integer(site, f"{where}:number", port.get("number"), 1, 65535)
            if port.get("protocol") is not None:
                one_of(site, f"{where}:protocol", port["protocol"], ("http", "https"))
            if port.get("name") is not None:
                string(site, f"{where}:name", port["name"])
        else:
            integer(site, where, port, 1, 65535)


def environment_kubernetes(site: Site, path: str, raw: Any) -> None:
    """`environment:kubernetes`: a hash (namespace, agent, dashboard...)."""
    mapping(site, path, raw)
    check_keys(site, path, raw, ENVIRONMENT_KUBERNETES_KEYS)


def auto_cancel(site: Site, path: str, raw: Any) -> str | None:
    """`workflow:auto_cancel` (or a workflow rule's): two policies. Only
    `on_job_failure` means something locally; it is returned."""
    if raw is None:
        return None
    mapping(site, path, raw)
    check_keys(site, path, raw, AUTO_CANCEL_KEYS)
    if raw.get("on_new_commit") is not None:
        one_of(
            site,
            f"{path}:on_new_commit",
            raw["on_new_commit"],
            ("conservative", "interruptible", "none"),
        )
    on_job_failure = raw.get("on_job_failure")
    if on_job_failure is None:
        return None
    return one_of(site, f"{path}:on_job_failure", on_job_failure, ("none", "all"))


CHECKS: dict[str, Callable[[Site, str, Any], None]] = {
    "hooks": hooks,
    "id_tokens": id_tokens,
    "secrets": secrets,
    "release": release,
    "pages": pages,
    "publish": text,
    "manual_confirmation": text,
    "identity": text,
    "dast_configuration": dast_configuration,
    "run": steps,
    "inputs": hash_of_inputs,
}


def check_unused(site: Site, raw: dict[Any, Any]) -> None:
    """Type-check the keywords of a job that minirunner does not act on."""
    for key, check in CHECKS.items():
        value = raw.get(key)
        if value is not None:
            check(site, key, value)
