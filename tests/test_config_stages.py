"""stages, and the checks GitLab makes across jobs: needs, dependencies, on_stop."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import error, load

from minirunner.config.model import Need


def test_default_stages(tmp_path: Path) -> None:
    config = load(tmp_path, "job:\n  script: echo\n")
    assert config.stages == (".pre", "build", "test", "deploy", ".post")


def test_edge_stages_always_come_first_and_last(tmp_path: Path) -> None:
    text = (
        "stages: [.post, lint, .pre, ship, lint]\njob:\n  stage: .pre\n  script: echo\n"
    )
    assert load(tmp_path, text).stages == (".pre", "lint", "ship", ".post")


def test_deprecated_types(tmp_path: Path) -> None:
    text = "types: [one, two]\njob:\n  stage: two\n  script: echo\n"
    assert load(tmp_path, text).stages == (".pre", "one", "two", ".post")


def test_stages_must_be_strings(tmp_path: Path) -> None:
    assert error(tmp_path, "stages: build\njob:\n  script: echo\n") == (
        ".gitlab-ci.yml:1: stages: should be an array of strings"
    )


def test_job_default_stage_test_must_exist(tmp_path: Path) -> None:
    assert error(tmp_path, "stages: [build]\njob:\n  script: echo\n") == (
        ".gitlab-ci.yml:2: job 'job': stage: chosen stage test does not exist; "
        "available stages are .pre, build, .post"
    )


def test_needs_in_the_same_or_earlier_stage(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        a:
          stage: build
          script: echo
        b:
          stage: build
          script: echo
          needs: [a]
        c:
          script: echo
          needs: [a, b, {job: gone, optional: true}]
        """,
    )
    assert config.jobs[2].needs == (Need("a"), Need("b"), Need("gone", optional=True))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a:\n  script: x\n  needs: [b]\nb:\n  stage: deploy\n  script: x\n",
            "3: job 'a': needs: need b is not defined in current or prior stages",
        ),
        (
            "a:\n  script: x\n  needs: [nothing]\n",
            "3: job 'a': needs: undefined need: nothing",
        ),
        (
            "a:\n  script: x\nb:\n  script: x\n  needs: [a, a]\n",
            "5: job 'b': needs: has the following needs duplicated: a.",
        ),
        (
            "a:\n  script: x\n  needs: [b]\nb:\n  script: x\n  needs: [c]\n"
            "c:\n  script: x\n  needs: [a]\n",
            "3: job 'a': needs: needs form a cycle: a -> b -> c -> a",
        ),
        (
            "a:\n  script: x\n  dependencies: [b]\nb:\n  stage: deploy\n  script: x\n",
            "3: job 'a': dependencies: dependency b is not defined in current or "
            "prior stages",
        ),
        (
            "a:\n  script: x\n  dependencies: [nothing]\n",
            "3: job 'a': dependencies: undefined dependency: nothing",
        ),
        (
            "a:\n  stage: build\n  script: x\nb:\n  script: x\nc:\n  script: x\n"
            "  needs: [a]\n  dependencies: [a, b]\n",
            "9: job 'c': dependencies: the b should be part of needs",
        ),
    ],
)
def test_needs_and_dependencies_errors(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text) == f".gitlab-ci.yml:{message}"


def test_on_stop_checks(tmp_path: Path) -> None:
    text = """
        deploy:
          script: echo
          environment: {name: review, on_stop: stop}
        stop:
          script: echo
          when: manual
          environment: {name: review, action: stop}
    """
    assert load(tmp_path, text).jobs[1].environment is not None
    wrong = text.replace("action: stop", "action: start")
    assert error(tmp_path, wrong) == (
        ".gitlab-ci.yml:4: job 'deploy': environment:on_stop: on_stop job stop needs "
        "to have action stop defined"
    )
    missing = text.replace("on_stop: stop", "on_stop: halt")
    assert error(tmp_path, missing) == (
        ".gitlab-ci.yml:4: job 'deploy': environment:on_stop: on_stop job halt is not "
        "defined"
    )
