"""Compose a YAML stream's nodes in one pass over libyaml's events.

The same pass refuses what would hurt the walks after it. Nesting deeper than
MAX_DEPTH is refused as soon as it is seen: libyaml's own composer recurses in
C, and a few thousand `[` would overflow its stack (a crash, not an error).
Aliases are sized as they are met, so an alias bomb is refused, not expanded.
"""

from __future__ import annotations

from typing import Any

from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from minirunner.config.yamlnodes import MAX_DEPTH, MAX_NODES, STR_TAG, fail, line_of
from minirunner.errors import ConfigError

try:
    from yaml import CSafeLoader as BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as BaseLoader  # type: ignore[assignment]

SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"
_TAG_CACHE_LIMIT = 100_000
_TAGS: dict[str, str] = {}

# The fields of an open collection, kept in a list for speed.
_NODE, _ITEMS, _KEY, _COUNT, _HEIGHT, _ANCHORED = range(6)


def _resolve_tag(loader: BaseLoader, value: str, implicit: Any) -> str:
    """The tag of a plain scalar, remembered for the next one of the same text."""
    tag: str = loader.resolve(ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
    if len(_TAGS) > _TAG_CACHE_LIMIT:
        _TAGS.clear()
    _TAGS[value] = tag
    return tag


def _too_deep(file: str, line: int) -> ConfigError:
    return fail(file, line, f"configuration nested deeper than {MAX_DEPTH} levels")


class _Pass:
    """One walk over the events: nodes, nesting and alias sizes together.

    The sizes are those of the nodes with aliases expanded: a collection's
    count of values and its height (a scalar is one level). The first size
    refused is kept in `refusal`; it counts only when the stream has aliases
    or very many events, as GitLab's own limits would. A composer error
    (an unknown alias, an anchor defined twice) waits until the rest of the
    stream is parsed: a syntax error or deep nesting after it comes first.
    """

    def __init__(self, loader: BaseLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.nodes: list[Node] = []
        self.open: list[list[Any]] = []
        self.anchors: dict[str, Node] = {}
        self.sizes: dict[int, tuple[int, int]] = {}
        self.refusal: ConfigError | None = None
        self.events = 0
        self.aliases = False

    def run(self) -> tuple[list[Node], ConfigError | None]:
        broken = self.compose()
        if broken is not None:
            self.scan_rest()
            raise broken
        counted = self.aliases or self.events > MAX_NODES
        return self.nodes, self.refusal if counted else None

    def compose(self) -> ComposerError | None:
        get_event = self.loader.get_event
        open_ = self.open
        anchors = self.anchors
        tags = _TAGS
        events = 0
        while True:
            event: Any = get_event()
            events += 1
            kind = event.__class__
            if kind is ScalarEvent:
                value = event.value
                tag = event.tag
                if tag is None or tag == "!":
                    if not event.implicit[0]:
                        tag = STR_TAG
                    else:
                        tag = tags.get(value) or _resolve_tag(
                            self.loader, value, event.implicit
                        )
                node: Node = ScalarNode(
                    tag, value, event.start_mark, event.end_mark, event.style
                )
                if event.anchor is not None:
                    if event.anchor in anchors:
                        return self.duplicate(event)
                    anchors[event.anchor] = node
                self.attach(node, 1, 1)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(open_) >= MAX_DEPTH:
                    raise self.deep_event(event)
                tag = event.tag
                if tag is None or tag == "!":
                    tag = MAP_TAG if kind is MappingStartEvent else SEQ_TAG
                node_class = MappingNode if kind is MappingStartEvent else SequenceNode
                items: list[Any] = []
                node = node_class(tag, items, event.start_mark, None, event.flow_style)
                anchored = event.anchor is not None
                if anchored:
                    if event.anchor in anchors:
                        return self.duplicate(event)
                    anchors[event.anchor] = node
                open_.append([node, items, None, 1, 0, anchored])
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                self.close(event)
            elif kind is AliasEvent:
                target = anchors.get(event.anchor)
                if target is None:
                    return ComposerError(
                        None, None, "found undefined alias", event.start_mark
                    )
                self.alias(target)
            elif kind is DocumentStartEvent:
                self.anchors = anchors = {}
            elif kind is StreamEndEvent:
                self.events = events
                return None

    def attach(self, node: Node, count: int, height: int) -> None:
        """Add a finished node to the open collection, or as a document."""
        if not self.open:
            self.nodes.append(node)
            return
        parent = self.open[-1]
        if parent[_NODE].__class__ is SequenceNode:
            parent[_ITEMS].append(node)
        elif parent[_KEY] is None:
            parent[_KEY] = node
        else:
            parent[_ITEMS].append((parent[_KEY], node))
            parent[_KEY] = None
        if self.refusal is None:
            parent[_COUNT] += count
            if height > parent[_HEIGHT]:
                parent[_HEIGHT] = height
            if parent[_COUNT] > MAX_NODES:
                self.refusal = fail(
                    self.file,
                    line_of(parent[_NODE]),
                    f"configuration too large: more than {MAX_NODES} values "
                    "once YAML aliases are expanded",
                )

    def close(self, event: Any) -> None:
        frame = self.open.pop()
        node = frame[_NODE]
        node.end_mark = event.end_mark
        if self.refusal is None:
            level = len(self.open) + 1
            if level + frame[_HEIGHT] > MAX_DEPTH:
                self.refusal = _too_deep(self.file, line_of(node))
            elif frame[_ANCHORED]:
                self.sizes[id(node)] = (frame[_COUNT], frame[_HEIGHT] + 1)
        self.attach(node, frame[_COUNT], frame[_HEIGHT] + 1)

    def alias(self, target: Node) -> None:
        self.aliases = True
        if target.__class__ is ScalarNode:
            self.attach(target, 1, 1)
            return
        size = self.sizes.get(id(target))
        if self.refusal is None:
            level = len(self.open) + 1
            if size is not None and level + size[1] - 1 > MAX_DEPTH:
                self.refusal = _too_deep(self.file, line_of(target))
            elif size is None and level > MAX_DEPTH:
                self.refusal = _too_deep(self.file, line_of(target))
            elif size is None:
                self.refusal = fail(
                    self.file, line_of(target), "a YAML alias refers to itself"
                )
        count, height = size or (1, 1)
        self.attach(target, count, height)

    def duplicate(self, event: Any) -> ComposerError:
        first = self.anchors[event.anchor]
        return ComposerError(
            "found duplicate anchor; first occurrence",
            first.start_mark,
            "second occurrence",
            event.start_mark,
        )

    def deep_event(self, event: Any) -> ConfigError:
        return _too_deep(self.file, int(event.start_mark.line) + 1)

    def scan_rest(self) -> None:
        """Parse the rest of the stream for syntax errors and deep nesting only."""
        depth = len(self.open)
        get_event = self.loader.get_event
        while self.loader.check_event():
            event: Any = get_event()
            kind = event.__class__
            if kind is MappingStartEvent or kind is SequenceStartEvent:
                if depth >= MAX_DEPTH:
                    raise self.deep_event(event)
                depth += 1
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                depth -= 1


def compose(text: str, file: str) -> tuple[list[Node], ConfigError | None]:
    """The documents' nodes, and the refusal of their expanded size if any.

    Syntax and composer errors are raised as yaml.YAMLError, deep nesting
    as ConfigError; the size refusal is returned, for the caller to raise
    after its own checks of the documents.
    """
    loader = BaseLoader(text)
    try:
        return _Pass(loader, file).run()
    finally:
        loader.dispose()
