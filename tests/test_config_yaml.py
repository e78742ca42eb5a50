"""YAML reading: Psych's merge keys and duplicates, scalars, limits, bad files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from minirunner.config import load_config
from minirunner.config.model import Config
from minirunner.errors import ConfigError
from minirunner.sourcetree import DirectoryTree


def load(root: Path, text: str | bytes, **files: str) -> Config:
    data = text if isinstance(text, bytes) else textwrap.dedent(text).encode()
    (root / ".gitlab-ci.yml").write_bytes(data)
    for name, content in files.items():
        (root / name).write_text(textwrap.dedent(content))
    return load_config(DirectoryTree(root))


def error(root: Path, text: str | bytes) -> str:
    with pytest.raises(ConfigError) as caught:
        load(root, text)
    return str(caught.value)


def test_merge_key_overrides_keys_before_it_as_psych_does(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .base: &base
          stage: build
          script: [echo base]
        job:
          stage: deploy
          <<: *base
          script: [echo own]
        """,
    )
    job = config.jobs[0]
    assert (job.stage, job.script) == ("build", ("echo own",))


def test_repeated_merge_keys_apply_in_order(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .a: &a {stage: build, tags: [a]}
        .b: &b {stage: deploy}
        job:
          <<: *a
          <<: *b
          script: echo
        """,
    )
    assert (config.jobs[0].stage, config.jobs[0].tags) == ("deploy", ("a",))


def test_merge_key_list_prefers_earlier_maps(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .a: &a {stage: build}
        .b: &b {stage: deploy, tags: [b]}
        job:
          <<: [*a, *b]
          script: echo
        """,
    )
    assert (config.jobs[0].stage, config.jobs[0].tags) == ("build", ("b",))


def test_duplicate_keys_last_wins_with_a_warning(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        job:
          script: echo first
          script: echo second
        """,
    )
    assert config.jobs[0].script == ("echo second",)
    assert config.warnings == (
        ".gitlab-ci.yml:4: duplicate key 'script' (the last one wins, as on GitLab)",
    )


def test_scalars_become_strings_as_ruby_writes_them(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        variables:
          INT: 1
          HEX: 0x10
          FLOAT: 1.50
          BIG: 1.0e+20
          BOOL: true
          SWITCH: on
          TEXT: "007"
          EMPTY: ""
        job:
          script: echo
        """,
    )
    values = {name: variable.value for name, variable in config.variables.items()}
    assert values == {
        "INT": "1",
        "HEX": "16",
        "FLOAT": "1.5",
        "BIG": "1.0e+20",
        "BOOL": "true",
        "SWITCH": "true",
        "TEXT": "007",
        "EMPTY": "",
    }


def test_yaml_boolean_key_is_not_a_variable_name(tmp_path: Path) -> None:
    # YAML 1.1 reads the key `YES` as true, in Psych as in PyYAML.
    assert error(tmp_path, "variables:\n  YES: 1\njob:\n  script: echo\n") == (
        ".gitlab-ci.yml:2: variables:true: variable name must be an alphanumeric string"
    )


def test_unquoted_date_is_refused_like_gitlab(tmp_path: Path) -> None:
    text = "variables:\n  RELEASE: 2024-01-15\njob:\n  script: echo\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:2: unquoted date or time '2024-01-15' is not allowed "
        "(GitLab refuses it); put it in quotes"
    )


def test_tab_indentation_names_the_line(tmp_path: Path) -> None:
    text = "job:\n  script: echo\n\tstage: test\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:3: invalid YAML: tab character where YAML allows only "
        "spaces for indentation"
    )


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    text = b"job:\n  script: echo\n  stage: t\xe9st\n"
    assert error(tmp_path, text) == ".gitlab-ci.yml:3: file is not valid UTF-8"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    config = load(tmp_path, b"\xef\xbb\xbfjob:\n  script: echo\n")
    assert config.jobs[0].name == "job"


def test_top_level_list_is_refused(tmp_path: Path) -> None:
    assert error(tmp_path, "- job\n") == (
        ".gitlab-ci.yml:1: invalid configuration format: expected a mapping of keys, "
        "found a list"
    )


def test_comment_only_file_is_empty(tmp_path: Path) -> None:
    assert error(tmp_path, "# nothing here\n") == (
        ".gitlab-ci.yml: the configuration is empty: it defines no jobs"
    )


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  script: [echo\n  stage: test\n") == (
        ".gitlab-ci.yml:3: invalid YAML: while parsing a flow sequence: "
        "did not find expected ',' or ']'"
    )


def test_alias_bomb_is_refused_before_expanding(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    lines.append("job:\n  script: echo")
    assert error(tmp_path, "\n".join(lines) + "\n") == (
        ".gitlab-ci.yml:6: configuration too large: more than 1000000 values once "
        "YAML aliases are expanded"
    )


def test_alias_to_itself_is_refused(tmp_path: Path) -> None:
    assert error(tmp_path, "a: &a [1, *a]\n") == (
        ".gitlab-ci.yml:1: a YAML alias refers to itself"
    )


def test_unknown_tag_is_refused(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  script: !!binary aGVsbG8=\n") == (
        ".gitlab-ci.yml:2: unsupported YAML tag 'tag:yaml.org,2002:binary'"
    )


def test_reference_must_be_a_list_of_strings(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  script: !reference [.a, 1]\n") == (
        '.gitlab-ci.yml:2: !reference [".a", 1] is not valid'
    )


def test_more_than_two_documents_are_refused(tmp_path: Path) -> None:
    text = "spec: {}\n---\na: 1\n---\nb: 2\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:5: too many YAML documents: at most a `spec:` header and "
        "the configuration"
    )


def test_first_of_two_documents_must_be_a_header(tmp_path: Path) -> None:
    text = "a: 1\n---\njob:\n  script: echo\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:1: the first of two YAML documents must be a `spec:` header"
    )


def test_job_location_is_the_line_of_its_key(tmp_path: Path) -> None:
    config = load(tmp_path, "\n\nfirst:\n  script: echo\nsecond:\n  script: echo\n")
    assert [(job.name, job.location.line) for job in config.jobs] == [
        ("first", 3),
        ("second", 5),
    ]
