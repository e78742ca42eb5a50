"""`!reference [key, subkey, ...]`: replaced by the value it names, after `extends`.

https://docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags
"""

from __future__ import annotations

from typing import Any

from minirunner.config.yamlnodes import Reference
from minirunner.errors import ConfigError

_IN_PROGRESS = object()
# Values a walk returns as they are, skipped without a call.
_PLAIN = frozenset({str, int, float, bool, type(None)})


class _Resolver:
    """GitLab's Tags::Resolver: each tag resolves once, a tag seen again while it
    resolves is a circular chain."""

    def __init__(self, config: dict[Any, Any]) -> None:
        self.config = config
        self.resolved: dict[int, Any] = {}
        self.current: str | None = None

    def top(self) -> dict[Any, Any]:
        """Walk the configuration, noting which top-level key is being resolved."""
        changed: dict[Any, Any] | None = None
        for key, item in self.config.items():
            self.current = str(key)
            new = self.walk(item)
            if new is not item:
                if changed is None:
                    changed = dict(self.config)
                changed[key] = new
        return self.config if changed is None else changed

    def fail(self, reference: Reference, message: str) -> ConfigError:
        return ConfigError(
            f"{reference.text} {message}",
            file=reference.file,
            line=reference.line,
            job=self.current,
        )

    def walk(self, value: Any) -> Any:
        if isinstance(value, Reference):
            return self.resolve(value)
        if isinstance(value, dict):
            changed: dict[Any, Any] | None = None
            for key, item in value.items():
                if item.__class__ in _PLAIN:
                    continue
                new = self.walk(item)
                if new is not item:
                    if changed is None:
                        changed = dict(value)
                    changed[key] = new
            return value if changed is None else changed
        if isinstance(value, list):
            items: list[Any] | None = None
            for index, item in enumerate(value):
                if item.__class__ in _PLAIN:
                    continue
                new = self.walk(item)
                if new is not item:
                    if items is None:
                        items = list(value)
                    items[index] = new
            return value if items is None else items
        return value

    def resolve(self, reference: Reference) -> Any:
        state = self.resolved.get(id(reference))
        if state is _IN_PROGRESS:
            raise self.fail(reference, "is part of a circular chain")
        if state is not None:
            return state
        self.resolved[id(reference)] = _IN_PROGRESS
        target: Any = self.config
        for key in reference.path:
            target = target.get(key) if isinstance(target, dict) else None
        value = self.walk(target)
        # GitLab raises unless the value is truthy in Ruby: nil and false are
        # "not found".
        if value is None or value is False:
            raise self.fail(reference, "could not be found")
        self.resolved[id(reference)] = value
        return value


def resolve_references(config: dict[Any, Any]) -> dict[Any, Any]:
    """The configuration with every `!reference` replaced; the input is unchanged."""
    return _Resolver(config).top()
