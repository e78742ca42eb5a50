"""Evaluating rules expressions: GitLab's statement spec, docs examples, edges."""

from __future__ import annotations

import pytest

from minirunner.rules.evaluate import Value, evaluate, matches, value_of
from minirunner.rules.parser import parse
from minirunner.rules.regex import Regexp

# The variables of GitLab's spec/lib/gitlab/ci/pipeline/expression/statement_spec.rb
SPEC_VARIABLES = {
    "PRESENT_VARIABLE": "my variable",
    "PATH_VARIABLE": "a/path/variable/value",
    "FULL_PATH_VARIABLE": "/a/full/path/variable/value",
    "EMPTY_VARIABLE": "",
}

FULL = "$FULL_PATH_VARIABLE =~ /^\\/a\\/full\\/path\\/variable\\/value$/"
FULL_BAD = "$FULL_PATH_VARIABLE =~ /^\\/a\\/bad\\/path\\/variable\\/value$/"
PATH = "$PATH_VARIABLE =~ /path\\/variable/"
PATH_BAD = "$PATH_VARIABLE =~ /bad\\/path\\/variable/"


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ('$PRESENT_VARIABLE == "my variable"', True),
        ('"my variable" == $PRESENT_VARIABLE', True),
        ("$PRESENT_VARIABLE == null", False),
        ("$EMPTY_VARIABLE == null", False),
        ('"" == $EMPTY_VARIABLE', True),
        ("$EMPTY_VARIABLE", ""),
        ("$UNDEFINED_VARIABLE == null", True),
        ("null == $UNDEFINED_VARIABLE", True),
        ("$PRESENT_VARIABLE", "my variable"),
        ("$UNDEFINED_VARIABLE", None),
        ("$PRESENT_VARIABLE =~ /var.*e$/", True),
        ("$PRESENT_VARIABLE =~ /va\\r.*e$/", False),
        ("$PRESENT_VARIABLE =~ /va\\/r.*e$/", False),
        ("$PRESENT_VARIABLE =~ /^var.*/", False),
        ("$EMPTY_VARIABLE =~ /var.*/", False),
        ("$UNDEFINED_VARIABLE =~ /var.*/", False),
        ("$PRESENT_VARIABLE =~ /VAR.*/i", True),
        ("$PATH_VARIABLE =~ /path\\/variable/", True),
        (FULL, True),
        ("$FULL_PATH_VARIABLE =~ /\\/path\\/variable\\/value$/", True),
        ('$PRESENT_VARIABLE != "my variable"', False),
        ('"my variable" != $PRESENT_VARIABLE', False),
        ("$PRESENT_VARIABLE != null", True),
        ("$EMPTY_VARIABLE != null", True),
        ('"" != $EMPTY_VARIABLE', False),
        ("$UNDEFINED_VARIABLE != null", False),
        ("null != $UNDEFINED_VARIABLE", False),
        ("$PRESENT_VARIABLE !~ /var.*e$/", False),
        ("$PRESENT_VARIABLE !~ /^var.*/", True),
        ("$PRESENT_VARIABLE !~ /^v\\ar.*/", True),
        ("$PRESENT_VARIABLE !~ /^v\\/ar.*/", True),
        ("$EMPTY_VARIABLE !~ /var.*/", True),
        ("$UNDEFINED_VARIABLE !~ /var.*/", True),
        ("$PRESENT_VARIABLE !~ /VAR.*/i", False),
        ('$PRESENT_VARIABLE && "string"', "string"),
        ("$PRESENT_VARIABLE && $PRESENT_VARIABLE", "my variable"),
        ("$PRESENT_VARIABLE && $EMPTY_VARIABLE", ""),
        ("$PRESENT_VARIABLE && null", None),
        ('"string" && $PRESENT_VARIABLE', "my variable"),
        ("$EMPTY_VARIABLE && $PRESENT_VARIABLE", "my variable"),
        ("null && $PRESENT_VARIABLE", None),
        ('$EMPTY_VARIABLE && "string"', "string"),
        ("$EMPTY_VARIABLE && $EMPTY_VARIABLE", ""),
        ('"string" && $EMPTY_VARIABLE', ""),
        ('"string" && null', None),
        ('null && "string"', None),
        ('"string" && "string"', "string"),
        ("null && null", None),
        ("$PRESENT_VARIABLE =~ /my var/ && $EMPTY_VARIABLE =~ /nope/", False),
        ('$EMPTY_VARIABLE == "" && $PRESENT_VARIABLE', "my variable"),
        ('$EMPTY_VARIABLE == "" && $PRESENT_VARIABLE != "nope"', True),
        ("$PRESENT_VARIABLE && $UNDEFINED_VARIABLE", None),
        ("$UNDEFINED_VARIABLE && $EMPTY_VARIABLE", None),
        ("$UNDEFINED_VARIABLE && $PRESENT_VARIABLE", None),
        (f"{FULL} && {PATH}", True),
        (f"{FULL_BAD} && {PATH}", False),
        (f"{FULL} && {PATH_BAD}", False),
        (f"{FULL_BAD} && {PATH_BAD}", False),
        (f"{FULL} || {PATH}", True),
        (f"{FULL_BAD} || {PATH}", True),
        (f"{FULL} || {PATH_BAD}", True),
        (f"{FULL_BAD} || {PATH_BAD}", False),
        ("$PRESENT_VARIABLE =~ /my var/ || $EMPTY_VARIABLE =~ /nope/", True),
        ('$EMPTY_VARIABLE == "" || $PRESENT_VARIABLE', True),
        ('$PRESENT_VARIABLE != "nope" || $EMPTY_VARIABLE == ""', True),
        ('$PRESENT_VARIABLE && null || $EMPTY_VARIABLE == ""', True),
        ("$PRESENT_VARIABLE || $UNDEFINED_VARIABLE", "my variable"),
        ("$UNDEFINED_VARIABLE || $PRESENT_VARIABLE", "my variable"),
        ("$UNDEFINED_VARIABLE == null || $PRESENT_VARIABLE", True),
        ("$PRESENT_VARIABLE || $UNDEFINED_VARIABLE == null", "my variable"),
        ("($PRESENT_VARIABLE)", "my variable"),
        ("(($PRESENT_VARIABLE))", "my variable"),
        ('(($PRESENT_VARIABLE && null) || $EMPTY_VARIABLE == "")', True),
        ('($PRESENT_VARIABLE) && (null || $EMPTY_VARIABLE == "")', True),
        ('("string" || "test") == "string"', True),
        ('(null || ("test" == "string"))', False),
        ('("string" == ("test" && "string"))', True),
        ('("string" == ("test" || "string"))', False),
        ('("string" == "test" || "string")', "string"),
        ('("string" == ("string" || (("1" == "1") && ("2" == "3"))))', True),
    ],
)
def test_gitlab_statement_spec_values(expression: str, value: Value) -> None:
    assert value_of(parse(expression), SPEC_VARIABLES, None) == value


@pytest.mark.parametrize(
    ("expression", "variables", "holds"),
    [
        # Bare $VAR: defined and not blank (Ruby's `present?`).
        ("$VAR", {"VAR": "x"}, True),
        ("$VAR", {"VAR": ""}, False),
        ("$VAR", {}, False),
        ("$VAR", {"VAR": " \t\n"}, False),
        ("$VAR", {"VAR": "\u00a0"}, False),
        ("$VAR", {"VAR": "0"}, True),
        ("$VAR", {"VAR": "false"}, True),
        # null tests definition; "" tests emptiness; they differ.
        ("$VAR == null", {}, True),
        ("$VAR == null", {"VAR": ""}, False),
        ('$VAR == ""', {"VAR": ""}, True),
        ('$VAR == ""', {}, False),
        ("$VAR != null", {"VAR": ""}, True),
        ("$A == $B", {}, True),
        ("$A == $B", {"A": "1", "B": "1"}, True),
        ("$A == $B", {"A": "1"}, False),
        ("$A != $B", {"A": "1", "B": "2"}, True),
        ("'a' == \"a\"", {}, True),
        # =~ is unanchored RE2.
        ("$R =~ /issue/", {"R": "severe-issues"}, True),
        ("$R =~ /^issue$/", {"R": "severe-issues"}, False),
        ("$R =~ /\\x40/", {"R": "user@example.com"}, True),
        ("$R =~ /a.b/", {"R": "a\nb"}, False),
        ("$R =~ /a.b/s", {"R": "a\nb"}, True),
        ("$R =~ /^b/", {"R": "a\nb"}, False),
        ("$R =~ /^b/m", {"R": "a\nb"}, True),
        ("$R =~ /MAIN/i", {"R": "main"}, True),
        ("$R =~ /^a+?$/U", {"R": "aaa"}, True),
        ("$R =~ /$FOO/", {"R": "bar", "FOO": "bar"}, False),
        ("$R =~ /$FOO/", {"R": "x$FOO"}, False),
        ("$R =~ /\\$FOO/", {"R": "x$FOO"}, True),
        # Undefined or empty left side is "".
        ("$UNDEF =~ /^$/", {}, True),
        ("$EMPTY =~ /^$/", {"EMPTY": ""}, True),
        ("$UNDEF !~ /^$/", {}, False),
        ("null =~ /^$/", {}, True),
        # Undefined or null right side never matches; !~ negates.
        ("$R =~ $UNDEF", {"R": "x"}, False),
        ("$R !~ $UNDEF", {"R": "x"}, True),
        ("$R =~ null", {"R": "x"}, False),
        ("$R !~ null", {"R": "x"}, True),
        # A regex in a variable (`/…/flags` value) on the right side.
        ("$R =~ $P", {"R": "v1.2", "P": "/^v\\d+/"}, True),
        ("$R =~ $P", {"R": "V1", "P": "/^v\\d+/i"}, True),
        ("$R =~ $P", {"R": "x1", "P": "/^v\\d+/"}, False),
        ("$R !~ $P", {"R": "x1", "P": "/^v\\d+/"}, True),
        ("$R =~ $P", {"R": "a/b", "P": "/^a\\/b$/"}, True),
        ("$R =~ $P", {"R": "x", "P": "/./"}, True),
        ("$R =~ $P", {"R": "ab", "P": "/$R/"}, False),
        ("$R =~ '/^rel/'", {"R": "release"}, True),
        # Not a regex: the left side must be a substring of the right side.
        ('"23" =~ "1234"', {}, True),
        ('"1234" =~ "23"', {}, False),
        ("$R =~ $P", {"R": "main", "P": "main,develop"}, True),
        ("$R =~ $P", {"R": "feature", "P": "main,develop"}, False),
        ("$R =~ $P", {"R": "(", "P": "/(/"}, True),
        ("$R =~ $P", {"P": "abc"}, True),
        ("$R =~ $P", {"R": "x", "P": ""}, False),
        ("$R =~ $P", {"R": "", "P": ""}, True),
        # Precedence and associativity.
        ("$A || $B && $C", {"A": "1"}, True),
        ("($A || $B) && $C", {"A": "1"}, False),
        ('$A == "1" || $B == "1" && $C == "1"', {"B": "1"}, False),
        ('$A == "x" == $B', {"A": "x"}, False),
        # Ruby's `&&`/`||` keep "" as a true operand.
        ("$EMPTY && $SET", {"EMPTY": "", "SET": "1"}, True),
        ("$EMPTY || $SET", {"EMPTY": "", "SET": "1"}, False),
        ("$UNDEF || $SET", {"SET": "1"}, True),
        # Regular expressions as values.
        ("/ab/", {}, True),
        ("/ab/ == /ab/", {}, True),
        ("/ab/i == /ab/", {}, False),
        ("$A == /ab/", {"A": "ab"}, False),
        # Examples from https://docs.gitlab.com/ci/jobs/job_rules/
        (
            '$CI_PIPELINE_SOURCE == "merge_request_event"',
            {"CI_PIPELINE_SOURCE": "merge_request_event"},
            True,
        ),
        (
            "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
            {"CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"},
            True,
        ),
        (
            "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
            {"CI_COMMIT_TAG": "v1", "CI_DEFAULT_BRANCH": "main"},
            False,
        ),
        ("$CI_COMMIT_TAG", {"CI_COMMIT_TAG": "v1.0.0"}, True),
        ("$CI_COMMIT_TAG", {"CI_COMMIT_BRANCH": "main"}, False),
        (
            "$CI_MERGE_REQUEST_LABELS =~ /(^|,)bug(,|$)/",
            {"CI_MERGE_REQUEST_LABELS": "docs,bug,ux"},
            True,
        ),
        (
            "$CI_MERGE_REQUEST_LABELS =~ /(^|,)bug(,|$)/",
            {"CI_MERGE_REQUEST_LABELS": "debug"},
            False,
        ),
        (
            "$CI_COMMIT_MESSAGE =~ /\\[skip tests\\]/",
            {"CI_COMMIT_MESSAGE": "Fix typo [skip tests]\n\nbody"},
            True,
        ),
        (
            '$CI_COMMIT_REF_NAME =~ /^feature/ && $CI_PIPELINE_SOURCE == "push"',
            {"CI_COMMIT_REF_NAME": "feature/x", "CI_PIPELINE_SOURCE": "push"},
            True,
        ),
        (
            '($CI_COMMIT_BRANCH == "main" || $CI_COMMIT_BRANCH == "develop") '
            "&& $MY_VARIABLE",
            {"CI_COMMIT_BRANCH": "develop", "MY_VARIABLE": "yes"},
            True,
        ),
        (
            '($CI_COMMIT_BRANCH == "main" || $CI_COMMIT_BRANCH == "develop") '
            "&& $MY_VARIABLE",
            {"CI_COMMIT_BRANCH": "develop"},
            False,
        ),
        (
            '$CI_PIPELINE_SOURCE == "schedule" && $NIGHTLY != "false"',
            {"CI_PIPELINE_SOURCE": "schedule"},
            True,
        ),
    ],
)
def test_matches(expression: str, variables: dict[str, str], holds: bool) -> None:
    assert matches(expression, variables) is holds


def test_reads_record_each_variable_read_with_its_value() -> None:
    reads: dict[str, str | None] = {}

    held = matches(
        '$CI_COMMIT_BRANCH == "main" && $DEPLOY =~ /yes/',
        {"CI_COMMIT_BRANCH": "main"},
        reads,
    )

    assert held is False
    assert reads == {"CI_COMMIT_BRANCH": "main", "DEPLOY": None}


def test_reads_skip_the_side_a_short_circuit_did_not_need() -> None:
    reads: dict[str, str | None] = {}

    matches("$A || $B", {"A": "1", "B": "2"}, reads)

    assert reads == {"A": "1"}


def test_evaluate_takes_a_parsed_tree() -> None:
    tree = parse("$CI_COMMIT_TAG =~ /^v\\d+/")

    assert evaluate(tree, {"CI_COMMIT_TAG": "v12"}) is True
    assert evaluate(tree, {"CI_COMMIT_TAG": "release"}) is False


def test_regex_values_carry_flags_in_their_source() -> None:
    value = value_of(parse("/abc/i"), {}, None)

    assert isinstance(value, Regexp)
    assert value.source == "(?i)abc"


def test_surrogates_in_variables_do_not_break_matching() -> None:
    assert matches("$R =~ /x$/", {"R": "a\udcffx"}) is True
