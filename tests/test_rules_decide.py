"""Workflow and job decisions: rules, only/except, allow_failure defaults, traces."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import MakeRepo, write_files

from minirunner.config.model import (
    Job,
    Location,
    Need,
    Refs,
    Rule,
    Trigger,
    Variable,
    Workflow,
)
from minirunner.errors import ConfigError
from minirunner.rules.decide import (
    Decision,
    RuleInputs,
    decide_job,
    decide_workflow,
)
from minirunner.rules.trace import PathMatch
from minirunner.sourcetree import DirectoryTree

NO_DIFF = "always true: no push diff to compare (tag, new branch or no push)"


def no_compare(ref: str) -> frozenset[str] | None:
    raise ConfigError("rules:changes:compare_to is not a valid ref")


@pytest.fixture
def tree(tmp_path: Path) -> DirectoryTree:
    write_files(
        tmp_path / "project",
        {
            "README.md": "hello\n",
            "Dockerfile": "FROM scratch\n",
            "docs/guide/index.md": "# guide\n",
            "src/app.py": "print()\n",
            "src/.config.toml": "",
        },
    )
    return DirectoryTree(tmp_path / "project")


def inputs_for(
    tree: DirectoryTree,
    *,
    variables: Mapping[str, str] | None = None,
    source: str = "push",
    ref_kind: str = "branch",
    ref_name: str = "main",
    changed: frozenset[str] | None = None,
    compare_to: object = no_compare,
) -> RuleInputs:
    return RuleInputs(
        variables=dict(variables or {}),
        source=source,
        ref_kind=ref_kind,
        ref_name=ref_name,
        changed_paths=changed,
        compare_to=compare_to,  # type: ignore[arg-type]
        tree=tree,
    )


def make_job(**fields: object) -> Job:
    return Job(name="build", stage="test", script=("true",), **fields)  # type: ignore[arg-type]


def decide(
    tree: DirectoryTree,
    job: Job,
    job_variables: Mapping[str, str] | None = None,
    *,
    workflow_has_rules: bool = False,
    **inputs: object,
) -> Decision:
    return decide_job(
        job,
        inputs_for(tree, **inputs),  # type: ignore[arg-type]
        job_variables or {},
        workflow_has_rules=workflow_has_rules,
    )


# rules: which rule matches


def test_first_matching_rule_wins(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(if_="$A"), Rule(if_="$B", when="manual")))

    decision = decide(tree, job, variables={"A": "1", "B": "1"})

    assert decision.included is True
    assert decision.when == "on_success"
    assert decision.rule_index == 1
    assert decision.reason == "rule 1 matched: if: $A"
    assert len(decision.trace) == 1


def test_later_rule_matches_and_trace_shows_each_rule_read(tree: DirectoryTree) -> None:
    job = make_job(
        rules=(
            Rule(if_='$CI_COMMIT_BRANCH == "release"'),
            Rule(if_="$CI_COMMIT_TAG", when="manual", text="if: $CI_COMMIT_TAG"),
        )
    )

    decision = decide(
        tree, job, variables={"CI_COMMIT_TAG": "v1"}, ref_kind="tag", ref_name="v1"
    )

    assert decision.reason == "rule 2 matched: if: $CI_COMMIT_TAG"
    assert decision.when == "manual"
    assert [(t.index, t.matched, dict(t.reads)) for t in decision.trace] == [
        (1, False, {"CI_COMMIT_BRANCH": None}),
        (2, True, {"CI_COMMIT_TAG": "v1"}),
    ]
    assert decision.trace[0].text == 'if: $CI_COMMIT_BRANCH == "release"'
    assert decision.trace[1].if_matched is True


def test_no_matching_rule_leaves_the_job_out(tree: DirectoryTree) -> None:
    decision = decide(tree, make_job(rules=(Rule(if_="$NOPE"),)))

    assert decision.included is False
    assert decision.when == "never"
    assert decision.reason == "no rule matched"
    assert decision.rule_index is None


def test_empty_rules_leave_the_job_out(tree: DirectoryTree) -> None:
    decision = decide(tree, make_job(rules=()))

    assert decision.included is False
    assert decision.reason == "no rule matched"


def test_a_rule_with_only_when_always_matches(tree: DirectoryTree) -> None:
    decision = decide(tree, make_job(rules=(Rule(if_="$NOPE"), Rule(when="always"))))

    assert decision.included is True
    assert decision.when == "always"
    assert decision.reason == "rule 2 matched: when: always"


def test_all_clauses_of_a_rule_must_hold(tree: DirectoryTree) -> None:
    rule = Rule(if_="$A", changes=("docs/**/*",))
    decision = decide(
        tree, make_job(rules=(rule,)), variables={"A": "1"}, changed=frozenset({"x.c"})
    )

    assert decision.included is False
    assert decision.trace[0].if_matched is True
    assert decision.trace[0].changes == PathMatch(False, note="no changed file matches")


def test_clauses_after_a_false_one_are_not_evaluated(tree: DirectoryTree) -> None:
    rule = Rule(if_="$A", changes=("*",), compare_to="nowhere", exists=("nope",))

    decision = decide(tree, make_job(rules=(rule,)))

    assert decision.trace[0].if_matched is False
    assert decision.trace[0].changes is None
    assert decision.trace[0].exists is None


def test_when_never_excludes(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(if_="$A", when="never"), Rule(when="always")))

    decision = decide(tree, job, variables={"A": "1"})

    assert decision.included is False
    assert decision.when == "never"
    assert decision.rule_index == 1
    assert decision.reason == "rule 1 matched: if: $A, when: never"


def test_rule_when_overrides_job_when(tree: DirectoryTree) -> None:
    job = make_job(when="on_failure", rules=(Rule(when="always"),))

    assert decide(tree, job).when == "always"


def test_rule_without_when_keeps_job_when(tree: DirectoryTree) -> None:
    job = make_job(when="on_failure", rules=(Rule(if_="$A"),))

    assert decide(tree, job, variables={"A": "x"}).when == "on_failure"


def test_delayed_rule_gives_start_in(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(when="delayed", start_in="30 minutes"),))

    decision = decide(tree, job)

    assert (decision.when, decision.start_in) == ("delayed", "30 minutes")


def test_job_variables_are_read_on_top_of_pipeline_variables(
    tree: DirectoryTree,
) -> None:
    job = make_job(rules=(Rule(if_='$DEPLOY == "job"'),))

    decision = decide(tree, job, {"DEPLOY": "job"}, variables={"DEPLOY": "pipeline"})

    assert decision.included is True
    assert dict(decision.trace[0].reads) == {"DEPLOY": "job"}


def test_rule_variables_needs_and_interruptible(tree: DirectoryTree) -> None:
    rule = Rule(
        if_="$A",
        variables={"TARGET": Variable("prod")},
        needs=(),
        interruptible=True,
    )
    job = make_job(rules=(rule,), needs=(Need("lint"),), interruptible=False)

    decision = decide(tree, job, variables={"A": "1"})

    assert dict(decision.variables) == {"TARGET": Variable("prod")}
    assert decision.needs == ()
    assert decision.interruptible is True


def test_job_needs_and_interruptible_stay_when_the_rule_has_none(
    tree: DirectoryTree,
) -> None:
    job = make_job(rules=(Rule(),), needs=(Need("lint"),), interruptible=True)

    decision = decide(tree, job)

    assert decision.needs == (Need("lint"),)
    assert decision.interruptible is True
    assert dict(decision.variables) == {}


# allow_failure defaults (https://docs.gitlab.com/ci/yaml/#allow_failure)


@pytest.mark.parametrize(
    ("job_fields", "rule", "when", "allow_failure", "exit_codes"),
    [
        # rules `when: manual`: blocking unless someone says otherwise
        ({}, Rule(when="manual"), "manual", False, ()),
        ({}, Rule(when="manual", allow_failure=True), "manual", True, ()),
        ({"allow_failure": True}, Rule(when="manual"), "manual", True, ()),
        # job-level `when: manual` counts, even with rules (Entry::Job#ignored?)
        ({"when": "manual"}, Rule(), "manual", True, ()),
        ({"when": "manual"}, Rule(when="manual"), "manual", True, ()),
        ({"when": "manual"}, Rule(when="on_success"), "on_success", True, ()),
        # gitlab-ci-local#1755: an explicit false stays false
        ({"when": "manual", "allow_failure": False}, Rule(), "manual", False, ()),
        ({"allow_failure": True}, Rule(allow_failure=False), "on_success", False, ()),
        ({}, Rule(), "on_success", False, ()),
        # allow_failure: {exit_codes}: false, unless the rule decides
        ({"allow_failure_exit_codes": (3,)}, Rule(), "on_success", False, (3,)),
        (
            {"allow_failure_exit_codes": (3,)},
            Rule(allow_failure=True),
            "on_success",
            True,
            (),
        ),
        # trigger jobs: `!!allow_failure`, no manual default
        (
            {"when": "manual", "trigger": Trigger(include=("c.yml",))},
            Rule(),
            "manual",
            False,
            (),
        ),
    ],
)
def test_allow_failure_with_rules(
    tree: DirectoryTree,
    job_fields: dict[str, object],
    rule: Rule,
    when: str,
    allow_failure: bool,
    exit_codes: tuple[int, ...],
) -> None:
    decision = decide(tree, make_job(rules=(rule,), **job_fields))

    assert decision.included is True
    assert decision.when == when
    assert decision.allow_failure is allow_failure
    assert decision.allow_failure_exit_codes == exit_codes


@pytest.mark.parametrize(
    ("job_fields", "allow_failure"),
    [
        ({"when": "manual"}, True),
        ({"when": "manual", "allow_failure": False}, False),
        ({}, False),
        ({"allow_failure": True}, True),
        ({"when": "manual", "trigger": Trigger(include=("c.yml",))}, False),
        ({"when": "manual", "only": Refs(refs=("main",))}, True),
    ],
)
def test_allow_failure_without_rules(
    tree: DirectoryTree, job_fields: dict[str, object], allow_failure: bool
) -> None:
    decision = decide(tree, make_job(**job_fields))

    assert decision.included is True
    assert decision.allow_failure is allow_failure


# rules:changes


def test_changes_always_hold_without_a_diff(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(changes=("docs/**/*",)),))

    decision = decide(tree, job, changed=None, ref_kind="tag", ref_name="v1")

    assert decision.included is True
    assert decision.trace[0].changes == PathMatch(True, note=NO_DIFF)


def test_changes_name_the_pattern_and_path_that_matched(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(changes=("*.txt", "src/**/*.py", "docs/*")),))

    decision = decide(
        tree, job, changed=frozenset({"src/pkg/mod.py", "src/a.py", "README.md"})
    )

    assert decision.included is True
    assert decision.trace[0].changes == PathMatch(True, "src/**/*.py", "src/a.py")
    assert decision.trace[0].changes.describe() == "src/a.py matches src/**/*.py"


def test_changes_fail_when_no_file_changed(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(changes=("**/*",)),))

    decision = decide(tree, job, changed=frozenset())

    assert decision.included is False
    assert decision.trace[0].changes == PathMatch(False, note="no file changed")


def test_changes_expand_defined_variables_only(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(changes=("$DIR/*.py",)),))
    changed = frozenset({"src/a.py"})

    defined = decide(tree, job, variables={"DIR": "src"}, changed=changed)
    undefined = decide(tree, job, changed=frozenset({"$DIR/a.py"}))
    braces = decide(
        tree,
        make_job(rules=(Rule(changes=("${DIR}/*.py",)),)),
        variables={"DIR": "src"},
        changed=changed,
    )

    assert defined.included is True
    assert dict(defined.trace[0].reads) == {"DIR": "src"}
    assert undefined.included is True
    assert undefined.trace[0].changes == PathMatch(True, "$DIR/*.py", "$DIR/a.py")
    assert braces.included is True


def test_changes_compare_to_uses_the_callable(tree: DirectoryTree) -> None:
    asked: list[str] = []

    def compare_to(ref: str) -> frozenset[str] | None:
        asked.append(ref)
        return frozenset({"docs/guide/index.md"})

    job = make_job(
        rules=(Rule(changes=("docs/**/*.md",), compare_to="refs/heads/$BASE"),)
    )

    decision = decide(
        tree,
        job,
        variables={"BASE": "main"},
        changed=None,
        compare_to=compare_to,
    )

    assert asked == ["refs/heads/main"]
    assert decision.included is True
    assert decision.trace[0].changes == PathMatch(
        True, "docs/**/*.md", "docs/guide/index.md"
    )


def test_changes_compare_to_notes_the_ref_when_nothing_matches(
    tree: DirectoryTree,
) -> None:
    job = make_job(rules=(Rule(changes=("docs/*",), compare_to="main"),))

    decision = decide(tree, job, compare_to=lambda ref: frozenset({"a.c"}))

    assert decision.included is False
    assert decision.trace[0].changes == PathMatch(
        False, note="no changed file matches (compared to main)"
    )


def test_unknown_compare_to_ref_is_a_located_config_error(tree: DirectoryTree) -> None:
    job = Job(
        name="docs",
        stage="test",
        rules=(Rule(changes=("docs/*",), compare_to="nowhere"),),
        location=Location(".gitlab-ci.yml", 12),
    )

    with pytest.raises(ConfigError) as raised:
        decide(tree, job)

    assert str(raised.value) == (
        ".gitlab-ci.yml:12: job 'docs': rules:changes:compare_to: "
        "rules:changes:compare_to is not a valid ref"
    )


# rules:exists


@pytest.mark.parametrize(
    ("globs", "matched", "pattern", "path"),
    [
        (("Dockerfile",), True, "Dockerfile", "Dockerfile"),
        (("Makefile",), False, None, None),
        (("docs/",), True, "docs/", "docs/guide/index.md"),
        (("docs",), False, None, None),
        (("**/*.md",), True, "**/*.md", "README.md"),
        (("src/*.toml",), True, "src/*.toml", "src/.config.toml"),
        (("*.py",), False, None, None),
        (("src/**/*.py", "Dockerfile"), True, "Dockerfile", "Dockerfile"),
        ((), False, None, None),
    ],
)
def test_exists(
    tree: DirectoryTree,
    globs: tuple[str, ...],
    matched: bool,
    pattern: str | None,
    path: str | None,
) -> None:
    decision = decide(tree, make_job(rules=(Rule(exists=globs),)))

    assert decision.included is matched
    found = decision.trace[0].exists
    assert found is not None
    assert (found.matched, found.pattern, found.path) == (matched, pattern, path)


def test_exists_expands_variables(tree: DirectoryTree) -> None:
    job = make_job(rules=(Rule(exists=("$SRC/app.py",)),))

    assert decide(tree, job, variables={"SRC": "src"}).included is True
    assert decide(tree, job).included is False


def test_exists_sees_a_git_repository_tree(make_repo: MakeRepo) -> None:
    repo = make_repo({"charts/app/Chart.yaml": "name: app\n", "main.go": ""})
    job = make_job(rules=(Rule(exists=("charts/",)), Rule(when="manual")))

    decision = decide(DirectoryTree(repo), job)

    assert decision.rule_index == 1
    assert decision.trace[0].exists == PathMatch(
        True, "charts/", "charts/app/Chart.yaml"
    )


# errors


def test_invalid_if_is_a_located_expression_error(tree: DirectoryTree) -> None:
    job = Job(
        name="lint",
        stage="test",
        rules=(Rule(if_='${CI_COMMIT_BRANCH} == "main"'),),
        location=Location("ci/lint.yml", 3),
    )

    with pytest.raises(ConfigError) as raised:
        decide(tree, job)

    assert str(raised.value) == (
        "ci/lint.yml:3: job 'lint': rules:if: '${NAME}' is not supported in "
        "expressions, write '$NAME' at column 1 of '${CI_COMMIT_BRANCH} == \"main\"'"
    )


# jobs without rules: only/except


@pytest.mark.parametrize(
    ("source", "ref_kind", "workflow_has_rules", "included", "reason"),
    [
        (
            "push",
            "branch",
            False,
            True,
            "included by the implicit only: branches, tags",
        ),
        ("push", "tag", False, True, "included by the implicit only: branches, tags"),
        (
            "schedule",
            "branch",
            False,
            True,
            "included by the implicit only: branches, tags",
        ),
        (
            "merge_request_event",
            "merge_request",
            False,
            False,
            "excluded by the implicit only: branches, tags "
            "(a job without rules, only or except)",
        ),
        (
            "merge_request_event",
            "merge_request",
            True,
            True,
            "no rules, only or except (workflow:rules is set)",
        ),
    ],
)
def test_jobs_without_rules_only_or_except(
    tree: DirectoryTree,
    source: str,
    ref_kind: str,
    workflow_has_rules: bool,
    included: bool,
    reason: str,
) -> None:
    decision = decide(
        tree,
        make_job(),
        source=source,
        ref_kind=ref_kind,
        ref_name="feature",
        workflow_has_rules=workflow_has_rules,
    )

    assert decision.included is included
    assert decision.reason == reason


@pytest.mark.parametrize(
    ("refs", "source", "ref_kind", "ref_name", "included"),
    [
        (("tags",), "push", "tag", "v1.0", True),
        (("tags",), "push", "branch", "main", False),
        (("branches",), "push", "branch", "main", True),
        (("branches",), "merge_request_event", "merge_request", "main", False),
        (("main",), "push", "branch", "main", True),
        (("main",), "push", "branch", "main2", False),
        (("main",), "merge_request_event", "merge_request", "main", False),
        (("/^release-.*$/",), "push", "branch", "release-1.2", True),
        (("/^release-.*$/",), "push", "tag", "release-1.2", True),
        (("/^release-.*$/",), "push", "branch", "hotfix", False),
        (("/^RELEASE/i",), "push", "branch", "release-1", True),
        (("/^release-(?=1)/",), "push", "branch", "/^release-(?=1)/", True),
        (("merge_requests",), "merge_request_event", "merge_request", "f", True),
        (("merge_requests",), "push", "branch", "f", False),
        (("pushes",), "push", "branch", "f", True),
        (("push",), "push", "branch", "f", True),
        (("schedules",), "schedule", "branch", "main", True),
        (("schedules",), "push", "branch", "main", False),
        (("web",), "web", "branch", "main", True),
        (("api",), "api", "branch", "main", True),
        (("triggers",), "trigger", "branch", "main", True),
        (("pipelines",), "pipeline", "branch", "main", True),
        (("external",), "external", "branch", "main", True),
        (("chat",), "chat", "branch", "main", True),
        (
            ("external_pull_requests",),
            "external_pull_request_event",
            "branch",
            "main",
            True,
        ),
        (("main@group/project",), "push", "branch", "main", True),
        (("main@other/project",), "push", "branch", "main", False),
        ((), "push", "branch", "main", False),
    ],
)
def test_only_refs(
    tree: DirectoryTree,
    refs: tuple[str, ...],
    source: str,
    ref_kind: str,
    ref_name: str,
    included: bool,
) -> None:
    decision = decide(
        tree,
        make_job(only=Refs(refs=refs)),
        variables={"CI_PROJECT_PATH": "group/project"},
        source=source,
        ref_kind=ref_kind,
        ref_name=ref_name,
    )

    assert decision.included is included
    listed = ", ".join(refs) if refs else "[]"
    if included:
        assert decision.reason == f"included: only: {listed} matched"
    else:
        assert decision.reason == f"excluded by only: {listed}"


def test_except_wins_over_only(tree: DirectoryTree) -> None:
    job = make_job(only=Refs(refs=("branches",)), except_=Refs(refs=("main",)))

    on_main = decide(tree, job, ref_name="main")
    on_feature = decide(tree, job, ref_name="feature")

    assert on_main.included is False
    assert on_main.reason == "excluded by except: main"
    assert [(t.source, t.text, t.matched) for t in on_main.trace] == [
        ("only", "branches", True),
        ("except", "main", True),
    ]
    assert on_feature.included is True
    assert on_feature.reason == "included: only: branches matched; except: main did not"


def test_except_alone_keeps_the_implicit_only(tree: DirectoryTree) -> None:
    job = make_job(except_=Refs(refs=("main",)))

    in_mr = decide(tree, job, source="merge_request_event", ref_kind="merge_request")
    on_branch = decide(tree, job, ref_name="feature")

    assert in_mr.included is False
    assert on_branch.included is True
    assert on_branch.reason == (
        "included by the implicit only: branches, tags; except: main did not"
    )


def test_only_variables_need_one_true_expression(tree: DirectoryTree) -> None:
    # The loader merges GitLab's default refs into `only: {variables: ...}`.
    job = make_job(only=Refs(refs=("branches", "tags"), variables=('$A == "1"', "$B")))

    one = decide(tree, job, variables={"B": "yes"})
    none = decide(tree, job, variables={"A": "2"})

    assert one.included is True
    assert [(t.text, dict(t.reads)) for t in one.trace] == [
        ("branches, tags", {}),
        ('variables: [$A == "1", $B]', {"A": None, "B": "yes"}),
    ]
    assert none.included is False
    assert none.reason == 'excluded by only: variables: [$A == "1", $B]'


def test_only_with_an_empty_refs_list_matches_nothing(tree: DirectoryTree) -> None:
    job = make_job(only=Refs(refs=(), variables=("$A",)))

    decision = decide(tree, job, variables={"A": "1"})

    assert decision.included is False
    assert decision.reason == "excluded by only: []"


def test_except_with_an_empty_refs_list_excludes_nothing(tree: DirectoryTree) -> None:
    decision = decide(tree, make_job(except_=Refs(refs=())))

    assert decision.included is True


def test_only_refs_and_variables_must_both_hold(tree: DirectoryTree) -> None:
    job = make_job(only=Refs(refs=("main",), variables=("$DEPLOY",)))

    assert decide(tree, job, variables={"DEPLOY": "1"}).included is True
    assert decide(tree, job).included is False
    assert (
        decide(tree, job, variables={"DEPLOY": "1"}, ref_name="dev").included is False
    )


def test_except_variables(tree: DirectoryTree) -> None:
    job = make_job(except_=Refs(variables=("$CI_COMMIT_MESSAGE =~ /skip-build/",)))

    skipped = decide(tree, job, variables={"CI_COMMIT_MESSAGE": "wip skip-build"})

    assert skipped.included is False
    assert skipped.reason == (
        "excluded by except: variables: [$CI_COMMIT_MESSAGE =~ /skip-build/]"
    )


def test_only_changes(tree: DirectoryTree) -> None:
    job = make_job(only=Refs(refs=("branches", "tags"), changes=("docs/**/*",)))

    assert decide(tree, job, changed=None).included is True
    assert decide(tree, job, changed=frozenset({"docs/a/b.md"})).included is True
    missed = decide(tree, job, changed=frozenset({"src/a.py"}))
    assert missed.included is False
    assert missed.reason == "excluded by only: changes: [docs/**/*]"


def test_only_kubernetes_never_holds_locally(tree: DirectoryTree) -> None:
    job = make_job(only=Refs(refs=("branches", "tags"), kubernetes="active"))

    decision = decide(tree, job)

    assert decision.included is False
    assert decision.reason == "excluded by only: kubernetes: active"


def test_only_job_keeps_job_when(tree: DirectoryTree) -> None:
    job = make_job(when="delayed", start_in="1 hour", only=Refs(refs=("main",)))

    decision = decide(tree, job)

    assert (decision.when, decision.start_in) == ("delayed", "1 hour")


# workflow:rules


def test_workflow_without_rules_creates_the_pipeline(tree: DirectoryTree) -> None:
    decision = decide_workflow(Workflow(name="Nightly"), inputs_for(tree))

    assert decision.created is True
    assert decision.name == "Nightly"
    assert decision.reason == "no workflow:rules"
    assert decision.trace == ()


def test_workflow_first_match_gives_variables(tree: DirectoryTree) -> None:
    workflow = Workflow(
        rules=(
            Rule(if_='$CI_PIPELINE_SOURCE == "merge_request_event"'),
            Rule(if_="$CI_COMMIT_BRANCH", variables={"DEPLOY": Variable("yes")}),
        ),
        name="Pipeline for $CI_COMMIT_BRANCH",
    )

    decision = decide_workflow(
        workflow, inputs_for(tree, variables={"CI_COMMIT_BRANCH": "main"})
    )

    assert decision.created is True
    assert decision.rule_index == 2
    assert dict(decision.variables) == {"DEPLOY": Variable("yes")}
    assert decision.name == "Pipeline for $CI_COMMIT_BRANCH"
    assert decision.reason == "workflow rule 2 matched: if: $CI_COMMIT_BRANCH"
    assert [t.source for t in decision.trace] == ["workflow:rules"] * 2


def test_workflow_when_never_prevents_the_pipeline(tree: DirectoryTree) -> None:
    workflow = Workflow(rules=(Rule(if_="$CI_COMMIT_TAG", when="never"), Rule()))

    decision = decide_workflow(
        workflow, inputs_for(tree, variables={"CI_COMMIT_TAG": "v1"})
    )

    assert decision.created is False
    assert dict(decision.variables) == {}
    assert decision.reason == (
        "workflow rule 1 matched: if: $CI_COMMIT_TAG, when: never"
    )


def test_workflow_without_a_match_prevents_the_pipeline(tree: DirectoryTree) -> None:
    workflow = Workflow(rules=(Rule(if_="$CI_COMMIT_TAG"),))

    decision = decide_workflow(workflow, inputs_for(tree))

    assert decision.created is False
    assert decision.reason == "no workflow rule matched, so GitLab creates no pipeline"
    assert decision.trace[0].matched is False


def test_workflow_rules_see_changes_and_exists(tree: DirectoryTree) -> None:
    workflow = Workflow(
        rules=(Rule(changes=("src/**/*",), exists=("Dockerfile",), when="always"),)
    )

    created = decide_workflow(
        workflow, inputs_for(tree, changed=frozenset({"src/app.py"}))
    )
    skipped = decide_workflow(workflow, inputs_for(tree, changed=frozenset({"a.md"})))

    assert created.created is True
    assert created.trace[0].exists == PathMatch(True, "Dockerfile", "Dockerfile")
    assert skipped.created is False


def test_invalid_workflow_if_names_the_keyword(tree: DirectoryTree) -> None:
    workflow = Workflow(rules=(Rule(if_="$A = 'x'"),))

    with pytest.raises(ConfigError) as raised:
        decide_workflow(workflow, inputs_for(tree))

    assert str(raised.value) == (
        "workflow:rules:if: unknown operator '=', use '==' or '=~' "
        "at column 4 of '$A = 'x''"
    )


def test_five_thousand_jobs_are_decided_quickly(tree: DirectoryTree) -> None:
    rules = (
        Rule(if_='$CI_PIPELINE_SOURCE == "merge_request_event"', when="never"),
        Rule(if_="$CI_COMMIT_TAG =~ /^v\\d+/", when="manual"),
        Rule(changes=("src/**/*.py",), exists=("Dockerfile",)),
    )
    jobs = [
        Job(name=f"job {n}", stage="test", rules=rules, variables={})
        for n in range(5000)
    ]
    inputs = inputs_for(
        tree,
        variables={f"VAR_{n}": str(n) for n in range(100)},
        changed=frozenset({f"src/m{n}.py" for n in range(50)}),
    )

    started = time.perf_counter()
    decisions = [decide_job(job, inputs, {"JOB": "1"}) for job in jobs]
    elapsed = time.perf_counter() - started

    assert sum(d.included for d in decisions) == 5000
    assert {d.rule_index for d in decisions} == {3}
    assert elapsed < 5.0


def test_paths_expand_from_the_expanded_view(tree: DirectoryTree) -> None:
    inputs = replace(
        inputs_for(
            tree,
            variables={"DIR": "$BASE/guide"},
            changed=frozenset({"docs/guide/index.md"}),
        ),
        expanded={"DIR": "docs/guide"},
    )
    job = make_job(rules=(Rule(if_='$DIR == "$BASE/guide"', changes=("$DIR/*.md",)),))
    exists_job = make_job(rules=(Rule(exists=("$DIR/index.md",)),))

    assert decide_job(job, inputs, {}).included is True
    assert decide_job(exists_job, inputs, {}).included is True
