"""`extends`: reverse deep merge of parents into each entry that names them.

https://docs.gitlab.com/ci/yaml/yaml_optimization/#use-extends-to-reuse-configuration-sections
"""

from __future__ import annotations

from typing import Any

from minirunner.config.merge import Locs, deep_merge
from minirunner.config.values import job_site
from minirunner.config.yamlfile import KeyLoc

# Gitlab::Ci::Config::Extendable::Entry::MAX_NESTING_LEVELS: an entry may have
# at most 10 ancestors, so a chain holds at most 11 levels.
MAX_ANCESTORS = 10


class _Extender:
    def __init__(self, data: dict[Any, Any], locs: Locs) -> None:
        self.data = dict(data)
        self.locs = dict(locs)
        self.done: set[Any] = set()

    def resolve(self, key: Any, ancestors: tuple[Any, ...]) -> Any:
        value = self.data[key]
        if key in self.done or not isinstance(value, dict) or "extends" not in value:
            return value
        site = job_site(str(key), self.locs)
        chain = " -> ".join(map(str, (*ancestors, key)))
        via = f" (chain: {chain})" if ancestors else ""
        parents = value["extends"]
        if isinstance(parents, str):
            parents = [parents]
        if not isinstance(parents, list) or not all(
            isinstance(p, str) for p in parents
        ):
            raise site.error("extends", "should be an array of strings or a string")
        unknown = [name for name in parents if name not in self.data]
        if unknown:
            raise site.error(
                "extends", f"unknown keys in `extends` ({', '.join(unknown)}){via}"
            )
        invalid = [name for name in parents if not isinstance(self.data[name], dict)]
        if invalid:
            raise site.error(
                "extends",
                f"invalid base hashes in `extends` ({', '.join(invalid)}){via}",
            )
        if len(ancestors) > MAX_ANCESTORS:
            raise site.error("extends", f"nesting too deep in `extends`{via}")
        if key in ancestors:
            raise site.error(
                "extends", f"circular dependency detected in `extends`{via}"
            )
        merged: dict[Any, Any] = {}
        keywords: dict[str, tuple[str, int]] = {}
        for name in parents:
            merged = deep_merge(merged, self.resolve(name, (*ancestors, key)))
            parent_loc = self.locs.get(name)
            if parent_loc is not None:
                keywords.update(parent_loc.keywords)
        result = deep_merge(merged, value)
        self.data[key] = result
        self.done.add(key)
        loc = self.locs.get(str(key))
        if loc is not None:
            self.locs[str(key)] = KeyLoc(
                loc.file, loc.line, {**keywords, **loc.keywords}
            )
        return result


def apply_extends(data: dict[Any, Any], locs: Locs) -> tuple[dict[Any, Any], Locs]:
    """Every entry with `extends` merged over its parents; inputs are not changed."""
    extender = _Extender(data, locs)
    for key in data:
        extender.resolve(key, ())
    return extender.data, extender.locs
