"""Read one CI YAML file the way GitLab's Psych-based loader does, keeping lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from minirunner.config.values import ruby_str
from minirunner.errors import ConfigError

# GitLab refuses configurations past its `max_yaml_size_bytes` and
# `max_yaml_depth` settings; these limits play that part (aliases counted
# as often as they are used, so an alias bomb is refused, not expanded).
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 1_000_000
MAX_DEPTH = 100
# Lines are kept for keys down to this depth below a top-level key
# (`rules[0]:if`), enough to point at the item an error is about.
LINE_DEPTH = 3

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
REFERENCE_TAG = "!reference"

Lines = dict[str, int]


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


@dataclass(frozen=True)
class KeyLoc:
    """Where a top-level key stands, with the lines of the keys inside it.

    `keywords` maps "kw", "kw:sub" and "kw[index]" to the file and line.
    """

    file: str
    line: int
    keywords: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """A parsed file: its optional `spec:` header and its configuration."""

    file: str
    header: dict[Any, Any] | None
    content: dict[Any, Any] | None
    locs: dict[str, KeyLoc]
    warnings: tuple[str, ...] = ()
    has_references: bool = False


def _fail(file: str, line: int | None, message: str) -> ConfigError:
    return ConfigError(message, file=file, line=line)


try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_TAG_CACHE_LIMIT = 100_000


class _Composer(_BaseLoader):
    """Composes nodes only; scalar tags are resolved once per distinct text."""

    _tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(self._tags) > _TAG_CACHE_LIMIT:
                    self._tags.clear()
                self._tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


_SCALARS = yaml.constructor.SafeConstructor()
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "tag:yaml.org,2002:int": _SCALARS.construct_yaml_int,
    "tag:yaml.org,2002:float": _SCALARS.construct_yaml_float,
    "tag:yaml.org,2002:bool": _SCALARS.construct_yaml_bool,
    "tag:yaml.org,2002:null": _SCALARS.construct_yaml_null,
}


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
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
        converter = _CONVERTERS.get(tag)
        if converter is not None:
            return converter(node)
        if tag in (MERGE_TAG, "tag:yaml.org,2002:value"):
            return node.value
        if tag == "tag:yaml.org,2002:timestamp":
            # Psych's safe_load refuses Date and Time ("Tried to load
            # unspecified class: Date"), so GitLab rejects unquoted dates.
            raise _fail(
                self.file,
                _line(node),
                f"unquoted date or time '{node.value}' is not allowed "
                "(GitLab refuses it); put it in quotes",
            )
        if tag == REFERENCE_TAG:
            raise _fail(
                self.file,
                _line(node),
                f"!reference {json.dumps(node.value)} is not valid",
            )
        raise _fail(self.file, _line(node), f"unsupported YAML tag '{tag}'")

    def reference(self, node: Node) -> Reference:
        self.has_references = True
        path = tuple(self.value(child) for child in node.value)
        reference = Reference(path, self.file, _line(node))
        if not path or not all(isinstance(part, str) for part in path):
            raise _fail(self.file, reference.line, f"{reference.text} is not valid")
        return reference

    def mapping(self, node: Node) -> dict[Any, Any]:
        if node.tag == REFERENCE_TAG:
            raise _fail(self.file, _line(node), "!reference must be a sequence of keys")
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
                        f"{self.file}:{_line(key_node)}: duplicate key '{key}' "
                        "(the last one wins, as on GitLab)"
                    )
                explicit.add(key)
                result[key] = self.value(value_node)
            except TypeError:
                raise _fail(
                    self.file, _line(key_node), "a mapping key must be a plain value"
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


def _measure(node: Node, file: str) -> None:
    """Refuse alias bombs and deep nesting before anything walks the data."""
    sizes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def visit(current: Node) -> tuple[int, int]:
        if current.__class__ is ScalarNode:
            return 1, 1
        known = sizes.get(id(current))
        if known is not None:
            return known
        if id(current) in active:
            raise _fail(file, _line(current), "a YAML alias refers to itself")
        active.add(id(current))
        count, depth = 1, 0
        children = (
            current.value
            if current.__class__ is SequenceNode
            else [part for pair in current.value for part in pair]
        )
        for child in children:
            child_count, child_depth = visit(child)
            count += child_count
            depth = max(depth, child_depth)
            if count > MAX_NODES:
                raise _fail(
                    file,
                    _line(current),
                    f"configuration too large: more than {MAX_NODES} values "
                    "once YAML aliases are expanded",
                )
        active.discard(id(current))
        if depth + 1 > MAX_DEPTH:
            raise _fail(
                file,
                _line(current),
                f"configuration nested deeper than {MAX_DEPTH} levels",
            )
        sizes[id(current)] = (count, depth + 1)
        return count, depth + 1

    visit(node)


def _decode(data: bytes, file: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise _fail(file, None, f"file is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _fail(file, line, "file is not valid UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def _yaml_error(error: yaml.YAMLError, file: str, text: str) -> ConfigError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = int(mark.line) + 1 if mark is not None else None
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if mark is not None and _tab_at(text, int(mark.line), int(mark.column)):
        problem = "tab character where YAML allows only spaces for indentation"
        context = None
    detail = f"{context}: {problem}" if context else problem
    return _fail(file, line, f"invalid YAML: {detail}")


def _tab_at(text: str, line: int, column: int) -> bool:
    lines = text.split("\n", line + 1)
    if line >= len(lines):
        return False
    return "\t" in lines[line][: column + 1]


def _compose_all(text: str, file: str) -> list[Node]:
    loader = _Composer(text)
    try:
        nodes: list[Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
        return nodes
    except yaml.YAMLError as error:
        raise _yaml_error(error, file, text) from None
    finally:
        loader.dispose()


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else ruby_str(key)


def _key_label(node: Node) -> str:
    """A scalar key as it reads once built (`YES` is `true`)."""
    converter = _CONVERTERS.get(node.tag)
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
            into[name] = (file, _line(child))
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
                            into[name] = (file, _line(key_node))
            continue
        if key_node.__class__ is ScalarNode:
            name = f"{prefix}{separator}{_key_label(key_node)}"
            into[name] = (file, _line(key_node))
            if depth < LINE_DEPTH:
                _inner_lines(value_node, name, file, into, depth + 1)


def _locations(node: Node, content: dict[Any, Any], file: str) -> dict[str, KeyLoc]:
    locs: dict[str, KeyLoc] = {}
    for key_node, value_node in node.value:
        if key_node.__class__ is not ScalarNode or key_node.tag == MERGE_TAG:
            continue
        keywords: dict[str, tuple[str, int]] = {}
        _inner_lines(value_node, "", file, keywords)
        locs[_key_label(key_node)] = KeyLoc(file, _line(key_node), keywords)
    for key in content:
        name = _key_text(key)
        if name not in locs:
            locs[name] = KeyLoc(file, _line(node))
    return locs


def parse_document(data: bytes, file: str) -> Document:
    """Parse a file: an optional `spec:` header document, then the configuration.

    `content` is None when the file holds nothing but comments.
    """
    text = _decode(data, file)
    nodes = _compose_all(text, file)
    if len(nodes) > 2:
        raise _fail(
            file,
            _line(nodes[2]),
            "too many YAML documents: at most a `spec:` header and the configuration",
        )
    builder = _Builder(file)
    header: dict[Any, Any] | None = None
    try:
        for node in nodes:
            _measure(node, file)
        if len(nodes) == 2:
            first = builder.value(nodes[0])
            if not isinstance(first, dict) or "spec" not in first:
                raise _fail(
                    file,
                    _line(nodes[0]),
                    "the first of two YAML documents must be a `spec:` header",
                )
            header = first
        if not nodes:
            return Document(file, header, None, {})
        body = nodes[-1]
        content = builder.value(body)
    except RecursionError:
        raise _fail(file, None, "configuration nested too deeply") from None
    if content is None:
        return Document(file, header, None, {})
    if not isinstance(content, dict):
        kind = "a list" if isinstance(content, list) else "a single value"
        raise _fail(
            file,
            _line(body),
            f"invalid configuration format: expected a mapping of keys, found {kind}",
        )
    locs = _locations(body, content, file) if body.__class__ is MappingNode else {}
    return Document(
        file,
        header,
        content,
        locs,
        tuple(builder.warnings),
        builder.has_references,
    )
