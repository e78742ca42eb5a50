"""Read one CI YAML file the way GitLab's Psych-based loader does, keeping lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from minirunner.config.lines import KeyLoc, locations
from minirunner.config.yamlcompose import compose
from minirunner.config.yamlnodes import Builder, fail, line_of
from minirunner.errors import ConfigError

MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """A parsed file: its optional `spec:` header and its configuration."""

    file: str
    header: dict[Any, Any] | None
    content: dict[Any, Any] | None
    locs: dict[str, KeyLoc]
    warnings: tuple[str, ...] = ()
    has_references: bool = False


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


def _compose(text: str, file: str) -> tuple[list[Node], ConfigError | None]:
    try:
        return compose(text, file)
    except yaml.YAMLError as error:
        raise _yaml_error(error, file, text) from None


def parse_document(data: bytes, file: str) -> Document:
    """Parse a file: an optional `spec:` header document, then the configuration.

    `content` is None when the file holds nothing but comments.
    """
    text = _decode(data, file)
    nodes, refusal = _compose(text, file)
    if len(nodes) > 2:
        raise fail(
            file,
            line_of(nodes[2]),
            "too many YAML documents: at most a `spec:` header and the configuration",
        )
    if refusal is not None:
        raise refusal
    builder = Builder(file)
    header: dict[Any, Any] | None = None
    try:
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
