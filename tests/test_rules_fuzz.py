"""Property tests of the expression language: no input crashes it, trees round-trip.

Set MINIRUNNER_FUZZ_EXAMPLES (default 300) to run more, e.g. 10000.
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minirunner.errors import ExpressionError
from minirunner.rules.evaluate import evaluate, present, value_of
from minirunner.rules.parser import (
    PRECEDENCE,
    And,
    Compare,
    Expression,
    Null,
    Or,
    Regex,
    String,
    Variable,
    describe,
    parse,
)

EXAMPLES = int(os.environ.get("MINIRUNNER_FUZZ_EXAMPLES", "300"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

NAMES = ["A", "B", "EMPTY", "CI_COMMIT_TAG"]

# Pieces that make near-valid expressions more likely than plain text does.
FRAGMENTS = [
    "$A", "$B", "$EMPTY", "$UNDEF", "${A}", "%A%", "$", '"x"', "'y'", '""', '"',
    "'", "/ab/", "/a.c/i", "/^$/", "/./", "//", "/(/", "/a(?=b)/", "/\\//", "/x/U",
    "null", "nul", "==", "!=", "=~", "!~", "&&", "||", "=", "!", "&", "|", "(",
    ")", " ", "\t", "\n", "0", "a", "\\", "é", "\u00a0",
]  # fmt: skip

fragment_soup = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=30
).map("".join)

values = st.one_of(st.none(), st.sampled_from(["", " ", "x", "ab", "/ab/", "/(/"]))
variable_maps = st.fixed_dictionaries({}, optional=dict.fromkeys(NAMES, values)).map(
    lambda found: {key: value for key, value in found.items() if value is not None}
)


@FUZZ
@given(text=st.one_of(fragment_soup, st.text(max_size=60)), variables=variable_maps)
def test_any_text_parses_or_raises_expression_error(
    text: str, variables: dict[str, str]
) -> None:
    try:
        tree = parse(text)
    except ExpressionError as error:
        assert 1 <= error.column <= len(text) + 1
        assert error.expression == text
        assert "\n" not in error.reason.replace(text, "")
        return
    assert isinstance(evaluate(tree, variables), bool)


# Trees generated from the grammar, printed with the fewest parentheses their
# precedence needs, must parse back into the same tree.

leaves = st.one_of(
    st.sampled_from(NAMES).map(Variable),
    st.sampled_from(["", "x", "main", "a b"]).map(String),
    st.just(Null()),
)


def compare_of(
    children: st.SearchStrategy[Expression],
) -> st.SearchStrategy[Expression]:
    ops = st.sampled_from(["==", "!="])
    matching = st.sampled_from(["=~", "!~"])
    regexes = st.sampled_from(["/ab/", "/^m.*n$/i", "/a\\/b/"]).map(
        lambda literal: parse(f"$A =~ {literal}")
    )
    return st.one_of(
        st.builds(Compare, ops, children, children),
        st.builds(
            lambda op, left, tree: Compare(op, left, tree.right),
            matching,
            children,
            regexes,
        ),
        st.builds(And, children, children),
        st.builds(Or, children, children),
    )


trees = st.recursive(leaves, compare_of, max_leaves=12)


def render(tree: Expression) -> str:
    """Print a tree with parentheses only where precedence needs them."""
    if isinstance(tree, Variable):
        return f"${tree.name}"
    if isinstance(tree, String):
        return f'"{tree.value}"'
    if isinstance(tree, Null):
        return "null"
    if isinstance(tree, Regex):
        return tree.literal
    op = "&&" if isinstance(tree, And) else "||" if isinstance(tree, Or) else tree.op
    assert isinstance(tree, (Compare, And, Or))
    left = _operand(tree.left, PRECEDENCE[op], right_side=False)
    right = _operand(tree.right, PRECEDENCE[op], right_side=True)
    return f"{left} {op} {right}"


def _operand(tree: Expression, outer: int, *, right_side: bool) -> str:
    text = render(tree)
    if isinstance(tree, (Compare, And, Or)):
        op = (
            "&&" if isinstance(tree, And) else "||" if isinstance(tree, Or) else tree.op
        )
        inner = PRECEDENCE[op]
        # Left-associative: an equal-precedence operand needs parentheses
        # only on the right.
        if inner > outer or (inner == outer and right_side):
            return f"({text})"
    return text


@FUZZ
@given(tree=trees, variables=variable_maps)
def test_printed_trees_parse_back_to_the_same_tree(
    tree: Expression, variables: dict[str, str]
) -> None:
    text = render(tree)

    parsed = parse(text)

    assert describe(parsed) == describe(tree)
    assert evaluate(parsed, variables) is present(value_of(tree, variables, None))


@FUZZ
@given(tree=trees)
def test_parenthesised_everything_gives_the_same_tree(tree: Expression) -> None:
    assert describe(parse(_fully_parenthesised(tree))) == describe(tree)


def _fully_parenthesised(tree: Expression) -> str:
    if isinstance(tree, (Compare, And, Or)):
        op = (
            "&&" if isinstance(tree, And) else "||" if isinstance(tree, Or) else tree.op
        )
        left = _fully_parenthesised(tree.left)
        right = _fully_parenthesised(tree.right)
        return f"({left} {op} {right})"
    return render(tree)


def test_long_hostile_inputs_fail_fast() -> None:
    hostile = [
        "/" + "\\/" * 5000,
        "$A =~ /" + "a" * 20000,
        "(" * 5000,
        '"' + "x" * 20000,
        " || ".join(["$A"] * 5000),
    ]

    started = time.perf_counter()
    for text in hostile:
        try:
            parse(text)
        except ExpressionError:
            continue
        raise AssertionError(f"accepted: {text[:40]}")

    assert time.perf_counter() - started < 2.0
