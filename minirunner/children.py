"""What a child pipeline gets from its parent: variables, options and the files a
dynamic child pipeline includes.

https://docs.gitlab.com/ci/pipelines/downstream_pipelines/
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path

from minirunner.artifacts import StoredArtifacts
from minirunner.config.model import Trigger, Variable
from minirunner.context import Options
from minirunner.errors import ConfigError
from minirunner.files import inside
from minirunner.variables.expand import expand


def forwarded_variables(
    trigger: Trigger, own: Mapping[str, Variable], parent_env: Mapping[str, str]
) -> dict[str, str]:
    """The trigger job's own variables, as written and expanded in the job, when
    `trigger:forward:yaml_variables` passes them: a pipeline variable of the same
    name does not replace them (GitLab's `Bridge`)."""
    if not trigger.forward_yaml_variables:
        return {}
    return {
        name: expand(variable.value, parent_env) if variable.expand else variable.value
        for name, variable in own.items()
    }


def child_options(
    parent: Options, trigger: Trigger, forwarded: Mapping[str, str]
) -> Options:
    """The child's variables above its own: the project's settings, then what
    `trigger:forward` passes (the trigger job's variables, and the pipeline's
    only when asked), later ones winning as in GitLab's `Bridge`."""
    settings: dict[str, str] = {}
    pipeline: dict[str, str] = {}
    for name, value in parent.variables.items():
        chosen = settings if name in parent.settings_variables else pipeline
        chosen[name] = value
    variables = {**settings, **forwarded}
    if trigger.forward_pipeline_variables:
        variables.update(pipeline)
    return replace(parent, variables=variables, settings_variables=frozenset(settings))


def generated_includes(
    trigger: Trigger, in_run: Collection[str], stored: Mapping[str, StoredArtifacts]
) -> dict[str, str]:
    """A dynamic child pipeline's `include: artifact` files, from the artifacts
    the named jobs of this run kept, as include map entries."""
    found = {}
    for target in trigger.external:
        kind, _, rest = target.partition(":")
        job, _, name = rest.partition(":")
        if kind == "artifact" and job in in_run:
            found[target] = str(_kept_file(stored.get(job), job, name))
    return found


def _kept_file(stored: StoredArtifacts | None, job: str, name: str) -> Path:
    if stored is not None:
        path = stored.folder / name
        if path.is_file() and inside(stored.folder, path):
            return path
    raise ConfigError(
        f"job '{job}' kept no artifact '{name}' to include",
        keyword="trigger:include:artifact",
    )
