"""Tests for minirunner.variables.expand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minirunner.config.model import Variable
from minirunner.errors import ConfigError
from minirunner.variables.expand import MAX_VALUE_CHARS, expand, resolve

ENV = {"HOME": "/usr/gopher", "H": "(Value of H)", "home_1": "/usr/foo", "_": "u"}


@pytest.mark.parametrize(
    ("value", "expanded"),
    [
        ("", ""),
        ("now is the time", "now is the time"),
        ("$HOME", "/usr/gopher"),
        ("${HOME}", "/usr/gopher"),
        ("$home_1", "/usr/foo"),
        ("${H}OME", "(Value of H)OME"),
        ("$HOME/bin:$H", "/usr/gopher/bin:(Value of H)"),
        ("$$HOME", "$HOME"),
        ("price: 5$", "price: 5$"),
        ("a $ b", "a $ b"),
        ("$UNDEFINED-x", "-x"),
        ("${UNDEFINED}x", "x"),
        ("$1 $* $# $?", "   "),
        ("${}x", "x"),
        ("${unclosed", "unclosed"),
        ("${HOME:-fallback}", ""),
        ("A$$$#$1$H$home_1*B", "A$(Value of H)/usr/foo*B"),
        ("$_", "u"),
        ("%HOME%", "%HOME%"),
    ],
)
def test_expand_is_the_runners_os_expand(value: str, expanded: str) -> None:
    assert expand(value, ENV) == expanded


def test_expand_does_not_expand_substituted_values() -> None:
    assert expand("$A", {"A": "$B", "B": "b"}) == "$B"


def test_expand_can_keep_undefined_references() -> None:
    assert expand("$HOME/$NOPE/${NOPE}", ENV, keep_undefined=True) == (
        "/usr/gopher/$NOPE/${NOPE}"
    )


def test_resolve_later_layers_override_earlier_ones() -> None:
    layers = [{"A": "predefined", "B": "b"}, {"A": "yaml"}, {"A": Variable("cli")}]
    assert resolve(layers) == {"A": "cli", "B": "b"}


def test_resolve_expands_references_whatever_their_order() -> None:
    layers = [{"URL": "$SCHEME://$HOST:${PORT}/x", "SCHEME": "https"}, {"HOST": "h"}]
    assert resolve(layers + [{"PORT": "$BASE_PORT", "BASE_PORT": "8080"}]) == {
        "URL": "https://h:8080/x",
        "SCHEME": "https",
        "HOST": "h",
        "PORT": "8080",
        "BASE_PORT": "8080",
    }


def test_resolve_turns_double_dollar_into_one() -> None:
    assert resolve([{"A": "pa$$word", "B": "$A", "C": "$$A"}]) == {
        "A": "pa$word",
        "B": "pa$word",
        "C": "$A",
    }


def test_resolve_keeps_expand_false_values_literal() -> None:
    layers = [{"A": "normal", "RAW": Variable("raw-$A-$$", expand=False), "C": "$RAW"}]
    assert resolve(layers) == {"A": "normal", "RAW": "raw-$A-$$", "C": "raw-$A-$$"}


def test_resolve_makes_undefined_references_empty() -> None:
    assert resolve([{"A": "x${NOPE}y$NOPE"}]) == {"A": "xy"}


def test_resolve_uses_job_only_variables_from_any_layer() -> None:
    layers = [{"CI_PROJECT_DIR": "/builds/g/p"}, {"OUT": "$CI_PROJECT_DIR/out"}]
    assert resolve(layers)["OUT"] == "/builds/g/p/out"


def test_resolve_a_later_definition_builds_on_an_earlier_one() -> None:
    layers = [{"FLAGS": "-O2"}, {"FLAGS": "$FLAGS -g"}]
    assert resolve(layers) == {"FLAGS": "-O2 -g"}


def test_resolve_lower_self_reference_sorts_last_like_on_gitlab() -> None:
    assert resolve([{"FOO": "$FOO-x"}, {"FOO": "b"}]) == {"FOO": "b-x"}


def test_resolve_self_reference_in_one_layer_is_gitlabs_literal() -> None:
    # gitlab#433964: a job's FOO: $FOO does not see the global FOO once GitLab
    # has merged them; the runner then expands the literal once more.
    assert resolve([{"FOO": "$FOO"}]) == {"FOO": "$FOO"}
    assert resolve([{"FOO": "$FOO-x"}]) == {"FOO": "$FOO-x-x"}


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"A": "$B", "B": "$A"}], 'circular variable reference detected: ["A", "B"]'),
        (
            [{"A": "${B}1", "B": "$C", "C": "x$A", "D": "$E", "E": "$D"}],
            'circular variable reference detected: ["A", "B", "C"], ["D", "E"]',
        ),
    ],
)
def test_resolve_reference_cycles_are_config_errors(
    layers: list[dict[str, str]], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve(layers)
    assert raised.value.message == message


def test_resolve_bounds_runaway_growth() -> None:
    chain = {"V0": "x" * 64}
    for step in range(1, 20):
        chain[f"V{step}"] = f"$V{step - 1}$V{step - 1}"
    with pytest.raises(ConfigError) as raised:
        resolve([chain])
    assert raised.value.message == (
        f"variable V15 expands to more than {MAX_VALUE_CHARS} characters"
    )


names = st.sampled_from(["A", "B", "C", "D"])
values = st.lists(
    st.one_of(names.map(lambda name: f"${name}"), st.sampled_from(["x", "$$", "-"])),
    max_size=4,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(names, values, max_size=4), max_size=3))
def test_resolve_always_ends_in_values_or_a_config_error(
    layers: list[dict[str, str]],
) -> None:
    try:
        resolved = resolve(layers)
    except ConfigError as error:
        assert error.message.startswith("circular variable reference detected: [")
    else:
        assert set(resolved) == {name for layer in layers for name in layer}
        assert all(len(value) < 10_000 for value in resolved.values())
