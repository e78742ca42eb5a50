"""Tokens and trees of rules expressions, against GitLab's lexer and parser specs."""

from __future__ import annotations

import pytest

from minirunner.errors import ConfigError, ExpressionError
from minirunner.rules.lexer import tokenize
from minirunner.rules.parser import describe, parse


def texts(expression: str) -> list[str]:
    return [token.text for token in tokenize(expression)]


@pytest.mark.parametrize(
    ("expression", "tokens"),
    [
        ("$VARIABLE", ["$VARIABLE"]),
        ("\t$VARIABLE ", ["$VARIABLE"]),
        ("$VARIABLE1 $VARIABLE2", ["$VARIABLE1", "$VARIABLE2"]),
        ('$VARIABLE "text" "value"', ["$VARIABLE", '"text"', '"value"']),
        ('$VARIABLE == "text"', ["$VARIABLE", "==", '"text"']),
        (
            "$PRESENT_VARIABLE =~ /my var/ && $EMPTY_VARIABLE =~ /nope/",
            ["$PRESENT_VARIABLE", "=~", "/my var/", "&&"]
            + ["$EMPTY_VARIABLE", "=~", "/nope/"],
        ),
        (
            '$PRESENT_VARIABLE && null || $EMPTY_VARIABLE == ""',
            ["$PRESENT_VARIABLE", "&&", "null", "||", "$EMPTY_VARIABLE", "==", '""'],
        ),
        (
            '($PRESENT_VARIABLE && (null || $EMPTY_VARIABLE == ""))',
            ["(", "$PRESENT_VARIABLE", "&&", "(", "null", "||"]
            + ["$EMPTY_VARIABLE", "==", '""', ")", ")"],
        ),
        ("$A!=$B", ["$A", "!=", "$B"]),
        ("$A!~/x.y/i", ["$A", "!~", "/x.y/i"]),
        ("$A =~ /a\\/b/", ["$A", "=~", "/a\\/b/"]),
        ('\'say "hi"\' == "it\'s"', ["'say \"hi\"'", "==", '"it\'s"']),
        ("$A =~ /some .* / == $B", ["$A", "=~", "/some .* /", "==", "$B"]),
        ("$Ã", None),
    ],
)
def test_tokens(expression: str, tokens: list[str] | None) -> None:
    if tokens is None:
        with pytest.raises(ExpressionError):
            tokenize(expression)
    else:
        assert texts(expression) == tokens


def test_token_kinds_and_columns() -> None:
    tokens = tokenize('($A == "x") || null')

    assert [(t.kind, t.column) for t in tokens] == [
        ("(", 1),
        ("variable", 2),
        ("==", 5),
        ("string", 8),
        (")", 11),
        ("||", 13),
        ("null", 16),
    ]


@pytest.mark.parametrize(
    ("expression", "message", "column"),
    [
        (
            '${FOO} == "x"',
            "'${NAME}' is not supported in expressions, write '$NAME'",
            1,
        ),
        ('$A == "x" && %FOO% == "y"', "'%NAME%' is not supported in expressions", 14),
        ("$V1 123 $V2", "unexpected '1'", 5),
        ('$A == "x', 'unterminated string (missing closing " on this line)', 7),
        ('$A == "x\ny"', "unterminated string", 7),
        ("$A =~ /./", "invalid regular expression literal", 7),
        ("$A =~ //", "invalid regular expression literal", 7),
        ("$A =~ /ab/x", "unexpected 'x'", 11),
        ("$A = 'x'", "unknown operator '=', use '==' or '=~'", 4),
        ("!$A", "unknown operator '!', use '!=' or '!~'", 1),
        ("$A & $B", "unknown operator '&', use '&&' or '||'", 4),
        ("$ == 'x'", "'$' must be followed by a variable name", 1),
        ("$A == nullable", "unexpected 'a'", 11),
    ],
)
def test_lexer_errors_name_the_column(
    expression: str, message: str, column: int
) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse(expression)

    assert raised.value.column == column
    assert raised.value.expression == expression
    assert raised.value.reason.startswith(message)
    assert raised.value.reason.endswith(f"at column {column} of '{expression}'")


def test_expression_error_is_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        parse('${FOO} == "x"')

    assert str(raised.value) == (
        "'${NAME}' is not supported in expressions, write '$NAME' "
        "at column 1 of '${FOO} == \"x\"'"
    )


def test_ninety_nine_tokens_is_the_limit() -> None:
    # lexer.rb scans MAX_TOKENS = 100 times and fails when it has not
    # reached the end, so 99 tokens pass and 100 do not.
    ninety_nine = " || ".join(["$A"] * 50)
    hundred = ninety_nine + " ||"

    assert len(tokenize(ninety_nine)) == 99
    with pytest.raises(ExpressionError) as raised:
        tokenize(hundred)
    assert raised.value.reason.startswith("too many tokens (GitLab accepts at most 99)")


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        # GitLab's parser_spec.rb
        ('$VAR1 == "123"', 'equals($VAR1, "123")'),
        ('$VAR1 == "123" == $VAR2', 'equals(equals($VAR1, "123"), $VAR2)'),
        ("$VAR", "$VAR"),
        ('"some value"', '"some value"'),
        ("null", "null"),
        ("$VAR1 || $VAR2 && $VAR3", "or($VAR1, and($VAR2, $VAR3))"),
        ("$VAR1 && $VAR2 || $VAR3", "or(and($VAR1, $VAR2), $VAR3)"),
        (
            "$VAR1 && $VAR2 || $VAR3 && $VAR4",
            "or(and($VAR1, $VAR2), and($VAR3, $VAR4))",
        ),
        (
            "$VAR1 && ($VAR2 || $VAR3) && $VAR4",
            "and(and($VAR1, or($VAR2, $VAR3)), $VAR4)",
        ),
        (
            '$VAR1 == "a" || $VAR2 == "b" && $VAR3 == "c" '
            '|| $VAR4 == "d" && $VAR5 == "e"',
            'or(or(equals($VAR1, "a"), and(equals($VAR2, "b"), equals($VAR3, "c"))), '
            'and(equals($VAR4, "d"), equals($VAR5, "e")))',
        ),
        (
            '(($VAR1 == "a" || $VAR2 == "b") && $VAR3 == "c" || $VAR4 == "d") '
            '&& $VAR5 == "e"',
            'and(or(and(or(equals($VAR1, "a"), equals($VAR2, "b")), '
            'equals($VAR3, "c")), equals($VAR4, "d")), equals($VAR5, "e"))',
        ),
        # Regex literals: `\/` unescaped, flags prefixed as RE2 `(?flags)`.
        ("$A =~ /foo\\/bar/", "matches($A, /foo/bar/)"),
        ("$A !~ /pattern/im", "not_matches($A, /(?im)pattern/)"),
        ("$A =~ /a//", "matches($A, /a//)"),
        ("$A != 'x'", 'not_equals($A, "x")'),
        # The shunting-yard GitLab uses accepts these odd orders too.
        ("$A $B ==", "equals($A, $B)"),
        ("== $A $B", "equals($A, $B)"),
        ("$A (== $B)", "equals($A, $B)"),
        ('$A () == "x"', 'equals($A, "x")'),
    ],
)
def test_trees(expression: str, tree: str) -> None:
    assert describe(parse(expression)) == tree


@pytest.mark.parametrize(
    ("expression", "message", "column"),
    [
        ("", "empty expression", 1),
        ("   ", "empty expression", 1),
        ("()", "empty expression", 1),
        ('$VAR "text"', "missing operator before this value", 6),
        ('== "123"', "'==' needs a value on each side", 1),
        ("$VAR ==", "'==' needs a value on each side", 6),
        ("12345", "unexpected '1'", 1),
        ('$FOO_$BAR == "x"', "missing operator before this value", 6),
        ("$VAR == (", "unclosed '('", 9),
        ('$VAR2 == ("aa"', "unclosed '('", 10),
        ('$VAR2 == ("aa"))', "unmatched ')'", 16),
        ('$VAR2 == "aa")', "unmatched ')'", 14),
        ('(($VAR2 == "aa")', "unclosed '('", 1),
        ('($VAR2 == "aa"))', "unmatched ')'", 16),
        ('($A ==) "x"', "'==' needs a value on each side", 5),
        ("$A =~ /a(?=b)/", "invalid regular expression /a(?=b)/: invalid perl", 7),
        ("$A =~ /ab(/", "invalid regular expression /ab(/: missing ): ab(", 7),
        ("$A =~ /\\1a/", "invalid regular expression /\\1a/: invalid escape", 7),
    ],
)
def test_parse_errors(expression: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse(expression)

    assert raised.value.reason.startswith(message)
    assert raised.value.column == column


def test_parsing_is_cached() -> None:
    first = parse('$CI_COMMIT_BRANCH == "main"')

    assert parse('$CI_COMMIT_BRANCH == "main"') is first
