"""Read one CI YAML file the way GitLab's Psych-based loader does, keeping lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from minirunner.config.lines import KeyLoc, locations
from minirunner.config.yamlnodes import (
    MAX_DEPTH,
    MAX_NODES,
    STR_TAG,
    Builder,
    fail,
    line_of,
    measure,
)
from minirunner.errors import ConfigError

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 4 * 1024 * 1024
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"


@dataclass(frozen=True)
class Document:
    """A parsed file: its optional `spec:` header and its configuration."""

    file: str
    header: dict[Any, Any] | None
    content: dict[Any, Any] | None
    locs: dict[str, KeyLoc]
    warnings: tuple[str, ...] = ()
    has_references: bool = False


_TAG_CACHE_LIMIT = 100_000


class _Composer(_BaseLoader):
    """Composes nodes only; scalar tags are resolved once per distinct text."""

    _tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if not implicit[0]:
                return STR_TAG
            tag = self._tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(self._tags) > _TAG_CACHE_LIMIT:
                    self._tags.clear()
                self._tags[value] = tag
            return tag
        return SEQ_TAG if kind is SequenceNode else MAP_TAG

    # No path resolvers are registered: skip their bookkeeping per node.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _decode(data: bytes, file: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise fail(file, None, f"file is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise fail(file, line, "file is not valid UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def _yaml_error(error: yaml.YAMLError, file: str, text: str) -> ConfigError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = int(mark.line) + 1 if mark is not None else None
    if isinstance(error, yaml.reader.ReaderError):
        # A character YAML refuses: libyaml gives its byte offset, no mark.
        before = text.encode("utf-8", "surrogatepass")[: error.position]
        code = error.character
        code = ord(code) if isinstance(code, str) else int(code)
        return fail(
            file,
            before.count(b"\n") + 1,
            f"invalid YAML: unacceptable character #x{code:04x}: {error.reason}",
        )
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if mark is not None and _tab_at(text, int(mark.line), int(mark.column)):
        problem = "tab character where YAML allows only spaces for indentation"
        context = None
    detail = f"{context}: {problem}" if context else problem
    return fail(file, line, f"invalid YAML: {detail}")


def _tab_at(text: str, line: int, column: int) -> bool:
    lines = text.split("\n", line + 1)
    if line >= len(lines):
        return False
    return "\t" in lines[line][: column + 1]


_OPENING = (SequenceStartEvent, MappingStartEvent)
_CLOSING = (SequenceEndEvent, MappingEndEvent)


def _check_nesting(text: str, file: str) -> bool:
    """Refuse deep nesting before composing: libyaml's composer recurses in C,
    and a few thousand `[` would overflow its stack (a crash, not an error).

    Returns whether the composed nodes still need `measure`: when the
    documents hold aliases (only then can nodes be larger or deeper than the
    events just seen) or very many events.
    """
    parser = _BaseLoader(text)
    depth = 0
    aliases = False
    events = 0
    try:
        while parser.check_event():
            event: Any = parser.get_event()
            events += 1
            kind = event.__class__
            if kind is AliasEvent:
                aliases = True
            elif kind in _OPENING:
                depth += 1
                if depth > MAX_DEPTH:
                    raise fail(
                        file,
                        int(event.start_mark.line) + 1,
                        f"configuration nested deeper than {MAX_DEPTH} levels",
                    )
            elif kind in _CLOSING:
                depth -= 1
    except yaml.YAMLError as error:
        raise _yaml_error(error, file, text) from None
    finally:
        parser.dispose()
    return aliases or events > MAX_NODES


def _compose_all(text: str, file: str) -> tuple[list[Node], bool]:
    aliases = _check_nesting(text, file)
    loader = _Composer(text)
    try:
        nodes: list[Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
        return nodes, aliases
    except yaml.YAMLError as error:
        raise _yaml_error(error, file, text) from None
    finally:
        loader.dispose()


def parse_document(data: bytes, file: str) -> Document:
    """Parse a file: an optional `spec:` header document, then the configuration.

    `content` is None when the file holds nothing but comments.
    """
    text = _decode(data, file)
    nodes, aliases = _compose_all(text, file)
    if len(nodes) > 2:
        raise fail(
            file,
            line_of(nodes[2]),
            "too many YAML documents: at most a `spec:` header and the configuration",
        )
    builder = Builder(file)
    header: dict[Any, Any] | None = None
    try:
        # Without aliases the nodes are the events already checked for depth.
        for node in nodes if aliases else ():
            measure(node, file)
        if len(nodes) == 2:
            first = builder.value(nodes[0])
            if not isinstance(first, dict) or "spec" not in first:
                raise fail(
                    file,
                    line_of(nodes[0]),
                    "the first of two YAML documents must be a `spec:` header",
                )
            header = first
        if not nodes:
            return Document(file, header, None, {})
        body = nodes[-1]
        content = builder.value(body)
    except RecursionError:
        raise fail(file, None, "configuration nested too deeply") from None
    if content is None:
        return Document(file, header, None, {})
    if not isinstance(content, dict):
        kind = "a list" if isinstance(content, list) else "a single value"
        raise fail(
            file,
            line_of(body),
            f"invalid configuration format: expected a mapping of keys, found {kind}",
        )
    locs = locations(body, content, file) if body.__class__ is MappingNode else {}
    return Document(
        file,
        header,
        content,
        locs,
        tuple(builder.warnings),
        builder.has_references,
    )
