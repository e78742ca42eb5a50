"""The records a validated .gitlab-ci.yml becomes; nothing downstream reads raw YAML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

WHEN_VALUES = ("on_success", "on_failure", "always", "manual", "delayed", "never")
DEFAULT_STAGES = ("build", "test", "deploy")
PRE_STAGE = ".pre"
POST_STAGE = ".post"


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of a mapping, for record fields."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Location:
    """Where a definition stands in the user's files."""

    file: str
    line: int | None = None


@dataclass(frozen=True)
class Variable:
    """A variable from `variables:`; `expand: false` keeps `$` literal."""

    value: str
    expand: bool = True
    description: str | None = None


@dataclass(frozen=True)
class Need:
    """One entry of `needs:`."""

    job: str
    artifacts: bool = True
    optional: bool = False


@dataclass(frozen=True)
class Rule:
    """One entry of `rules:` (job, workflow or include)."""

    if_: str | None = None
    changes: tuple[str, ...] | None = None
    compare_to: str | None = None
    exists: tuple[str, ...] | None = None
    when: str | None = None
    start_in: str | None = None
    allow_failure: bool | None = None
    variables: Mapping[str, Variable] = field(default_factory=frozen_map)
    needs: tuple[Need, ...] | None = None
    interruptible: bool | None = None
    # A workflow rule's auto_cancel:on_job_failure.
    on_job_failure: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Refs:
    """`only:` or `except:` in their complex form (the simple form sets refs only)."""

    refs: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    kubernetes: str | None = None


@dataclass(frozen=True)
class Image:
    """A job's or service's `image:`."""

    name: str
    entrypoint: tuple[str, ...] | None = None
    pull_policy: tuple[str, ...] = ()
    user: str | None = None


@dataclass(frozen=True)
class Service:
    """One entry of `services:`."""

    name: str
    alias: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    variables: Mapping[str, Variable] = field(default_factory=frozen_map)
    pull_policy: tuple[str, ...] = ()


@dataclass(frozen=True)
class Artifacts:
    """`artifacts:`."""

    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    untracked: bool = False
    when: str = "on_success"
    expire_in: str | None = None
    name: str | None = None
    reports: Mapping[str, tuple[str, ...]] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class Cache:
    """One cache of `cache:` (a job may have several)."""

    key: str = "default"
    key_files: tuple[str, ...] = ()
    key_prefix: str | None = None
    paths: tuple[str, ...] = ()
    untracked: bool = False
    policy: str = "pull-push"
    when: str = "on_success"
    fallback_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retry:
    """`retry:`; `max` 0 means no retry."""

    max: int = 0
    when: tuple[str, ...] = ("always",)
    exit_codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Trigger:
    """`trigger:` of a bridge job; only local child pipelines can run offline.

    `include` holds the child pipeline's local files; `external` its other
    includes, written `kind:target` (e.g. `artifact:job:file.yml`). The child gets
    the trigger job's own variables and, only when forwarded, the pipeline's.
    """

    include: tuple[str, ...] = ()
    project: str | None = None
    branch: str | None = None
    strategy: str | None = None
    external: tuple[str, ...] = ()
    # trigger:forward, with GitLab's defaults.
    forward_yaml_variables: bool = True
    forward_pipeline_variables: bool = False


@dataclass(frozen=True)
class Environment:
    """`environment:`."""

    name: str
    url: str | None = None
    action: str = "start"
    tier: str | None = None


@dataclass(frozen=True)
class Job:
    """One job after includes, extends, references, defaults and `parallel`.

    `variables` holds the job's own variables only; `inherit_variables` says which
    global variables it takes (True for all, False for none, or their names).
    A job made by `parallel` carries its matrix values in `variables` and its
    place in `node_index`/`node_total`.
    """

    name: str
    stage: str
    script: tuple[str, ...] = ()
    before_script: tuple[str, ...] = ()
    after_script: tuple[str, ...] = ()
    image: Image | None = None
    services: tuple[Service, ...] = ()
    variables: Mapping[str, Variable] = field(default_factory=frozen_map)
    inherit_variables: bool | tuple[str, ...] = True
    rules: tuple[Rule, ...] | None = None
    only: Refs | None = None
    except_: Refs | None = None
    when: str = "on_success"
    start_in: str | None = None
    allow_failure: bool | None = None
    allow_failure_exit_codes: tuple[int, ...] = ()
    needs: tuple[Need, ...] | None = None
    dependencies: tuple[str, ...] | None = None
    artifacts: Artifacts | None = None
    cache: tuple[Cache, ...] = ()
    timeout: str | None = None
    retry: Retry = Retry()
    interruptible: bool = False
    resource_group: str | None = None
    environment: Environment | None = None
    coverage: str | None = None
    # Keywords a local run does not act on, with the names they define.
    local_notes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    tags: tuple[str, ...] = ()
    trigger: Trigger | None = None
    node_index: int | None = None
    node_total: int = 1
    location: Location = Location("")


@dataclass(frozen=True)
class Workflow:
    """`workflow:`."""

    rules: tuple[Rule, ...] | None = None
    name: str | None = None
    # auto_cancel:on_job_failure: `all` cancels the pipeline when a job fails.
    on_job_failure: str = "none"


@dataclass(frozen=True)
class Config:
    """A whole validated configuration, jobs in declaration order.

    `warnings` are lines worth showing (duplicate keys, parts ignored offline).
    """

    stages: tuple[str, ...]
    jobs: tuple[Job, ...]
    variables: Mapping[str, Variable] = field(default_factory=frozen_map)
    workflow: Workflow = Workflow()
    files: tuple[str, ...] = ()
    path: str = ".gitlab-ci.yml"
    warnings: tuple[str, ...] = ()

    def job(self, name: str) -> Job | None:
        """The job of that name, if there is one."""
        return next((job for job in self.jobs if job.name == name), None)
