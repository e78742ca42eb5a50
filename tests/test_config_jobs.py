"""Jobs: every keyword's record, the short forms, and the error for each bad type."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_support import error, load

from minirunner.config.model import (
    Artifacts,
    Cache,
    Environment,
    Image,
    Job,
    Location,
    Need,
    Refs,
    Retry,
    Service,
    Trigger,
    Variable,
    frozen_map,
)

RICH = """\
stages: [build, test, deploy]
deploy:
  stage: deploy
  image:
    name: registry.example.com/tools:1.2
    entrypoint: [""]
    pull_policy: [always, if-not-present]
    docker: {user: "1000"}
  services:
    - postgres:16
    - name: redis:7
      alias: cache, kv
      command: [redis-server, --appendonly, "yes"]
      variables: {REDIS_PORT: 6380}
  variables:
    TARGET: production
    RAW: {value: "$HOME", expand: false}
  script: ./deploy.sh
  when: delayed
  start_in: 30 minutes
  allow_failure:
    exit_codes: [3, 4]
  needs:
    - build
    - job: lint
      artifacts: false
    - job: optional-job
      optional: true
    - pipeline: $PARENT_PIPELINE_ID
      job: generate
  dependencies: [build]
  artifacts:
    paths: [dist/]
    exclude: [dist/*.map]
    expire_in: 1 week
    when: always
    name: "$CI_JOB_NAME"
    untracked: true
    reports:
      junit: report.xml
      coverage_report: {coverage_format: cobertura, path: coverage.xml}
  cache:
    - key: deps
      paths: [vendor/]
      policy: pull
    - key: {files: [Gemfile.lock], prefix: gems}
      paths: [gems/]
      when: always
      fallback_keys: [main-gems]
  timeout: 1h 30m
  retry: {max: 2, when: [runner_system_failure, script_failure], exit_codes: 137}
  interruptible: true
  resource_group: production
  environment:
    name: production
    url: https://example.com
    action: start
  coverage: '/Total: \\d+%/'
  tags: [docker, linux]
build:
  stage: build
  script: make
lint:
  stage: test
  script: lint
"""


def test_every_keyword_of_a_job(tmp_path: Path) -> None:
    config = load(tmp_path, RICH)
    assert config.jobs[0] == Job(
        name="deploy",
        stage="deploy",
        script=("./deploy.sh",),
        image=Image(
            "registry.example.com/tools:1.2",
            entrypoint=("",),
            pull_policy=("always", "if-not-present"),
            user="1000",
        ),
        services=(
            Service("postgres:16"),
            Service(
                "redis:7",
                alias=("cache", "kv"),
                command=("redis-server", "--appendonly", "yes"),
                variables=frozen_map({"REDIS_PORT": Variable("6380")}),
            ),
        ),
        variables=frozen_map(
            {"TARGET": Variable("production"), "RAW": Variable("$HOME", expand=False)}
        ),
        when="delayed",
        start_in="30 minutes",
        allow_failure=False,
        allow_failure_exit_codes=(3, 4),
        needs=(
            Need("build"),
            Need("lint", artifacts=False),
            Need("optional-job", optional=True),
        ),
        dependencies=("build",),
        artifacts=Artifacts(
            paths=("dist/",),
            exclude=("dist/*.map",),
            untracked=True,
            when="always",
            expire_in="1 week",
            name="$CI_JOB_NAME",
            reports=frozen_map(
                {"junit": ("report.xml",), "coverage_report": ("coverage.xml",)}
            ),
        ),
        cache=(
            Cache(key="deps", paths=("vendor/",), policy="pull"),
            Cache(
                key_files=("Gemfile.lock",),
                key_prefix="gems",
                paths=("gems/",),
                when="always",
                fallback_keys=("main-gems",),
            ),
        ),
        timeout="1h 30m",
        retry=Retry(
            max=2, when=("runner_system_failure", "script_failure"), exit_codes=(137,)
        ),
        interruptible=True,
        resource_group="production",
        environment=Environment("production", url="https://example.com"),
        coverage="/Total: \\d+%/",
        tags=("docker", "linux"),
        location=Location(".gitlab-ci.yml", 2),
    )
    assert config.warnings == (
        ".gitlab-ci.yml:29: job 'deploy': needs on job 'generate' of pipeline "
        "$PARENT_PIPELINE_ID is ignored offline",
    )


def test_short_forms(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        job:
          script: echo
          image: alpine:3
          services: [docker:dind]
          cache: {paths: [.cache/]}
          retry: 1
          environment: review/$CI_COMMIT_REF_SLUG
          allow_failure: true
          needs: []
        """,
    )
    job = config.jobs[0]
    assert job.image == Image("alpine:3")
    assert job.services == (Service("docker:dind"),)
    assert job.cache == (Cache(paths=(".cache/",)),)
    assert job.retry == Retry(max=1)
    assert job.environment == Environment("review/$CI_COMMIT_REF_SLUG")
    assert (job.allow_failure, job.needs) == (True, ())


def test_defaults_of_a_plain_job(tmp_path: Path) -> None:
    job = load(tmp_path, "job:\n  script: [echo a, echo b]\n").jobs[0]
    assert job == Job(
        name="job",
        stage="test",
        script=("echo a", "echo b"),
        location=Location(".gitlab-ci.yml", 1),
    )


def test_manual_job_leaves_allow_failure_unset(tmp_path: Path) -> None:
    job = load(tmp_path, "job:\n  script: echo\n  when: manual\n").jobs[0]
    assert (job.when, job.allow_failure) == ("manual", None)


def test_deprecated_type_is_the_stage(tmp_path: Path) -> None:
    job = load(tmp_path, "job:\n  script: echo\n  type: deploy\n").jobs[0]
    assert job.stage == "deploy"


def test_hidden_jobs_are_not_jobs(tmp_path: Path) -> None:
    config = load(tmp_path, ".hidden:\n  nonsense: 1\njob:\n  script: echo\n")
    assert [job.name for job in config.jobs] == ["job"]


def test_trigger_jobs(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        child:
          trigger:
            include:
              - local: /ci/child.yml
              - artifact: generated.yml
                job: generate
            strategy: depend
        downstream:
          trigger: group/project
        mirror:
          trigger: {project: group/other, branch: main}
        """,
    )
    assert [job.trigger for job in config.jobs] == [
        Trigger(
            include=("ci/child.yml",),
            strategy="depend",
            external=("artifact:generate:generated.yml",),
        ),
        Trigger(project="group/project"),
        Trigger(project="group/other", branch="main"),
    ]
    assert config.jobs[0].script == ()


def test_only_and_except_forms(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        refs:
          script: echo
          only: [main, /^release-.*$/]
          except: [tags]
        complex:
          script: echo
          only:
            variables: [$DEPLOY == "yes"]
            changes: [src/**/*]
        """,
    )
    assert [(job.only, job.except_) for job in config.jobs] == [
        (Refs(refs=("main", "/^release-.*$/")), Refs(refs=("tags",))),
        (
            # GitLab deep-merges `only` over its default refs.
            Refs(
                refs=("branches", "tags"),
                variables=('$DEPLOY == "yes"',),
                changes=("src/**/*",),
            ),
            None,
        ),
    ]


def test_only_left_out_stays_unset(tmp_path: Path) -> None:
    # The implicit `only: [branches, tags]` (dropped under workflow:rules) is
    # applied when rules are evaluated, where it can be explained as implicit.
    text = "job:\n  script: echo\n  except: [tags]\n"
    job = load(tmp_path, text).jobs[0]
    assert (job.only, job.except_) == (None, Refs(refs=("tags",)))


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (
            "scrpit: echo",
            "2: job 'job': scrpit: unknown keyword (did you mean 'script'?)",
        ),
        (
            "image: [alpine]",
            "2: job 'job': image: config should be a hash or a string, not a list",
        ),
        ("image: {entrypoint: [sh]}", "2: job 'job': image:name: can't be blank"),
        (
            "image: {name: a, pull_policy: sometimes}",
            "2: job 'job': image:pull_policy: should be one of: always, never, "
            "if-not-present",
        ),
        (
            "services: alpine",
            "2: job 'job': services: config should be an array, not a string",
        ),
        ("services: [{alias: db}]", "2: job 'job': services:name: can't be blank"),
        (
            "variables: [A]",
            "2: job 'job': variables: should be a hash of key value pairs, not a list",
        ),
        (
            "variables: {A: {value: x, description: y}}",
            "2: job 'job': variables:A: uses invalid data keys: description",
        ),
        (
            "variables: {A: null}",
            "2: job 'job': variables:A: variable definition must be either a string "
            "or a hash",
        ),
        (
            "when: never",
            "2: job 'job': when: should be one of: on_success, on_failure, always, "
            "manual, delayed",
        ),
        ("when: delayed", "1: job 'job': start_in: can't be blank"),
        (
            "when: delayed\n  start_in: 2 weeks",
            "3: job 'job': start_in: should not exceed the limit",
        ),
        ("start_in: 1 hour", "2: job 'job': start_in: should be blank"),
        (
            "allow_failure: yes please",
            "2: job 'job': allow_failure: should be a hash or a boolean value",
        ),
        (
            "allow_failure: {exit_codes: [a]}",
            "2: job 'job': allow_failure:exit_codes: should be an array of integers "
            "or an integer",
        ),
        (
            "needs: build",
            "2: job 'job': needs: can only be a Hash or an Array, not a string",
        ),
        (
            "needs: [{job: build, when: always}]",
            "2: job 'job': needs: contains unknown keys: when",
        ),
        (
            "dependencies: build",
            "2: job 'job': dependencies: should be an array of strings",
        ),
        ("artifacts: [dist/]", "2: job 'job': artifacts: should be a hash, not a list"),
        (
            "artifacts: {paths: dist/}",
            "2: job 'job': artifacts:paths: should be an array of strings",
        ),
        (
            "artifacts: {expire_in: soon}",
            "2: job 'job': artifacts:expire_in: should be a duration",
        ),
        (
            "artifacts: {when: sometimes}",
            "2: job 'job': artifacts:when: should be one of: on_success, on_failure, "
            "always",
        ),
        (
            "artifacts: {expose_as: 'a*b', paths: [x]}",
            "2: job 'job': artifacts:expose_as: can contain only letters, digits, "
            "'-', '_' and spaces",
        ),
        (
            "cache: {key: a/b}",
            '2: job \'job\': cache:key: cannot contain the "/" character or be "." or '
            '".."',
        ),
        (
            "cache: {policy: always}",
            "2: job 'job': cache:policy: should be a variable or one of: pull-push, "
            "push, pull",
        ),
        (
            "cache: [{}, {}, {}, {}, {}]",
            "2: job 'job': cache: no more than 4 caches can be created",
        ),
        ("timeout: forever", "2: job 'job': timeout: should be a duration"),
        ("timeout: 2 months", "2: job 'job': timeout: should not exceed the limit"),
        ("retry: 3", "2: job 'job': retry: should be between 0 and 2"),
        (
            "retry: {max: 1, when: [sunny]}",
            "2: job 'job': retry:when: contains unknown values: sunny",
        ),
        (
            "retry: yes",
            "2: job 'job': retry: config has to be either an integer or a hash",
        ),
        (
            "interruptible: maybe",
            "2: job 'job': interruptible: should be a boolean value, not a string",
        ),
        ("tags: docker", "2: job 'job': tags: should be an array of strings"),
        (
            "environment: {url: https://x}",
            "2: job 'job': environment:name: can't be blank",
        ),
        (
            "environment: /prod",
            "2: job 'job': environment:name: can contain only letters, digits, '-', "
            "'_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end "
            "with '/'",
        ),
        (
            "environment: {name: prod, action: destroy}",
            "2: job 'job': environment:action: should be one of: start, prepare, "
            "stop, verify, access",
        ),
        (
            "coverage: 'Total: (\\d+)'",
            "2: job 'job': coverage: must be a regular expression with re2 syntax",
        ),
        (
            "resource_group: [a]",
            "2: job 'job': resource_group: should be a string, not a list",
        ),
        ("stage: [build]", "2: job 'job': stage: should be a string, not a list"),
        (
            "image: {name: 3}",
            "2: job 'job': image:name: should be a string, not a number",
        ),
        ("image: {name: ''}", "2: job 'job': image:name: can't be blank"),
        ("parallel: 0", "2: job 'job': parallel: should be between 1 and 200"),
        (
            "parallel: {matrix: {A: [1]}}",
            "2: job 'job': parallel:matrix: should be an array of hashes",
        ),
        (
            "inherit: {default: [script]}",
            "2: job 'job': inherit:default: contains unknown values: script",
        ),
        (
            "inherit: {defaults: false}",
            "2: job 'job': inherit:defaults: unknown keyword (did you mean "
            "'inherit:default'?)",
        ),
        (
            "only: main",
            "2: job 'job': only: config has to be either an array of conditions or a "
            "hash",
        ),
        (
            "only: ['/(?<=x)/']",
            "2: job 'job': only: should be an array of strings or regular expressions "
            "using re2 syntax",
        ),
        (
            "except: {refs: [main], when: x}",
            "2: job 'job': except: contains unknown keys: when",
        ),
        (
            "rules: [{if: $A}]\n  only: [main]",
            "3: job 'job': only: key may not be used with `rules`",
        ),
        (
            "trigger: child.yml",
            "3: job 'job': script: these keys cannot be used together: script, trigger",
        ),
    ],
)
def test_keyword_errors(tmp_path: Path, snippet: str, message: str) -> None:
    text = f"job:\n  {snippet}\n  script: echo\n"
    assert error(tmp_path, text) == f".gitlab-ci.yml:{message}"


def test_job_without_script(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  stage: test\n") == (
        ".gitlab-ci.yml:1: job 'job': config should implement the script:, run:, or "
        "trigger: keyword"
    )


def test_script_entries_must_be_strings(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  script:\n    - echo: hi\n") == (
        ".gitlab-ci.yml:2: job 'job': script: should be a string or a nested array "
        "of strings up to 10 levels deep"
    )


def test_empty_script(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  script: []\n") == (
        ".gitlab-ci.yml:2: job 'job': script: can't be blank"
    )


def test_a_configuration_of_hidden_jobs_only(tmp_path: Path) -> None:
    assert error(tmp_path, ".a:\n  script: echo\n") == (
        ".gitlab-ci.yml: jobs config should contain at least one visible job"
    )


@pytest.mark.parametrize(
    ("key", "line"),
    [("true", "3: job 'true'"), ("~", "3: job 'null'"), ("12", "3: job '12'")],
)
def test_a_job_name_that_is_not_a_string(tmp_path: Path, key: str, line: str) -> None:
    text = f"a:\n  script: echo\n{key}:\n  script: echo\n"
    written = line.split("'")[1]
    assert error(tmp_path, text) == (
        f".gitlab-ci.yml:{line}: a job name should be a string; write it in quotes: "
        f"'{written}':"
    )


def test_default_that_looks_like_a_job_is_a_job(tmp_path: Path) -> None:
    config = load(tmp_path, "default:\n  script: echo\n")
    assert [job.name for job in config.jobs] == ["default"]


def test_an_empty_matrix_makes_no_jobs_and_says_so(tmp_path: Path) -> None:
    config = load(tmp_path, "a:\n  script: echo\n  parallel:\n    matrix: []\n")
    assert config.jobs == ()
    assert config.warnings == (
        ".gitlab-ci.yml:4: job 'a': parallel:matrix: is empty, so the job makes no "
        "jobs",
    )


def test_a_misspelt_script_is_pointed_at(tmp_path: Path) -> None:
    assert error(tmp_path, "job:\n  stage: test\n  scirpt: [echo]\n") == (
        ".gitlab-ci.yml:1: job 'job': config should implement the script:, run:, or "
        "trigger: keyword ('scirpt' looks like 'script')"
    )
