"""`minirunner explain`: which rule decided each job, with the values it read."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo, git, write_files

from minirunner.context import Options
from minirunner.errors import UsageError
from minirunner.explain import explain
from minirunner.session import load_pipeline

PIPELINE = """
stages: [build, test, deploy]
variables:
  DEPLOY: "yes"
build:
  stage: build
  script: [echo build]
  rules:
    - if: $CI_COMMIT_TAG
    - if: $CI_COMMIT_BRANCH == "main" && $DEPLOY
      changes: [src/**/*]
    - when: never
docs:
  stage: build
  script: [echo docs]
  rules:
    - if: $CI_COMMIT_BRANCH == "release"
      changes: [docs/*]
    - changes: [docs/*]
      when: manual
test:
  script: [echo test]
  only: [main]
  except:
    variables: [$SKIP_TESTS]
deploy:
  stage: deploy
  script: [echo deploy]
  rules:
    - if: $TOKEN == "abc"
    - exists: [Dockerfile]
      when: manual
.template:
  script: [echo never]
"""


@pytest.fixture
def repo(make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    repo = make_repo({".gitlab-ci.yml": PIPELINE, "src/a.py": "a\n"})
    write_files(repo, {"src/b.py": "b\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add b")
    write_files(
        repo, {".minirunner/variables.yml": "TOKEN: {value: abcdefgh1, masked: true}\n"}
    )
    return repo


def explained(repo: Path, *names: str) -> str:
    pipeline = load_pipeline(Options(cwd=repo))
    return explain(pipeline.context, pipeline.plan, names, masked=pipeline.user.masked)


def test_if_and_changes_with_the_values_read(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD~1")[:8]
    assert explained(repo, "build") == (
        f"rules:changes compare with {base}, the commit before HEAD: 1 file changed\n"
        "  src/b.py\n"
        "\n"
        "build (stage build) ✓ in the pipeline: rule 2 matched\n"
        "  when: on_success · allow_failure: no · needs: stage order\n"
        "  ✗ rule 1  if: $CI_COMMIT_TAG\n"
        "      ✗ if       false\n"
        "                 $CI_COMMIT_TAG is not defined\n"
        '  ✓ rule 2  if: $CI_COMMIT_BRANCH == "main" && $DEPLOY, '
        "changes: [src/**/*]  ← decides\n"
        "      ✓ if       true\n"
        '                 $CI_COMMIT_BRANCH = "main"\n'
        '                 $DEPLOY = "yes"\n'
        "      ✓ changes  true: src/b.py matches src/**/*\n"
        "  · rule 3  when: never\n"
        "      (not reached: an earlier rule decided)\n"
    )


def test_changes_that_match_nothing_and_clauses_not_evaluated(repo: Path) -> None:
    text = explained(repo, "docs")
    assert text.split("\n\n", 1)[1] == (
        "docs (stage build) ✗ not in the pipeline: no rule matched\n"
        '  ✗ rule 1  if: $CI_COMMIT_BRANCH == "release", changes: [docs/*]\n'
        "      ✗ if       false\n"
        '                 $CI_COMMIT_BRANCH = "main"\n'
        "      · changes  not evaluated (an earlier clause is false)\n"
        "  ✗ rule 2  changes: [docs/*], when: manual\n"
        "      ✗ changes  false: no changed file matches\n"
    )


def test_exists_and_a_masked_value(repo: Path) -> None:
    assert explained(repo, "deploy") == (
        "\n"
        "deploy (stage deploy) ✗ not in the pipeline: no rule matched\n"
        '  ✗ rule 1  if: $TOKEN == "abc"\n'
        "      ✗ if       false\n"
        '                 $TOKEN = "[MASKED]"\n'
        "  ✗ rule 2  exists: [Dockerfile], when: manual\n"
        "      ✗ exists   false: no file matches\n"
    )


def test_exists_that_finds_a_file(repo: Path) -> None:
    write_files(repo, {"Dockerfile": "FROM scratch\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add a Dockerfile")
    text = explained(repo, "deploy")
    assert text.endswith(
        "deploy (stage deploy) ✓ in the pipeline: rule 2 matched\n"
        "  when: manual · allow_failure: no · needs: stage order\n"
        '  ✗ rule 1  if: $TOKEN == "abc"\n'
        "      ✗ if       false\n"
        '                 $TOKEN = "[MASKED]"\n'
        "  ✓ rule 2  exists: [Dockerfile], when: manual  ← decides\n"
        "      ✓ exists   true: Dockerfile matches Dockerfile\n"
    )


def test_only_and_except(repo: Path) -> None:
    assert explained(repo, "test") == (
        "\n"
        "test (stage test) ✓ in the pipeline: included: only: main matched; "
        "except: variables: [$SKIP_TESTS] did not\n"
        "  when: on_success · allow_failure: no · needs: stage order\n"
        "  ✓ only:   main  (matches)\n"
        "  ✓ except: variables: [$SKIP_TESTS]  (no match)\n"
        "             $SKIP_TESTS is not defined\n"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            ".template",
            "'.template' names a hidden job: a name that starts with a dot is a "
            "template for `extends` or `!reference`, and GitLab never runs it",
        ),
        ("biuld", "no job named 'biuld' in the configuration; did you mean 'build'?"),
        ("variables", "'variables' is a global keyword of .gitlab-ci.yml, not a job"),
    ],
)
def test_why_a_job_is_absent(repo: Path, name: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        explained(repo, name)
    assert raised.value.format_message() == message


def test_workflow_rules_that_prevent_the_pipeline(make_repo: MakeRepo) -> None:
    config = "workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\njob:\n  script: [echo]\n"
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "explain", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "workflow:rules: no pipeline is created: no workflow rule matched, so "
        "GitLab creates no pipeline",
        "  ✗ rule 1  if: $CI_COMMIT_TAG",
        "      ✗ if       false",
        "                 $CI_COMMIT_TAG is not defined",
    ]


def test_skip_ci_is_named_as_what_prevents_the_pipeline(make_repo: MakeRepo) -> None:
    config = "workflow:\n  rules:\n    - when: always\njob:\n  script: [echo]\n"
    repo = make_repo({".gitlab-ci.yml": config}, message="Fix a typo [skip ci]")
    done = minirunner(repo, "explain", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "no pipeline is created: the commit message says [skip ci], so GitLab "
        "creates no push pipeline (`--source web` runs it all the same)",
    ]


EMPTIED = (
    "no pipeline is created: Pipeline will not run for the selected trigger. The "
    "rules configuration prevented any jobs from being added to the pipeline."
)


def test_no_pipeline_because_every_job_is_ruled_out(make_repo: MakeRepo) -> None:
    config = "job:\n  script: [echo]\n  rules:\n    - if: $CI_COMMIT_TAG\n"
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "explain", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        EMPTIED,
        "",
        "job (stage test) ✗ not in the pipeline: no rule matched",
        "  ✗ rule 1  if: $CI_COMMIT_TAG",
        "      ✗ if       false",
        "                 $CI_COMMIT_TAG is not defined",
    ]


def test_passing_workflow_rules_and_every_job_ruled_out(make_repo: MakeRepo) -> None:
    config = (
        "workflow:\n  rules:\n    - if: $CI_COMMIT_BRANCH\n"
        "job:\n  script: [echo]\n  rules:\n    - when: never\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "explain", "job", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        EMPTIED,
        "workflow:rules: passed",
        "  ✓ rule 1  if: $CI_COMMIT_BRANCH  ← decides",
        "      ✓ if       true",
        '                 $CI_COMMIT_BRANCH = "main"',
        "",
        "job (stage test) ✗ not in the pipeline: rule 1 matched, with when: never",
        "  ✓ rule 1  when: never  ← decides",
        "      ✓ no condition: a rule without if, changes or exists always matches",
    ]


def test_every_unknown_name_gets_its_reason_in_one_line(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": "unit:\n  script: [echo u]\n"})
    done = minirunner(repo, "explain", "unti", "stages")
    assert done.returncode == 2
    assert done.stderr == (
        "Error: no job named 'unti' in the configuration; did you mean 'unit'?; "
        "'stages' is a global keyword of .gitlab-ci.yml, not a job\n"
    )


def test_list_names_each_ruled_out_job_when_none_is_left(make_repo: MakeRepo) -> None:
    config = (
        "build:\n  script: [echo]\n  rules:\n    - if: $CI_COMMIT_TAG\n"
        "deploy:\n  script: [echo]\n  rules:\n    - when: never\n"
    )
    repo = make_repo({".gitlab-ci.yml": config})
    done = minirunner(repo, "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "No pipeline: Pipeline will not run for the selected trigger. The rules "
        "configuration prevented any jobs from being added to the pipeline.",
        "not in the pipeline: build (no rule matched)",
        "not in the pipeline: deploy (rule 1 matched: when: never)",
    ]
