"""GitLab's merge of configurations: hashes deep-merge, everything else is replaced."""

from __future__ import annotations

from typing import Any

from minirunner.config.lines import KeyLoc

Locs = dict[str, KeyLoc]


def deep_merge(base: dict[Any, Any], override: dict[Any, Any]) -> dict[Any, Any]:
    """ActiveSupport's `deep_merge`: a new dict, neither input is changed.

    Keys keep the place they had in `base`; new keys follow in `override`'s order.
    Sub-dicts that only one side has are shared, not copied.
    """
    if not base:
        return override if not override else dict(override)
    result = dict(base)
    for key, value in override.items():
        old = result.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            result[key] = deep_merge(old, value)
        else:
            result[key] = value
    return result


def merge_locs(base: Locs, override: Locs) -> Locs:
    """Locations after `deep_merge`: the overriding file's lines win."""
    if not base:
        return dict(override)
    result = dict(base)
    for key, loc in override.items():
        old = result.get(key)
        if old is None:
            result[key] = loc
        else:
            result[key] = KeyLoc(loc.file, loc.line, loc.keywords.over(old.keywords))
    return result
