"""make_plan: what rules read, pipelines left empty, the pipeline's name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import write_files

from minirunner.config.model import (
    Config,
    Job,
    Rule,
    Variable,
    Workflow,
    frozen_map,
)
from minirunner.errors import ConfigError
from minirunner.plan import NO_JOBS, ONLY_EDGE_JOBS, Plan, RawView, make_plan
from minirunner.rules.decide import RuleInputs
from minirunner.sourcetree import DirectoryTree

STAGES = (".pre", "build", "test", "deploy", ".post")
PIPELINE = {
    "CI_COMMIT_BRANCH": "main",
    "CI_COMMIT_REF_SLUG": "main",
    "CI_PIPELINE_ID": "7",
    "CI_PIPELINE_URL": "https://gitlab.example.com/p/-/pipelines/7",
    "CI_PIPELINE_SOURCE": "push",
}


def no_compare(ref: str) -> frozenset[str] | None:
    raise ConfigError("rules:changes:compare_to is not a valid ref")


@pytest.fixture
def tree(tmp_path: Path) -> DirectoryTree:
    write_files(tmp_path / "project", {"src/sub/app.py": "print()\n"})
    return DirectoryTree(tmp_path / "project")


def job(name: str, *, stage: str = "test", **fields: object) -> Job:
    return Job(name=name, stage=stage, script=("true",), **fields)  # type: ignore[arg-type]


def plan_of(
    tree: DirectoryTree,
    *jobs: Job,
    variables: Mapping[str, Variable] | None = None,
    workflow: Workflow | None = None,
    user: Mapping[str, str] | None = None,
    changed: frozenset[str] | None = None,
) -> Plan:
    config = Config(
        stages=STAGES,
        jobs=jobs,
        variables=frozen_map(variables),
        workflow=workflow or Workflow(),
    )
    inputs = RuleInputs(
        variables={},
        source="push",
        ref_kind="branch",
        ref_name="main",
        changed_paths=changed,
        compare_to=no_compare,
        tree=tree,
    )
    return make_plan(config, inputs, PIPELINE, dict(user or {}))


def names(plan: Plan) -> list[str]:
    return [planned.name for planned in plan.jobs]


def test_rules_if_reads_variables_as_written(tree: DirectoryTree) -> None:
    variables = {
        "VAR1": Variable("value1"),
        "VAR2": Variable("value2 $VAR1"),
        "TAGGED": Variable("app:$CI_COMMIT_REF_SLUG"),
    }
    plan = plan_of(
        tree,
        job("as-written", rules=(Rule(if_='$VAR2 == "value2 $VAR1"'),)),
        job("as-expanded", rules=(Rule(if_='$VAR2 == "value2 value1"'),)),
        job("predefined", rules=(Rule(if_='$TAGGED == "app:main"'),)),
        variables=variables,
    )

    assert names(plan) == ["as-written"]


def test_user_variables_win_in_the_raw_view(tree: DirectoryTree) -> None:
    plan = plan_of(
        tree,
        job("cli", rules=(Rule(if_='$MODE == "prod"'),)),
        job(
            "job-level",
            variables=frozen_map({"MODE": Variable("job")}),
            rules=(Rule(if_='$MODE == "prod"'),),
        ),
        job("file", rules=(Rule(if_='$MODE == "dev"'),)),
        variables={"MODE": Variable("dev")},
        user={"MODE": "prod"},
    )

    assert names(plan) == ["cli", "job-level"]


def test_raw_view_layers() -> None:
    view = RawView(
        {"A": "predefined", "B": "predefined"},
        {"B": Variable("$A-yaml"), "C": Variable("c")},
        {"C": "user"},
    )

    assert dict(view) == {"A": "predefined", "B": "$A-yaml", "C": "user"}
    assert len(view) == 3
    assert view.get("D") is None


def test_changes_and_exists_paths_expand_nested_variables(
    tree: DirectoryTree,
) -> None:
    variables = {"BASE": Variable("src"), "DIR": Variable("$BASE/sub")}
    plan = plan_of(
        tree,
        job("changes", rules=(Rule(changes=("$DIR/*.py",)),)),
        job("exists", rules=(Rule(exists=("$DIR/app.py",)),)),
        job("other", rules=(Rule(changes=("docs/*",)),)),
        variables=variables,
        changed=frozenset({"src/sub/app.py"}),
    )

    assert names(plan) == ["changes", "exists"]


def test_persisted_pipeline_variables_are_hidden_from_rules(
    tree: DirectoryTree,
) -> None:
    plan = plan_of(
        tree,
        job("pipeline-id", rules=(Rule(if_="$CI_PIPELINE_ID"),)),
        job("pipeline-url", rules=(Rule(if_="$CI_PIPELINE_URL"),)),
        job("source", rules=(Rule(if_='$CI_PIPELINE_SOURCE == "push"'),)),
        workflow=Workflow(rules=(Rule(if_="$CI_PIPELINE_ID == null"),)),
    )

    assert names(plan) == ["source"]
    assert "CI_PIPELINE_ID" not in plan.variables


def test_no_job_left_means_no_pipeline(tree: DirectoryTree) -> None:
    plan = plan_of(tree, job("tag-only", rules=(Rule(if_="$CI_COMMIT_TAG"),)))

    assert plan.created is False
    assert plan.workflow.reason == NO_JOBS
    assert plan.jobs == ()
    assert [excluded.name for excluded, _ in plan.excluded] == ["tag-only"]


def test_only_pre_and_post_jobs_mean_no_pipeline(tree: DirectoryTree) -> None:
    plan = plan_of(
        tree,
        job("pre", stage=".pre"),
        job("post", stage=".post"),
        job("build", stage="build", rules=(Rule(if_="$CI_COMMIT_TAG"),)),
    )

    assert plan.created is False
    assert plan.workflow.reason == ONLY_EDGE_JOBS
    assert plan.jobs == ()


def test_pre_job_with_a_regular_job_makes_a_pipeline(tree: DirectoryTree) -> None:
    plan = plan_of(tree, job("pre", stage=".pre"), job("build", stage="build"))

    assert plan.created is True
    assert names(plan) == ["pre", "build"]


def test_pipeline_name_expands_workflow_rule_variables(tree: DirectoryTree) -> None:
    workflow = Workflow(
        name="  $KIND pipeline for $CI_COMMIT_BRANCH$UNDEFINED  ",
        rules=(
            Rule(
                if_="$CI_COMMIT_BRANCH", variables=frozen_map({"KIND": Variable("$X")})
            ),
        ),
    )
    plan = plan_of(
        tree, job("build"), workflow=workflow, variables={"X": Variable("Branch")}
    )

    assert plan.pipeline_name == "Branch pipeline for main"


def test_blank_pipeline_name_is_none(tree: DirectoryTree) -> None:
    plan = plan_of(tree, job("build"), workflow=Workflow(name="$UNDEFINED"))

    assert plan.pipeline_name is None


def test_inherit_variables_filters_workflow_variables(tree: DirectoryTree) -> None:
    workflow = Workflow(
        rules=(
            Rule(
                if_="$CI_COMMIT_BRANCH",
                variables=frozen_map({"WF": Variable("workflow")}),
            ),
        )
    )
    plan = plan_of(
        tree,
        job("isolated", inherit_variables=False, rules=(Rule(if_="$WF == null"),)),
        job("picky", inherit_variables=("WF",), rules=(Rule(if_="$WF && $G == null"),)),
        job("plain", rules=(Rule(if_='$WF == "workflow" && $G == "global"'),)),
        variables={"G": Variable("global")},
        workflow=workflow,
    )

    assert names(plan) == ["isolated", "picky", "plain"]


def test_variables_referencing_each_other_fail_the_plan(tree: DirectoryTree) -> None:
    with pytest.raises(ConfigError) as raised:
        plan_of(
            tree,
            job("loop", variables=frozen_map({"B": Variable("x$A")})),
            variables={"A": Variable("$B")},
        )

    assert raised.value.job == "loop"
    assert raised.value.keyword == "variables"
    assert raised.value.reason == 'circular variable reference detected: ["A", "B"]'


def test_a_loop_in_an_excluded_job_is_not_an_error(tree: DirectoryTree) -> None:
    plan = plan_of(
        tree,
        job(
            "excluded",
            variables=frozen_map({"A": Variable("$B"), "B": Variable("$A")}),
            rules=(Rule(if_="$CI_COMMIT_TAG"),),
        ),
        job("kept", variables=frozen_map({"C": Variable("$CI_COMMIT_BRANCH")})),
    )

    assert names(plan) == ["kept"]
