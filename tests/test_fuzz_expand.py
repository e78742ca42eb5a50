"""Property tests of variable expansion: `expand` is Go's os.Expand with GitLab
Runner's lookup, and `resolve` either gives every variable a value or raises
ConfigError; never another exception.

Set MINIRUNNER_FUZZ_EXAMPLES (default 200) to run more, e.g. 10000.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from minirunner.config.model import Variable
from minirunner.errors import ConfigError
from minirunner.variables.expand import MAX_VALUE_CHARS, expand, resolve

EXAMPLES = int(os.environ.get("MINIRUNNER_FUZZ_EXAMPLES", "200"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

NAMES = ["A", "B", "C", "A_1", "_", "é"]

# Pieces that make references, escapes and broken syntax likely.
PIECES = [
    "$", "$$", "${", "}", "{", "$A", "${A}", "$B", "${B}", "$C", "${}", "${A",
    "$1", "${1}", "$*", "${#}", "$@", "$!", "$?", "$-", "$0", "%A%", "%%", "%",
    "$A_1", "$_", "$é", "${é}", "${ A}", "x", " ", "-", "/", "\n", "é", "名",
    "\\", "$$A", "$${A}", "${A}${B}",
]  # fmt: skip

texts = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=20
).map("".join)
environments = st.dictionaries(
    st.sampled_from([*NAMES, "-", "1", "$"]), texts, max_size=6
)


# Go's os.Expand and GitLab Runner's JobVariables.Get, transcribed as an
# oracle (go/src/os/env.go, gitlab-runner common/variables.go).

SHELL_SPECIAL = set("*#$@!?-0123456789")


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or ("0" <= char <= "9") or ("a" <= char.lower() <= "z")


def _get_shell_name(text: str) -> tuple[str, int]:
    if text[0] == "{":
        if len(text) > 2 and text[1] in SHELL_SPECIAL and text[2] == "}":
            return text[1:2], 3
        for index in range(1, len(text)):
            if text[index] == "}":
                if index == 1:
                    return "", 2
                return text[1:index], index + 1
        return "", 1
    if text[0] in SHELL_SPECIAL:
        return text[0:1], 1
    index = 0
    while index < len(text) and _is_alphanumeric(text[index]):
        index += 1
    return text[:index], index


def go_expand(text: str, mapping: Callable[[str, str], str]) -> str:
    """os.Expand; `mapping` gets the name and the reference as written."""
    out: list[str] = []
    start = 0
    index = 0
    while index < len(text):
        if text[index] == "$" and index + 1 < len(text):
            out.append(text[start:index])
            name, width = _get_shell_name(text[index + 1 :])
            if name == "" and width > 0:
                pass
            elif name == "":
                out.append("$")
            else:
                out.append(mapping(name, text[index : index + 1 + width]))
            index += width
            start = index + 1
        index += 1
    out.append(text[start:])
    return "".join(out)


def runner_get(
    env: Mapping[str, str], *, keep_undefined: bool = False
) -> Callable[[str, str], str]:
    """JobVariables.Get; with `keep_undefined`, an undefined name's reference
    stays as written (minirunner's `expand(..., keep_undefined=True)`)."""

    def get(name: str, written: str) -> str:
        if name == "$":
            return "$"
        if name in "*#@!?0123456789" and len(name) == 1:
            return ""
        if name in env:
            return env[name]
        return written if keep_undefined else ""

    return get


@FUZZ
@given(text=texts, env=environments)
def test_expand_is_gos_os_expand_with_the_runners_lookup(
    text: str, env: dict[str, str]
) -> None:
    assert expand(text, env) == go_expand(text, runner_get(env))


@FUZZ
@given(text=texts, env=environments)
def test_keeping_undefined_references_keeps_them_as_written(
    text: str, env: dict[str, str]
) -> None:
    kept = expand(text, env, keep_undefined=True)

    assert kept == go_expand(text, runner_get(env, keep_undefined=True))


@FUZZ
@given(text=st.text(alphabet=st.characters(blacklist_characters="$")), env=environments)
def test_text_without_a_dollar_is_left_alone(text: str, env: dict[str, str]) -> None:
    assert expand(text, env) == text


# resolve: layers of variables, some raw (expand: false).

values = st.lists(
    st.one_of(
        st.sampled_from(["$A", "${B}", "$C", "$$", "%A%", "$A_1", "${}", "x", "-"]),
        texts,
    ),
    max_size=4,
).map("".join)
variables = st.one_of(
    values,
    st.builds(Variable, values, expand=st.booleans()),
)
layers = st.lists(
    st.dictionaries(st.sampled_from(NAMES), variables, max_size=5), max_size=4
)


@FUZZ
@given(layers=layers)
def test_resolve_gives_every_name_a_value_or_raises_config_error(
    layers: list[dict[str, Variable | str]],
) -> None:
    try:
        result = resolve(layers)
    except ConfigError as error:
        assert error.format_message().startswith(
            "circular variable reference detected: ["
        )
        event("cycle")
        return
    event("resolved")
    names = [name for layer in layers for name in layer]
    assert list(result) == list(dict.fromkeys(names))
    for name, value in result.items():
        assert isinstance(value, str)
        assert len(value) <= MAX_VALUE_CHARS
        # A name defined once, raw, keeps its value exactly.
        definitions = [layer[name] for layer in layers if name in layer]
        only = definitions[0] if len(definitions) == 1 else None
        if isinstance(only, Variable) and not only.expand:
            assert value == only.value


# A single layer of plain references without escapes has a simple meaning:
# references to expanded variables are replaced by their final values, to raw
# ones by their text, to undefined ones by nothing.

plain_names = st.sampled_from(["A", "B", "C", "D", "E"])
separators = st.sampled_from(["", "-", "/", " ", ":x"])
plain_values = st.lists(
    st.one_of(plain_names.map(lambda name: "${" + name + "}"), separators),
    max_size=4,
).map("".join)
plain_layers = st.dictionaries(
    plain_names,
    st.one_of(plain_values, st.builds(Variable, plain_values, expand=st.booleans())),
    max_size=5,
)


def _references(value: str) -> list[str]:
    return [part.split("}")[0] for part in value.split("${")[1:]]


def _loops(layer: Mapping[str, Variable | str]) -> tuple[bool, bool]:
    """Whether expanded variables refer to each other in a loop of two or more
    names, and whether one refers to itself."""
    edges = {
        name: {ref for ref in _references(_text(var)) if ref in layer}
        for name, var in layer.items()
        if not _raw(var)
    }

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        pending = list(edges.get(start, ()))
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending.extend(edges.get(name, ()))
        return seen

    reachable = {name: reach(name) for name in edges}
    loop = any(
        other != name and name in reachable.get(other, set())
        for name, found in reachable.items()
        for other in found
    )
    return loop, any(name in found for name, found in reachable.items())


def _text(variable: Variable | str) -> str:
    return variable.value if isinstance(variable, Variable) else variable


def _raw(variable: Variable | str) -> bool:
    return isinstance(variable, Variable) and not variable.expand


def _meaning(layer: Mapping[str, Variable | str], name: str) -> str:
    variable = layer[name]
    if _raw(variable):
        return _text(variable)
    parts = _text(variable).split("${")
    out = [parts[0]]
    for part in parts[1:]:
        ref, rest = part.split("}", 1)
        if ref in layer:
            out.append(_text(layer[ref]) if _raw(layer[ref]) else _meaning(layer, ref))
        out.append(rest)
    return "".join(out)


@FUZZ
@given(layer=plain_layers)
def test_resolve_of_plain_references_has_the_simple_meaning(
    layer: dict[str, Variable | str],
) -> None:
    loop, self_reference = _loops(layer)
    if loop:
        event("loop")
        try:
            resolve([layer])
        except ConfigError as error:
            assert "circular variable reference detected" in error.format_message()
            return
        raise AssertionError(f"no error for a loop: {layer}")
    if self_reference:
        # GitLab keeps a self-reference as written: no simple meaning to check.
        event("self-reference")
        resolve([layer])
        return
    event("no loop")
    assert resolve([layer]) == {name: _meaning(layer, name) for name in layer}


def test_a_doubling_chain_is_stopped() -> None:
    chain = {"V0": "x" * 1000}
    for index in range(1, 40):
        chain[f"V{index}"] = f"$V{index - 1}$V{index - 1}"

    try:
        resolve([chain])
    except ConfigError as error:
        assert "expands to more than 1048576 characters" in error.format_message()
    else:
        raise AssertionError("a value of 2**39 * 1000 characters was built")
