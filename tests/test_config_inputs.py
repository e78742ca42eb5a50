"""spec:inputs headers and $[[ inputs.x ]] interpolation of included files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from minirunner.config import load_config
from minirunner.config.model import Config
from minirunner.errors import ConfigError
from minirunner.sourcetree import DirectoryTree

TEMPLATE = """\
spec:
  inputs:
    stage:
      default: test
    job-prefix:
    fail-ok:
      type: boolean
      default: false
    retries:
      type: number
      default: 1
    level:
      options: [low, high]
      default: low
---
"$[[ inputs.job-prefix ]]-lint":
  stage: $[[ inputs.stage ]]
  allow_failure: $[[ inputs.fail-ok ]]
  retry: $[[ inputs.retries ]]
  script: echo "level=$[[ inputs.level ]] x=$[[ inputs.job-prefix | truncate(0,3) ]]"
"""


def load(root: Path, main: str, template: str = TEMPLATE) -> Config:
    (root / ".gitlab-ci.yml").write_text(textwrap.dedent(main))
    (root / "lint.yml").write_text(template)
    return load_config(DirectoryTree(root))


def error(root: Path, main: str, template: str = TEMPLATE) -> str:
    with pytest.raises(ConfigError) as caught:
        load(root, main, template)
    return str(caught.value)


def test_inputs_with_defaults_keep_their_types(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        include:
          - local: lint.yml
            inputs:
              job-prefix: python
              fail-ok: true
              level: high
        """,
    )
    job = config.jobs[0]
    assert (job.name, job.stage, job.allow_failure, job.retry.max) == (
        "python-lint",
        "test",
        True,
        1,
    )
    assert job.script == ('echo "level=high x=pyt"',)


def test_the_same_file_twice_with_other_inputs(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        include:
          - local: lint.yml
            inputs: {job-prefix: go}
          - local: lint.yml
            inputs: {job-prefix: js, stage: build}
        """,
    )
    assert [(job.name, job.stage) for job in config.jobs] == [
        ("go-lint", "test"),
        ("js-lint", "build"),
    ]


def test_required_input_missing(tmp_path: Path) -> None:
    assert error(tmp_path, "include: lint.yml\n") == (
        "lint.yml: spec:inputs: `job-prefix` input: required value has not been "
        "provided"
    )


def test_unknown_input(tmp_path: Path) -> None:
    main = "include:\n  - local: lint.yml\n    inputs: {job-prefix: a, colour: red}\n"
    assert error(tmp_path, main) == (
        "lint.yml: spec:inputs: unknown input arguments: colour"
    )


def test_input_of_the_wrong_type(tmp_path: Path) -> None:
    main = (
        "include:\n  - local: lint.yml\n    inputs: {job-prefix: a, fail-ok: maybe}\n"
    )
    assert error(tmp_path, main) == (
        "lint.yml: spec:inputs: `fail-ok` input: provided value is not a boolean"
    )


def test_input_outside_its_options(tmp_path: Path) -> None:
    main = "include:\n  - local: lint.yml\n    inputs: {job-prefix: a, level: mid}\n"
    assert error(tmp_path, main) == (
        "lint.yml: spec:inputs: `level` input: `mid` cannot be used because it is not "
        "in the list of allowed options"
    )


def test_inputs_for_a_file_without_header(tmp_path: Path) -> None:
    main = "include:\n  - local: lint.yml\n    inputs: {a: b}\n"
    assert error(tmp_path, main, "job:\n  script: echo\n") == (
        "lint.yml: Given inputs not defined in the `spec` section of the included "
        "configuration file"
    )


def test_unknown_interpolation_key(tmp_path: Path) -> None:
    template = "spec:\n  inputs:\n    a:\n      default: x\n---\njob:\n"
    template += "  script: echo $[[ inputs.b ]]\n"
    assert error(tmp_path, "include: lint.yml\n", template) == (
        "lint.yml: $[[ ]]: unknown interpolation key: `b`"
    )


def test_main_file_header_uses_defaults(tmp_path: Path) -> None:
    main = "spec:\n  inputs:\n    flavour:\n      default: vanilla\n---\n"
    main += "job:\n  script: echo $[[ inputs.flavour ]]\n"
    (tmp_path / ".gitlab-ci.yml").write_text(main)
    config = load_config(DirectoryTree(tmp_path))
    assert config.jobs[0].script == ("echo vanilla",)
    assert config.jobs[0].location.line == 6


def test_file_without_header_is_not_interpolated(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  script: echo $[[ inputs.x ]]\n")
    config = load_config(DirectoryTree(tmp_path))
    assert config.jobs[0].script == ("echo $[[ inputs.x ]]",)
