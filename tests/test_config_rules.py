"""rules and workflow: records, the one-line text, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import error, load

from minirunner.config.model import Need, Rule, Variable, Workflow, frozen_map
from minirunner.errors import ExpressionError


def test_every_rule_clause(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        build:
          stage: build
          script: echo
        job:
          script: echo
          rules:
            - if: $CI_COMMIT_TAG
              when: never
            - if: $CI_PIPELINE_SOURCE == "merge_request_event"
              changes:
                paths: [src/**/*]
                compare_to: refs/heads/main
              allow_failure: true
              variables: {LEVEL: 2}
              needs: [build]
            - exists: Dockerfile
              when: delayed
              start_in: 10 minutes
              interruptible: false
            - changes: [docs/*]
              when: manual
            - when: on_success
        """,
    )
    assert config.jobs[1].rules == (
        Rule(
            if_="$CI_COMMIT_TAG", when="never", text="if: $CI_COMMIT_TAG, when: never"
        ),
        Rule(
            if_='$CI_PIPELINE_SOURCE == "merge_request_event"',
            changes=("src/**/*",),
            compare_to="refs/heads/main",
            allow_failure=True,
            variables=frozen_map({"LEVEL": Variable("2")}),
            needs=(Need("build"),),
            text='if: $CI_PIPELINE_SOURCE == "merge_request_event", changes: '
            "{paths: [src/**/*], compare_to: refs/heads/main}, allow_failure: true, "
            "variables: {LEVEL: 2}, needs: [build]",
        ),
        Rule(
            exists=("Dockerfile",),
            when="delayed",
            start_in="10 minutes",
            interruptible=False,
            text="exists: Dockerfile, when: delayed, start_in: 10 minutes, "
            "interruptible: false",
        ),
        Rule(
            changes=("docs/*",), when="manual", text="changes: [docs/*], when: manual"
        ),
        Rule(when="on_success", text="when: on_success"),
    )
    assert config.jobs[1].only is None


def test_workflow(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        workflow:
          name: Pipeline for $CI_COMMIT_REF_NAME
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              variables: {DEPLOY: "true"}
            - when: never
        job:
          script: echo
        """,
    )
    assert config.workflow == Workflow(
        rules=(
            Rule(
                if_='$CI_COMMIT_BRANCH == "main"',
                variables=frozen_map({"DEPLOY": Variable("true")}),
                text='if: $CI_COMMIT_BRANCH == "main", variables: {DEPLOY: true}',
            ),
            Rule(when="never", text="when: never"),
        ),
        name="Pipeline for $CI_COMMIT_REF_NAME",
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "- if: $A\n      when: later",
            "5: job 'job': rules:when: unknown value: later",
        ),
        ("- when: delayed", "4: job 'job': rules:start_in: can't be blank"),
        (
            "- when: always\n      start_in: 1 day",
            "4: job 'job': rules: contains disallowed keys: start_in",
        ),
        (
            "- if: $A\n      script: echo",
            "5: job 'job': rules: contains unknown keys: script",
        ),
        (
            "- changes: src/",
            "4: job 'job': rules:changes: should be an array or a hash",
        ),
        (
            "- changes: {compare_to: main}",
            "4: job 'job': rules:changes: missing required keys: paths",
        ),
        (
            "- exists: {paths: [a], branch: main}",
            "4: job 'job': rules:exists: contains unknown keys: branch",
        ),
        ("- if: [$A]", "4: job 'job': rules:if: should be a string, not a list"),
        ("- $A", "4: job 'job': rules: config should be a hash, not a string"),
        (
            "always",
            "3: job 'job': rules: should be an array containing hashes and arrays of "
            "hashes",
        ),
    ],
)
def test_rule_errors(tmp_path: Path, rules: str, message: str) -> None:
    text = f"job:\n  script: echo\n  rules:\n    {rules}\n"
    if not rules.startswith("-"):
        text = f"job:\n  script: echo\n  rules: {rules}\n"
    assert error(tmp_path, text) == f".gitlab-ci.yml:{message}"


def test_expression_syntax_is_checked_at_load(tmp_path: Path) -> None:
    text = 'job:\n  script: echo\n  rules:\n    - if: $A == "x"\n    - if: ${B}\n'
    with pytest.raises(ExpressionError) as caught:
        load(tmp_path, text)
    assert str(caught.value).startswith(".gitlab-ci.yml:5: job 'job': rules:if: ")
    assert str(caught.value).endswith("at column 1 of '${B}'")


def test_workflow_when_is_always_or_never(tmp_path: Path) -> None:
    text = "workflow:\n  rules:\n    - when: manual\njob:\n  script: echo\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:3: workflow:rules:when: unknown value: manual"
    )


def test_workflow_unknown_key(tmp_path: Path) -> None:
    text = "workflow:\n  when: always\njob:\n  script: echo\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:2: workflow: contains unknown keys: when"
    )
