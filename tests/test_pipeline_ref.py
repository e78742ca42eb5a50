"""Tests for minirunner.pipeline_ref, on real repositories."""

from __future__ import annotations

import os

import pytest
from conftest import MakeRepo, git

from minirunner.errors import UsageError
from minirunner.gitstate import read_git_state
from minirunner.pipeline_ref import PipelineRef, choose_ref


@pytest.fixture(autouse=True)
def isolated_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's git configuration out of what the tests read."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def test_branch_pipeline(make_repo: MakeRepo) -> None:
    state = read_git_state(make_repo({"a": "a"}, branch="feature/x"))
    assert choose_ref(state) == PipelineRef("branch", "feature/x", "push")


def test_tag_on_head_gives_a_tag_pipeline_and_says_so(make_repo: MakeRepo) -> None:
    state = read_git_state(make_repo({"a": "a"}, tag="v1.2.3"))
    assert choose_ref(state) == PipelineRef(
        "tag",
        "v1.2.3",
        "push",
        tag_message=None,
        note=(
            "HEAD is tagged v1.2.3: this is its tag pipeline; "
            "use --branch main for the branch pipeline"
        ),
    )


def test_annotated_tag_carries_its_message(make_repo: MakeRepo) -> None:
    repo = make_repo({"a": "a"})
    git(repo, "tag", "-a", "v2.0.0", "-m", "Big release")
    git(repo, "checkout", "-q", "--detach")

    ref = choose_ref(read_git_state(repo))

    assert ref == PipelineRef("tag", "v2.0.0", "push", tag_message="Big release")


def test_several_tags_pick_the_newest_version(make_repo: MakeRepo) -> None:
    repo = make_repo({"a": "a"}, tag="v1")
    git(repo, "tag", "v2")

    ref = choose_ref(read_git_state(repo))

    assert (ref.kind, ref.name) == ("tag", "v2")
    assert ref.note == (
        "HEAD has tags v2, v1: this is the tag pipeline of v2; "
        "use --tag or --branch to choose"
    )


def test_branch_option_overrides_a_tag(make_repo: MakeRepo) -> None:
    state = read_git_state(make_repo({"a": "a"}, tag="v1"))
    assert choose_ref(state, branch="main") == PipelineRef("branch", "main", "push")


def test_a_branch_elsewhere_runs_head_under_its_name_and_says_so(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({"a": "a"})
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "branch", "release")
    git(repo, "commit", "-q", "--allow-empty", "-m", "Second")
    head = git(repo, "rev-parse", "HEAD")

    ref = choose_ref(read_git_state(repo), branch="release")

    assert ref == PipelineRef(
        "branch",
        "release",
        "push",
        note=(
            f"branch 'release' is at {first[:8]}: this runs HEAD ({head[:8]}) "
            "as a pipeline for release"
        ),
    )
    assert choose_ref(read_git_state(repo), branch="new-one").note == (
        f"there is no branch 'new-one' here: this runs HEAD ({head[:8]}) "
        "as a pipeline for new-one"
    )


@pytest.mark.parametrize("name", ["bad..name", "two words", "-dash", "end.lock"])
def test_a_name_git_refuses_is_no_branch(make_repo: MakeRepo, name: str) -> None:
    state = read_git_state(make_repo({"a": "a"}))
    with pytest.raises(UsageError) as raised:
        choose_ref(state, branch=name)
    assert raised.value.format_message() == f"'{name}' cannot be a git branch name"


def test_tag_option_chooses_among_tags(make_repo: MakeRepo) -> None:
    repo = make_repo({"a": "a"}, tag="v1")
    git(repo, "tag", "v2")

    ref = choose_ref(read_git_state(repo), tag="v1", source="web")

    assert ref == PipelineRef("tag", "v1", "web", tag_message=None)


def test_tag_option_must_point_at_head(make_repo: MakeRepo) -> None:
    repo = make_repo({"a": "a"}, tag="v1")
    old = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "--allow-empty", "-m", "Next")
    state = read_git_state(repo)

    with pytest.raises(UsageError) as raised:
        choose_ref(state, tag="v1")

    assert raised.value.message == (
        f"tag 'v1' points at {old[:8]}, not at HEAD ({state.head.sha[:8]}); "
        "check it out first, or tag HEAD"
    )


def test_tag_option_for_a_missing_tag(make_repo: MakeRepo) -> None:
    repo = make_repo({"a": "a"})
    with pytest.raises(UsageError) as raised:
        choose_ref(read_git_state(repo), tag="v9")
    assert raised.value.message == f"there is no tag 'v9' in {repo}"


def test_detached_head_without_tag_needs_a_name(make_repo: MakeRepo) -> None:
    repo = make_repo({"a": "a"})
    git(repo, "checkout", "-q", "--detach")
    state = read_git_state(repo)

    with pytest.raises(UsageError) as raised:
        choose_ref(state)

    assert raised.value.message == "HEAD is detached; pass --branch NAME or --tag NAME"
    assert choose_ref(state, branch="release") == PipelineRef(
        "branch", "release", "push"
    )


@pytest.mark.parametrize("source", ["web", "schedule", "api", "trigger"])
def test_other_sources_keep_the_ref_kind(make_repo: MakeRepo, source: str) -> None:
    state = read_git_state(make_repo({"a": "a"}, branch="dev"))
    assert choose_ref(state, source=source) == PipelineRef("branch", "dev", source)


def test_merge_request_pipeline_targets_the_default_branch(make_repo: MakeRepo) -> None:
    repo = make_repo({"a": "a"})
    git(repo, "checkout", "-q", "-b", "feature/login")
    state = read_git_state(repo)

    ref = choose_ref(state, source="merge_request_event")

    assert ref == PipelineRef(
        "merge_request", "feature/login", "merge_request_event", "main"
    )
    assert choose_ref(state, source="merge_request_event", target="dev") == (
        PipelineRef("merge_request", "feature/login", "merge_request_event", "dev")
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tag": "v1", "branch": "main"}, "pass --tag or --branch, not both"),
        (
            {"source": "merge_request_event"},
            "a merge request needs a target other than its source branch 'main'; "
            "pass --target BRANCH",
        ),
        (
            {"source": "merge_request_event", "tag": "v1"},
            "a merge request pipeline runs for a branch, not a tag",
        ),
        (
            {"target": "main"},
            "--target is for merge request pipelines; add --source merge_request_event",
        ),
        ({"branch": " "}, "a branch name cannot be empty"),
    ],
)
def test_usage_errors(
    make_repo: MakeRepo, options: dict[str, str], message: str
) -> None:
    state = read_git_state(make_repo({"a": "a"}))
    with pytest.raises(UsageError) as raised:
        choose_ref(state, **options)
    assert raised.value.message == message


def test_unknown_source(make_repo: MakeRepo) -> None:
    state = read_git_state(make_repo({"a": "a"}))
    with pytest.raises(UsageError) as raised:
        choose_ref(state, source="cron")
    assert raised.value.message.startswith(
        "unknown pipeline source 'cron'; use one of push, web, schedule,"
    )
