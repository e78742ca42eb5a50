"""Variable expansion as GitLab and its runner do it: `expand` and `resolve`."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from minirunner.config.model import Variable
from minirunner.errors import ConfigError

# No GitLab limit is documented; a chain like B: $A$A, C: $B$B, ... doubles at
# every step, so values are capped to keep a mistake from eating the memory.
MAX_VALUE_CHARS = 1 << 20

# Gitlab::Ci::Variables::Collection::Item::VARIABLES_REGEXP: `$$` and `%%` are
# escapes the server leaves for the runner; `${}` matches without a name.
_SERVER_REFERENCE = re.compile(
    r"\$\$|%%"
    r"|\$(?P<plain>[a-zA-Z_][a-zA-Z0-9_]*)"
    r"|\$\{(?P<braced>[a-zA-Z_][a-zA-Z0-9_]*)?\}"
    r"|%(?P<percent>[a-zA-Z_][a-zA-Z0-9_]*)%"
)
# Go's os.Expand, which the runner uses, treats these after `$` as a whole name.
_SHELL_SPECIAL = frozenset("*#$@!?-0123456789")
_RUNNER_EMPTY = frozenset("*#@!?0123456789")
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_")


def expand(value: str, env: Mapping[str, str], *, keep_undefined: bool = False) -> str:
    """Expand `$VAR` and `${VAR}` in one pass, the way GitLab Runner does.

    This is Go's `os.Expand` with the runner's lookup (`common/variables.go`):
    `$$` gives `$`; an undefined variable gives the empty string (with
    `keep_undefined`, its reference stays as written, like GitLab's
    `ExpandVariables.expand_existing`); `$1`, `$*`, `$#`… give the empty string;
    a `$` before anything else is kept; `${}` and an unclosed `${` are dropped.
    Values substituted are not expanded again. Used for the keywords the runner
    expands: `image`, `services`, `artifacts`, `cache` and the like.
    """
    return _expand(value, lambda name: env.get(name), keep_undefined, "")


def resolve(layers: Sequence[Mapping[str, Variable | str]]) -> dict[str, str]:
    """The final value of every variable, from layers given lowest precedence first.

    A later layer overrides an earlier one. Expansion follows GitLab, in two steps:

    1. the server (`Collection#sort_and_expand_all(keep_undefined: true,
       expand_raw_refs: false)`) sorts the variables so each comes after those it
       references, and expands references to variables already placed; undefined
       references and references to `expand: false` variables stay as written.
       Every definition of a name is a node, so a later `FOO: "$FOO-x"` builds on
       an earlier layer's `FOO`. A reference cycle (A: $B, B: $A) is a pipeline
       error in GitLab: raised as ConfigError `circular variable reference
       detected: ["A", "B"]`;
    2. the runner (`JobVariables.Expand`) expands each non-raw value once more
       against the step-1 values: `$$` becomes `$`, what is still undefined
       becomes empty.

    GitLab merges the global, job and `rules` `variables:` by name into one list
    before this, so a job's `FOO: $FOO` does not see the global FOO (gitlab#433964):
    pass them as one merged layer to get that behaviour. `expand: false` values
    are kept literally. A value growing past MAX_VALUE_CHARS raises ConfigError.
    The value kept for a name is the one the runner exports last, i.e. the last
    definition in the sorted order: like on GitLab, a lower layer's self-reference
    (`FOO: $FOO-x` under a higher `FOO: b`) sorts after what it references and
    wins with `b-x`.
    """
    items = [
        _Item(key, *_value_and_raw(variable))
        for layer in layers
        for key, variable in layer.items()
    ]
    expanded = _server_expand(items)
    latest = {item.key: item for item in expanded}

    def runner_lookup(name: str) -> str | None:
        item = latest.get(name)
        return item.value if item else None

    # Keys in the order they were first defined; the value is the one the runner
    # exports last, which is the last definition in the server's sorted order.
    result = dict.fromkeys((item.key for item in items), "")
    for item in expanded:
        if item.raw:
            result[item.key] = item.value
        else:
            result[item.key] = _expand(item.value, runner_lookup, False, item.key)
    return result


@dataclass(frozen=True)
class _Item:
    key: str
    value: str
    raw: bool

    def depends_on(self) -> list[str] | None:
        if self.raw or ("$" not in self.value and "%" not in self.value):
            return None
        return [name for name in _names(self.value) if name]


def _value_and_raw(variable: Variable | str) -> tuple[str, bool]:
    if isinstance(variable, Variable):
        return variable.value, not variable.expand
    return variable, False


def _names(value: str) -> Iterator[str | None]:
    for match in _SERVER_REFERENCE.finditer(value):
        yield match["plain"] or match["braced"] or match["percent"]


def _server_expand(items: list[_Item]) -> list[_Item]:
    if all(item.depends_on() is None for item in items):
        return items
    by_key: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_key.setdefault(item.key, []).append(index)

    def children(index: int) -> list[int]:
        names = items[index].depends_on() or []
        return [child for name in names for child in by_key.get(name, ())]

    order, cycles = _strongly_connected(len(items), children)
    if cycles:
        described = ", ".join(
            json.dumps([items[index].key for index in cycle], ensure_ascii=False)
            for cycle in cycles
        )
        raise ConfigError(f"circular variable reference detected: {described}")

    placed: dict[str, _Item] = {}
    expanded: list[_Item] = []
    for index in order:
        item = items[index]
        if item.depends_on() is not None:
            item = _Item(item.key, _server_substitute(item, placed), item.raw)
        placed[item.key] = item
        expanded.append(item)
    return expanded


def _server_substitute(item: _Item, placed: Mapping[str, _Item]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["plain"] or match["braced"] or match["percent"]
        known = placed.get(name) if name else None
        if known is None or known.raw:
            return match[0]
        return known.value

    value = _SERVER_REFERENCE.sub(replace, item.value)
    if len(value) > MAX_VALUE_CHARS:
        raise _too_long(item.key)
    return value


def _strongly_connected(
    count: int, children: Callable[[int], list[int]]
) -> tuple[list[int], list[list[int]]]:
    """Ruby TSort's order (Tarjan, nodes in list order) and its cycles (size > 1)."""
    ids: dict[int, int | None] = {}
    stack: list[int] = []
    order: list[int] = []
    cycles: list[list[int]] = []

    def visit(node: int) -> _Frame:
        ids[node] = len(ids)
        stack.append(node)
        return _Frame(node, iter(children(node)), len(ids) - 1, len(stack) - 1)

    for root in range(count):
        if root in ids:
            continue
        frames = [visit(root)]
        while frames:
            frame = frames[-1]
            child = next(frame.pending, None)
            if child is not None:
                if child not in ids:
                    frames.append(visit(child))
                elif (child_id := ids[child]) is not None:
                    frame.minimum = min(frame.minimum, child_id)
                continue
            frames.pop()
            if ids[frame.node] == frame.minimum:
                component = stack[frame.base :]
                del stack[frame.base :]
                for member in component:
                    ids[member] = None
                if len(component) > 1:
                    cycles.append(component)
                else:
                    order.append(frame.node)
            if frames:
                frames[-1].minimum = min(frames[-1].minimum, frame.minimum)
    return order, cycles


@dataclass
class _Frame:
    node: int
    pending: Iterator[int]
    minimum: int
    base: int


def _expand(
    value: str, lookup: Callable[[str], str | None], keep_undefined: bool, key: str
) -> str:
    """Go's os.Expand with GitLab Runner's `JobVariables.Get` as the mapping."""
    if "$" not in value:
        return value
    pieces: list[str] = []
    size = 0
    start = 0
    position = value.find("$")
    while position != -1 and position + 1 < len(value):
        name, width = _shell_name(value, position + 1)
        replacement = ""
        if name:
            found = _runner_get(name, lookup)
            if found is not None:
                replacement = found
            elif keep_undefined:
                replacement = value[position : position + 1 + width]
        elif width == 0:
            replacement = "$"
        pieces += (value[start:position], replacement)
        size += position - start + len(replacement)
        if size > MAX_VALUE_CHARS:
            raise _too_long(key)
        start = position + 1 + width
        position = value.find("$", start)
    pieces.append(value[start:])
    return "".join(pieces)


def _runner_get(name: str, lookup: Callable[[str], str | None]) -> str | None:
    if name == "$":
        return "$"
    if name in _RUNNER_EMPTY:
        return ""
    return lookup(name)


def _shell_name(value: str, at: int) -> tuple[str, int]:
    """Go's getShellName on value[at:]: the name and how many characters it takes."""
    first = value[at]
    if first == "{":
        special = value[at + 1 : at + 3]
        if len(special) == 2 and special[0] in _SHELL_SPECIAL and special[1] == "}":
            return special[0], 3
        close = value.find("}", at + 1)
        if close == -1:
            return "", 1
        if close == at + 1:
            return "", 2
        return value[at + 1 : close], close - at + 1
    if first in _SHELL_SPECIAL:
        return first, 1
    end = at
    while end < len(value) and value[end] in _NAME_CHARS:
        end += 1
    return value[at:end], end - at


def _too_long(key: str) -> ConfigError:
    where = f"variable {key}" if key else "a value"
    return ConfigError(f"{where} expands to more than {MAX_VALUE_CHARS} characters")
