"""!reference: splicing into scripts and rules, nesting, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from minirunner.config import load_config
from minirunner.config.model import Config
from minirunner.errors import ConfigError
from minirunner.sourcetree import DirectoryTree


def load(root: Path, text: str, **files: str) -> Config:
    for name, content in {".gitlab-ci.yml": text, **files}.items():
        (root / name).write_text(textwrap.dedent(content))
    return load_config(DirectoryTree(root))


def error(root: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(root, text)
    return str(caught.value)


def test_script_references_are_spliced_and_flattened(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .setup:
          script: [echo one, echo two]
        .more:
          script:
            - echo three
            - !reference [.setup, script]
        job:
          before_script: !reference [.setup, script]
          script:
            - echo start
            - !reference [.more, script]
            - [echo nested, [echo deeper]]
          after_script:
            - !reference [.setup, script]
        """,
    )
    job = config.jobs[0]
    assert job.before_script == ("echo one", "echo two")
    assert job.script == (
        "echo start",
        "echo three",
        "echo one",
        "echo two",
        "echo nested",
        "echo deeper",
    )
    assert job.after_script == ("echo one", "echo two")


def test_reference_sees_the_target_after_extends(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .base:
          variables: {FROM: base}
        .child:
          extends: .base
          tags: [child]
        job:
          script: echo
          variables: !reference [.child, variables]
          tags: !reference [.child, tags]
        """,
    )
    job = config.jobs[0]
    assert ({k: v.value for k, v in job.variables.items()}, job.tags) == (
        {"FROM": "base"},
        ("child",),
    )


def test_reference_to_one_variable_and_to_rules(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .vars:
          variables: {URL: https://example.com, OTHER: x}
        .rules:
          rules:
            - if: $CI_COMMIT_TAG
              when: never
        job:
          script: echo
          variables:
            URL: !reference [.vars, variables, URL]
          rules:
            - !reference [.rules, rules]
            - when: always
        """,
    )
    job = config.jobs[0]
    assert {k: v.value for k, v in job.variables.items()} == {
        "URL": "https://example.com"
    }
    assert [rule.text for rule in job.rules or ()] == [
        "if: $CI_COMMIT_TAG, when: never",
        "when: always",
    ]


def test_reference_into_an_included_file(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "include: lib.yml\njob:\n  script: !reference [.lib, script]\n",
        **{"lib.yml": ".lib:\n  script: [echo from lib]\n"},
    )
    assert config.jobs[0].script == ("echo from lib",)


def test_missing_reference_names_it(tmp_path: Path) -> None:
    text = ".a:\n  script: [echo]\njob:\n  script: !reference [.a, before_script]\n"
    assert error(tmp_path, text) == (
        '.gitlab-ci.yml:4: job \'job\': !reference [".a", "before_script"] could '
        "not be found"
    )


def test_reference_to_false_is_not_found_as_in_gitlab(tmp_path: Path) -> None:
    text = ".a:\n  interruptible: false\njob:\n  script: echo\n"
    text += "  interruptible: !reference [.a, interruptible]\n"
    assert error(tmp_path, text) == (
        '.gitlab-ci.yml:5: job \'job\': !reference [".a", "interruptible"] could '
        "not be found"
    )


def test_circular_references(tmp_path: Path) -> None:
    text = (
        ".a:\n  script: !reference [.b, script]\n"
        ".b:\n  script: !reference [.a, script]\n"
        "job:\n  script: echo\n"
    )
    assert error(tmp_path, text) == (
        '.gitlab-ci.yml:2: job \'.a\': !reference [".b", "script"] is part of a '
        "circular chain"
    )


def test_script_nesting_deeper_than_ten_levels(tmp_path: Path) -> None:
    nested = "[" * 11 + "echo" + "]" * 11
    assert error(tmp_path, f"job:\n  script: {nested}\n") == (
        ".gitlab-ci.yml:2: job 'job': script: should be a string or a nested array "
        "of strings up to 10 levels deep"
    )
