"""extends: reverse deep merge, several parents and levels, null, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from minirunner.config import expanded_config, load_config
from minirunner.config.model import Config
from minirunner.errors import ConfigError
from minirunner.sourcetree import DirectoryTree


def write(root: Path, files: dict[str, str]) -> DirectoryTree:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return DirectoryTree(root)


def load(root: Path, text: str, **files: str) -> Config:
    return load_config(write(root, {".gitlab-ci.yml": text, **files}))


def error(root: Path, text: str, **files: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(root, text, **files)
    return str(caught.value)


def test_closest_scope_wins_and_hashes_merge(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .base:
          stage: build
          script: [echo base]
          tags: [a, b]
          variables: {A: base, B: base}
          artifacts: {paths: [out/], expire_in: 1 day}
        job:
          extends: .base
          tags: [c]
          variables: {B: job}
          artifacts: {expire_in: 2 days}
        """,
    )
    job = config.jobs[0]
    assert job.stage == "build"
    assert job.script == ("echo base",)
    assert job.tags == ("c",)
    assert {k: v.value for k, v in job.variables.items()} == {"A": "base", "B": "job"}
    assert job.artifacts is not None
    assert (job.artifacts.paths, job.artifacts.expire_in) == (("out/",), "2 days")


def test_later_parents_win_over_earlier_ones(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .a: {stage: build, script: [echo a], variables: {X: a, Y: a}}
        .b: {stage: deploy, variables: {X: b}}
        job:
          extends: [.a, .b]
        """,
    )
    job = config.jobs[0]
    assert (job.stage, job.script) == ("deploy", ("echo a",))
    assert {k: v.value for k, v in job.variables.items()} == {"X": "b", "Y": "a"}


def test_several_levels(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .one: {script: [echo one], variables: {ONE: "1"}}
        .two: {extends: .one, variables: {TWO: "2"}}
        .three: {extends: .two, variables: {THREE: "3"}}
        job: {extends: .three}
        """,
    )
    assert list(config.jobs[0].variables) == ["ONE", "TWO", "THREE"]


def test_null_removes_an_inherited_value(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        .base:
          script: echo
          variables: {A: "1"}
          image: alpine
        job:
          extends: .base
          variables: null
          image: null
        """,
    )
    job = config.jobs[0]
    assert (dict(job.variables), job.image) == ({}, None)


def test_extends_across_included_files(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "include: templates.yml\njob:\n  extends: .template\n",
        **{"templates.yml": ".template:\n  stage: deploy\n  script: echo\n"},
    )
    assert config.jobs[0].stage == "deploy"


def test_error_in_an_inherited_keyword_points_at_the_parent(tmp_path: Path) -> None:
    message = error(
        tmp_path,
        "include: templates.yml\njob:\n  extends: .template\n",
        **{"templates.yml": ".template:\n  script: echo\n  when: later\n"},
    )
    assert message == (
        "templates.yml:3: job 'job': when: should be one of: on_success, on_failure, "
        "always, manual, delayed"
    )


def test_unknown_parent(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  script: echo\n  extends: .missing\n") == (
        ".gitlab-ci.yml:3: job 'job': extends: unknown keys in `extends` (.missing)"
    )


def test_unknown_parent_deeper_names_the_chain(tmp_path: Path) -> None:
    message = error(
        tmp_path, "job:\n  extends: .a\n  script: echo\n.a:\n  extends: .missing\n"
    )
    assert message == (
        ".gitlab-ci.yml:5: job '.a': extends: unknown keys in `extends` (.missing) "
        "(chain: job -> .a)"
    )


def test_parent_must_be_a_hash(tmp_path: Path) -> None:
    assert error(tmp_path, ".list: [a]\njob:\n  extends: .list\n  script: echo\n") == (
        ".gitlab-ci.yml:3: job 'job': extends: invalid base hashes in `extends` (.list)"
    )


def test_circular_extends_names_the_chain(tmp_path: Path) -> None:
    message = error(
        tmp_path,
        "job:\n  extends: .a\n  script: echo\n"
        ".a:\n  extends: .b\n.b:\n  extends: job\n",
    )
    assert message == (
        ".gitlab-ci.yml:2: job 'job': extends: circular dependency detected in "
        "`extends` (chain: job -> .a -> .b -> job)"
    )


def test_eleven_levels_are_the_limit(tmp_path: Path) -> None:
    chain = ".l0:\n  script: echo\n" + "".join(
        f".l{level}:\n  extends: .l{level - 1}\n" for level in range(1, 12)
    )
    assert load(tmp_path, chain + "job:\n  extends: .l10\n").jobs[0].script
    assert error(tmp_path, chain + "job:\n  extends: .l11\n") == (
        ".gitlab-ci.yml:4: job '.l1': extends: nesting too deep in `extends` "
        "(chain: job -> .l11 -> .l10 -> .l9 -> .l8 -> .l7 -> .l6 -> .l5 -> .l4 -> "
        ".l3 -> .l2 -> .l1)"
    )


def test_extends_must_name_strings(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  script: echo\n  extends: [1]\n") == (
        ".gitlab-ci.yml:3: job 'job': extends: should be an array of strings or a "
        "string"
    )


def test_expanded_config_shows_the_merged_result(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        {
            ".gitlab-ci.yml": """
                include: base.yml
                stages: [build]
                job:
                  extends: .base
                  script: !reference [.base, before]
            """,
            "base.yml": ".base:\n  before: [echo hi]\n  tags: [x]\n",
        },
    )
    assert expanded_config(tree) == {
        ".base": {"before": ["echo hi"], "tags": ["x"]},
        "stages": [".pre", "build", ".post"],
        "job": {
            "before": ["echo hi"],
            "tags": ["x"],
            "extends": ".base",
            "script": ["echo hi"],
        },
    }
