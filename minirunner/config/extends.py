"""`extends`: reverse deep merge of parents into each entry that names them.

https://docs.gitlab.com/ci/yaml/yaml_optimization/#use-extends-to-reuse-configuration-sections
"""

from __future__ import annotations

from typing import Any

from minirunner.config.lines import KeyLoc, Lines
from minirunner.config.merge import Locs, deep_merge
from minirunner.config.values import job_site

# Gitlab::Ci::Config::Extendable::Entry::MAX_NESTING_LEVELS: an entry that
# extends may have at most 10 ancestors: eleven levels of inheritance.
MAX_ANCESTORS = 10


class _Extender:
    def __init__(self, data: dict[Any, Any], locs: Locs) -> None:
        self.data = dict(data)
        self.locs = dict(locs)
        self.done: set[Any] = set()
        # The most ancestors each key was checked with; fewer cannot fail.
        self.checked: dict[Any, int] = {}

    def parents(self, key: Any) -> list[str] | None:
        value = self.data[key]
        if not isinstance(value, dict) or "extends" not in value:
            return None
        parents = value["extends"]
        if isinstance(parents, str):
            return [parents]
        if not isinstance(parents, list) or not all(
            isinstance(p, str) for p in parents
        ):
            site = job_site(str(key), self.locs)
            raise site.error("extends", "should be an array of strings or a string")
        return parents

    def check(self, key: Any, ancestors: tuple[Any, ...]) -> None:
        """GitLab's checks, walked along every chain as Extendable::Entry does."""
        parents = self.parents(key)
        if parents is None or self.checked.get(key, -1) >= len(ancestors):
            return
        site = job_site(str(key), self.locs)
        chain = " -> ".join(map(str, (*ancestors, key)))
        via = f" (chain: {chain})" if ancestors else ""
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
        for name in parents:
            self.check(name, (*ancestors, key))
        self.checked[key] = len(ancestors)

    def resolve(self, key: Any) -> Any:
        """The entry merged over its parents (checked before)."""
        parents = self.parents(key)
        if parents is None or key in self.done:
            return self.data[key]
        merged: dict[Any, Any] = {}
        inherited: list[Lines] = []
        for name in parents:
            merged = deep_merge(merged, self.resolve(name))
            parent_loc = self.locs.get(name)
            if parent_loc is not None:
                inherited.insert(0, parent_loc.keywords)
        result = deep_merge(merged, self.data[key])
        self.data[key] = result
        self.done.add(key)
        loc = self.locs.get(str(key))
        if loc is not None:
            keywords = loc.keywords.over(*inherited)
            self.locs[str(key)] = KeyLoc(loc.file, loc.line, keywords)
        return result


def apply_extends(data: dict[Any, Any], locs: Locs) -> tuple[dict[Any, Any], Locs]:
    """Every entry with `extends` merged over its parents; inputs are not changed."""
    extender = _Extender(data, locs)
    for key in data:
        extender.check(key, ())
        extender.resolve(key)
    return extender.data, extender.locs
