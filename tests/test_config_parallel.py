"""parallel: numbered and matrix jobs, and needs/dependencies on them."""

from __future__ import annotations

from pathlib import Path

from config_support import error, load

from minirunner.config.model import Need


def test_numbered_jobs(tmp_path: Path) -> None:
    config = load(tmp_path, "test:\n  script: echo\n  parallel: 3\n")
    assert [(job.name, job.node_index, job.node_total) for job in config.jobs] == [
        ("test 1/3", 1, 3),
        ("test 2/3", 2, 3),
        ("test 3/3", 3, 3),
    ]


def test_matrix_names_variables_and_order(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        deploy:
          script: echo
          variables: {PROVIDER: none, KEEP: yes}
          parallel:
            matrix:
              - PROVIDER: aws
                STACK: [monitoring, app1]
              - PROVIDER: [gcp, vultr]
                STACK: data
                VERSION: 3
        """,
    )
    assert [
        (
            job.name,
            job.node_index,
            job.node_total,
            {k: v.value for k, v in job.variables.items()},
        )
        for job in config.jobs
    ] == [
        (
            "deploy: [aws, monitoring]",
            1,
            4,
            {"PROVIDER": "aws", "KEEP": "true", "STACK": "monitoring"},
        ),
        (
            "deploy: [aws, app1]",
            2,
            4,
            {"PROVIDER": "aws", "KEEP": "true", "STACK": "app1"},
        ),
        (
            "deploy: [gcp, data, 3]",
            3,
            4,
            {"PROVIDER": "gcp", "KEEP": "true", "STACK": "data", "VERSION": "3"},
        ),
        (
            "deploy: [vultr, data, 3]",
            4,
            4,
            {"PROVIDER": "vultr", "KEEP": "true", "STACK": "data", "VERSION": "3"},
        ),
    ]


def test_needs_and_dependencies_name_every_instance(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        build:
          stage: build
          script: echo
          parallel:
            matrix:
              - OS: [linux, mac]
                ARCH: [amd64, arm64]
        test:
          script: echo
          needs: [{job: build, artifacts: false}]
          dependencies: [build]
        package:
          stage: deploy
          script: echo
          needs:
            - job: build
              parallel:
                matrix:
                  - OS: linux
                    ARCH: [arm64]
        """,
    )
    test, package = config.jobs[4], config.jobs[5]
    names = [
        "build: [linux, amd64]",
        "build: [linux, arm64]",
        "build: [mac, amd64]",
        "build: [mac, arm64]",
    ]
    assert test.needs == tuple(Need(name, artifacts=False) for name in names)
    assert test.dependencies == tuple(names)
    assert package.needs == (Need("build: [linux, arm64]"),)


MATRIX_EXPRESSIONS = """
build:
  stage: build
  script: echo
  parallel:
    matrix:
      - OS: [linux, mac]
        ARCH: [amd64, arm64]
test:
  script: echo
  parallel:
    matrix:
      - OS: [linux, mac]
        ARCH: [arm64]
  needs:
    - job: build
      parallel:
        matrix:
          - OS: ['$[[ matrix.OS ]]']
            ARCH: '$[[ matrix.ARCH ]]'
"""


def test_matrix_expressions_map_instances_one_to_one(tmp_path: Path) -> None:
    config = load(tmp_path, MATRIX_EXPRESSIONS)
    assert {job.name: job.needs for job in config.jobs[4:]} == {
        "test: [linux, arm64]": (Need("build: [linux, arm64]"),),
        "test: [mac, arm64]": (Need("build: [mac, arm64]"),),
    }


def test_a_matrix_expression_naming_no_identifier(tmp_path: Path) -> None:
    text = MATRIX_EXPRESSIONS.replace("matrix.ARCH", "matrix.CPU")
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:15: job 'test': needs: $[[ matrix.CPU ]] names no "
        "identifier of the job's parallel:matrix (it has ARCH, OS)"
    )


def test_matrix_is_limited_to_200_jobs(tmp_path: Path) -> None:
    values = ", ".join(str(n) for n in range(21))
    text = "job:\n  script: echo\n  parallel:\n    matrix:\n"
    text += f"      - A: [{values}]\n        B: [{values[:28]}]\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:4: job 'job': parallel:matrix: generates too many jobs "
        "(maximum is 200)"
    )


def test_trigger_jobs_take_only_matrix(tmp_path: Path) -> None:
    text = "child:\n  trigger: {include: a.yml}\n  parallel: 2\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:3: job 'child': parallel: cannot use \"parallel: <number>\"."
    )
