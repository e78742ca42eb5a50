"""The lines of a file's keys, kept for error messages."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from minirunner.config.values import ruby_str
from minirunner.config.yamlnodes import CONVERTERS, MERGE_TAG, REFERENCE_TAG, line_of

# Lines are kept for keys down to this depth below a top-level key
# (`rules[0]:if`), enough to point at the item an error is about.
LINE_DEPTH = 3


class Lines(Mapping[str, tuple[str, int]]):
    """The lines of the keys inside a top-level key, read on first use.

    Keys are "kw", "kw:sub" and "kw[index]"; values are (file, line). Sources
    are YAML nodes, the first one winning, as after a merge or `extends`.
    """

    def __init__(self, sources: tuple[tuple[str, Node], ...] = ()) -> None:
        self.sources = sources
        self._table: dict[str, tuple[str, int]] | None = None

    def _load(self) -> dict[str, tuple[str, int]]:
        if self._table is None:
            table: dict[str, tuple[str, int]] = {}
            for file, node in reversed(self.sources):
                _inner_lines(node, "", file, table)
            self._table = table
        return self._table

    def __getitem__(self, key: str) -> tuple[str, int]:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def over(self, *others: Lines) -> Lines:
        """These lines first, then the others' (in their order)."""
        sources = self.sources + tuple(s for other in others for s in other.sources)
        return Lines(sources)


@dataclass(frozen=True)
class KeyLoc:
    """Where a top-level key stands, with the lines of the keys inside it."""

    file: str
    line: int
    keywords: Lines = field(default_factory=Lines)


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else ruby_str(key)


def _key_label(node: Node) -> str:
    """A scalar key as it reads once built (`YES` is `true`)."""
    converter = CONVERTERS.get(node.tag)
    if converter is None:
        return str(node.value)
    return ruby_str(converter(node))


def _inner_lines(
    node: Node,
    prefix: str,
    file: str,
    into: dict[str, tuple[str, int]],
    depth: int = 1,
) -> None:
    """Record the lines of keys and items inside `node`, down to LINE_DEPTH."""
    if node.__class__ is SequenceNode and node.tag != REFERENCE_TAG:
        for index, child in enumerate(node.value):
            name = f"{prefix}[{index}]"
            into[name] = (file, line_of(child))
            if depth < LINE_DEPTH:
                _inner_lines(child, name, file, into, depth + 1)
        return
    if node.__class__ is not MappingNode:
        return
    separator = ":" if prefix else ""
    for key_node, value_node in node.value:
        if key_node.tag == MERGE_TAG:
            sources = (
                value_node.value
                if value_node.__class__ is SequenceNode
                else [value_node]
            )
            for source in sources:
                if source.__class__ is MappingNode:
                    for inner_key, _ in source.value:
                        if inner_key.__class__ is ScalarNode:
                            name = f"{prefix}{separator}{_key_label(inner_key)}"
                            into[name] = (file, line_of(key_node))
            continue
        if key_node.__class__ is ScalarNode:
            name = f"{prefix}{separator}{_key_label(key_node)}"
            into[name] = (file, line_of(key_node))
            if depth < LINE_DEPTH:
                _inner_lines(value_node, name, file, into, depth + 1)


def locations(node: Node, content: dict[Any, Any], file: str) -> dict[str, KeyLoc]:
    locs: dict[str, KeyLoc] = {}
    for key_node, value_node in node.value:
        if key_node.__class__ is not ScalarNode or key_node.tag == MERGE_TAG:
            continue
        keywords = Lines(((file, value_node),))
        locs[_key_label(key_node)] = KeyLoc(file, line_of(key_node), keywords)
    for key in content:
        name = _key_text(key)
        if name not in locs:
            locs[name] = KeyLoc(file, line_of(node))
    return locs
