"""Composed YAML nodes into Python values the way Psych builds them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode, SequenceNode

from minirunner.errors import ConfigError

# GitLab refuses configurations past its `max_yaml_size_bytes` and
# `max_yaml_depth` settings; these limits play that part (aliases counted
# as often as they are used, so an alias bomb is refused, not expanded).
MAX_NODES = 1_000_000
MAX_DEPTH = 100

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
REFERENCE_TAG = "!reference"


@dataclass(frozen=True)
class Reference:
    """A `!reference [job, key, ...]` tag, resolved after `extends`."""

    path: tuple[object, ...]
    file: str
    line: int

    @property
    def text(self) -> str:
        """The tag as GitLab quotes it in its error messages."""
        return "!reference " + json.dumps(list(self.path), ensure_ascii=False)


def fail(file: str, line: int | None, message: str) -> ConfigError:
    return ConfigError(message, file=file, line=line)


_SCALARS = yaml.constructor.SafeConstructor()
CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "tag:yaml.org,2002:int": _SCALARS.construct_yaml_int,
    "tag:yaml.org,2002:float": _SCALARS.construct_yaml_float,
    "tag:yaml.org,2002:bool": _SCALARS.construct_yaml_bool,
    "tag:yaml.org,2002:null": _SCALARS.construct_yaml_null,
}


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


class Builder:
    """Turns composed nodes into dicts, lists and scalars, as Psych would."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.memo: dict[int, Any] = {}
        self.warnings: list[str] = []
        self.has_references = False

    def value(self, node: Node) -> Any:
        if node.__class__ is ScalarNode:
            if node.tag == STR_TAG:
                return node.value
            return self.scalar(node)
        built = self.memo.get(id(node))
        if built is not None:
            return built
        if node.__class__ is SequenceNode:
            if node.tag == REFERENCE_TAG:
                built = self.reference(node)
            else:
                built = [self.value(child) for child in node.value]
        else:
            built = self.mapping(node)
        self.memo[id(node)] = built
        return built

    def scalar(self, node: Node) -> Any:
        tag = node.tag
        converter = CONVERTERS.get(tag)
        if converter is not None:
            return converter(node)
        if tag in (MERGE_TAG, "tag:yaml.org,2002:value"):
            return node.value
        if tag == "tag:yaml.org,2002:timestamp":
            # Psych's safe_load refuses Date and Time ("Tried to load
            # unspecified class: Date"), so GitLab rejects unquoted dates.
            raise fail(
                self.file,
                line_of(node),
                f"unquoted date or time '{node.value}' is not allowed "
                "(GitLab refuses it); put it in quotes",
            )
        if tag == REFERENCE_TAG:
            raise fail(
                self.file,
                line_of(node),
                f"!reference {json.dumps(node.value)} is not valid",
            )
        raise fail(self.file, line_of(node), f"unsupported YAML tag '{tag}'")

    def reference(self, node: Node) -> Reference:
        self.has_references = True
        path = tuple(self.value(child) for child in node.value)
        reference = Reference(path, self.file, line_of(node))
        if not path or not all(isinstance(part, str) for part in path):
            raise fail(self.file, reference.line, f"{reference.text} is not valid")
        return reference

    def mapping(self, node: Node) -> dict[Any, Any]:
        if node.tag == REFERENCE_TAG:
            raise fail(
                self.file, line_of(node), "!reference must be a sequence of keys"
            )
        result: dict[Any, Any] = {}
        explicit: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                self.merge(result, value_node)
                continue
            key = self.value(key_node)
            try:
                if key in explicit:
                    self.warnings.append(
                        f"{self.file}:{line_of(key_node)}: duplicate key '{key}' "
                        "(the last one wins, as on GitLab)"
                    )
                explicit.add(key)
                result[key] = self.value(value_node)
            except TypeError:
                raise fail(
                    self.file, line_of(key_node), "a mapping key must be a plain value"
                ) from None
        return result

    def merge(self, result: dict[Any, Any], value_node: Node) -> None:
        # Psych merges `<<` where it stands: it overrides keys before it and
        # is overridden by keys after it; in a list, earlier maps win.
        value = self.value(value_node)
        if isinstance(value, dict):
            result.update(value)
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            merged: dict[Any, Any] = {}
            for item in reversed(value):
                merged.update(item)
            result.update(merged)
        else:
            result["<<"] = value
