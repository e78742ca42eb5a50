"""The loading pipeline: YAML, includes, extends, `!reference`, then records.

The order is GitLab's `Gitlab::Ci::Config#build_config`.
"""

from __future__ import annotations

import copy
import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from minirunner.config.build import build_config, wrap_stages
from minirunner.config.extends import apply_extends
from minirunner.config.includemap import load_include_map
from minirunner.config.includes import Loaded, load_with_includes
from minirunner.config.merge import Locs
from minirunner.config.model import Config, Trigger
from minirunner.config.references import resolve_references
from minirunner.sourcetree import SourceTree


@contextmanager
def _no_gc() -> Iterator[None]:
    # Parsing makes many small objects and no cycles; the cyclic collector
    # would otherwise take most of the time of a large configuration.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # What parsing made lives on; a full collection over it gains nothing.
            gc.freeze()
            gc.enable()


def _merged(
    tree: SourceTree,
    path: str,
    include_variables: Mapping[str, str] | None,
    include_map: Mapping[str, str] | None,
    tree_root: Path | None,
    content: bytes | None = None,
    *,
    changed_paths: frozenset[str] | None = None,
    compare_to: Callable[[str], frozenset[str] | None] | None = None,
) -> tuple[dict[Any, Any], Locs, Loaded]:
    if include_map is None:
        include_map = load_include_map(tree_root) if tree_root is not None else {}
    loaded = load_with_includes(
        tree,
        path,
        dict(include_variables or {}),
        include_map,
        tree_root,
        content,
        changed_paths=changed_paths,
        compare_to=compare_to,
    )
    data, locs = apply_extends(loaded.data, loaded.locs)
    if loaded.has_references:
        data = resolve_references(data)
    return data, locs, loaded


def load_config(
    tree: SourceTree,
    path: str = ".gitlab-ci.yml",
    *,
    include_variables: Mapping[str, str] | None = None,
    include_map: Mapping[str, str] | None = None,
    tree_root: Path | None = None,
    changed_paths: frozenset[str] | None = None,
    compare_to: Callable[[str], frozenset[str] | None] | None = None,
) -> Config:
    """Read and validate a configuration with GitLab's semantics.

    `include_variables` are the variables `include` and `include:rules` may
    use (project and pre-pipeline variables). `changed_paths` (the push's
    changed files, None when there is nothing to compare with) and
    `compare_to` (the files changed since a ref) judge `include:rules:changes`
    as job `rules:changes` is judged; with neither, `changes` always holds.
    `include_map` maps includes that cannot be fetched offline to local
    files; when it is None and `tree_root` is given, it is read from the
    project's `.minirunner/includes.yml` (see `minirunner.config.includemap`).
    ConfigError (IncludeUnavailable for unmapped includes) tells what is wrong.
    """
    with _no_gc():
        data, locs, loaded = _merged(
            tree,
            path,
            include_variables,
            include_map,
            tree_root,
            changed_paths=changed_paths,
            compare_to=compare_to,
        )
        return build_config(
            data, locs, path=path, files=loaded.files, warnings=loaded.warnings
        )


def load_child_config(
    tree: SourceTree,
    trigger: Trigger,
    job: str,
    *,
    include_variables: Mapping[str, str] | None = None,
    include_map: Mapping[str, str] | None = None,
    tree_root: Path | None = None,
) -> Config:
    """The configuration of the child pipeline a bridge job `job` triggers.

    GitLab builds it as a file that includes the trigger's files; local ones
    come from the tree, the others (`Trigger.external`) from the include map.
    """
    entries: list[dict[str, str]] = [{"local": name} for name in trigger.include]
    entries.extend(_external_entry(target) for target in trigger.external)
    content = yaml.safe_dump({"include": entries}).encode()
    with _no_gc():
        name = f"trigger:include of job '{job}'"
        data, locs, loaded = _merged(
            tree, name, include_variables, include_map, tree_root, content
        )
        return build_config(
            data, locs, path=name, files=loaded.files[1:], warnings=loaded.warnings
        )


def _external_entry(target: str) -> dict[str, str]:
    """The include entry of a `Trigger.external` text such as `artifact:job:f.yml`."""
    kind, _, rest = target.partition(":")
    if kind == "artifact":
        job, _, file = rest.partition(":")
        return {"artifact": file, "job": job}
    if kind == "project":
        project, _, file = rest.partition(":")
        file, at, ref = file.rpartition("@") if "@" in file else (file, "", "")
        return {"project": project, "file": file, **({"ref": ref} if at else {})}
    return {kind: rest}


def expanded_config(
    tree: SourceTree,
    path: str = ".gitlab-ci.yml",
    *,
    include_variables: Mapping[str, str] | None = None,
    include_map: Mapping[str, str] | None = None,
    tree_root: Path | None = None,
) -> dict[Any, Any]:
    """The merged configuration GitLab shows as "full configuration".

    Includes, `extends` and `!reference` are resolved; `.pre`/`.post` wrap
    `stages` when it is given. Nothing is validated beyond that.
    """
    with _no_gc():
        data, _, _ = _merged(tree, path, include_variables, include_map, tree_root)
        result = copy.deepcopy(data)
    for key in ("stages", "types"):
        listed = result.get(key)
        if isinstance(listed, list) and all(isinstance(item, str) for item in listed):
            result[key] = list(wrap_stages(listed))
    return result
