"""Which pipeline to run for HEAD: a branch, a tag or a merge request pipeline."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from minirunner.errors import GitError, UsageError
from minirunner.gitstate import GitState, resolve_commit

MERGE_REQUEST_SOURCE = "merge_request_event"

# The values of CI_PIPELINE_SOURCE GitLab documents
# (https://docs.gitlab.com/ci/jobs/job_rules/#ci_pipeline_source-predefined-variable).
PIPELINE_SOURCES = (
    "push",
    "web",
    "schedule",
    "api",
    "trigger",
    "merge_request_event",
    "external_pull_request_event",
    "pipeline",
    "parent_pipeline",
    "chat",
    "external",
    "webide",
    "security_orchestration_policy",
    "ondemand_dast_scan",
    "ondemand_dast_validation",
    "container_registry_push",
    "duo_workflow",
    "pipeline_execution_policy_schedule",
)


@dataclass(frozen=True)
class PipelineRef:
    """The ref a pipeline runs for.

    `kind` is "branch", "tag" or "merge_request"; `name` is the branch or tag
    (for a merge request, its source branch); `target_branch` is set for merge
    requests only; `note` says what minirunner chose when HEAD allowed several.
    """

    kind: str
    name: str
    source: str
    target_branch: str | None = None
    tag_message: str | None = None
    note: str | None = None


def choose_ref(
    state: GitState,
    *,
    tag: str | None = None,
    branch: str | None = None,
    source: str = "push",
    target: str | None = None,
) -> PipelineRef:
    """Decide the pipeline for HEAD, as GitLab would have run it.

    - `source="merge_request_event"`: a merge request pipeline from the current
      branch (or `branch`) into `target`, by default the default branch.
    - `tag`: a tag pipeline; the tag must point at HEAD, since minirunner runs
      HEAD and GitLab would run the tag's commit.
    - `branch`: a branch pipeline named so, even when HEAD is detached or tagged.
    - neither: a tag on HEAD gives a tag pipeline (the newest version when there
      are several; GitLab would run one for the branch push too, the note says
      so); else the current branch; a detached HEAD without a tag is an error.

    Other sources (web, schedule, api, trigger…) keep the branch or tag choice.
    """
    if source not in PIPELINE_SOURCES:
        known = ", ".join(PIPELINE_SOURCES)
        raise UsageError(f"unknown pipeline source '{source}'; use one of {known}")
    if tag is not None and branch is not None:
        raise UsageError("pass --tag or --branch, not both")
    if source == MERGE_REQUEST_SOURCE:
        return _merge_request(state, tag, branch, target)
    if target is not None:
        raise UsageError(
            "--target is for merge request pipelines; "
            f"add --source {MERGE_REQUEST_SOURCE}"
        )
    if tag is not None:
        return _explicit_tag(state, tag, source)
    if branch is not None:
        return _explicit_branch(state, branch, source)
    if state.tags:
        return _head_tag(state, source)
    if state.branch is None:
        raise UsageError("HEAD is detached; pass --branch NAME or --tag NAME")
    return PipelineRef("branch", state.branch, source)


def _merge_request(
    state: GitState, tag: str | None, branch: str | None, target: str | None
) -> PipelineRef:
    if tag is not None:
        raise UsageError("a merge request pipeline runs for a branch, not a tag")
    source_branch = _branch_name(branch) if branch is not None else state.branch
    if source_branch is None:
        raise UsageError(
            "HEAD is detached; pass --branch NAME for a merge request pipeline"
        )
    target_branch = _branch_name(target) if target else state.default_branch
    if target_branch == source_branch:
        raise UsageError(
            f"a merge request needs a target other than its source branch "
            f"'{source_branch}'; pass --target BRANCH"
        )
    return PipelineRef(
        "merge_request", source_branch, MERGE_REQUEST_SOURCE, target_branch
    )


def _explicit_tag(state: GitState, tag: str, source: str) -> PipelineRef:
    for info in state.tags:
        if info.name == tag:
            return PipelineRef("tag", tag, source, tag_message=info.message)
    try:
        points_at = resolve_commit(state.root, f"refs/tags/{tag}")
    except GitError:
        raise UsageError(f"there is no tag '{tag}' in {state.root}") from None
    raise UsageError(
        f"tag '{tag}' points at {points_at[:8]}, not at HEAD "
        f"({state.head.sha[:8]}); check it out first, or tag HEAD"
    )


def _explicit_branch(state: GitState, branch: str, source: str) -> PipelineRef:
    """HEAD's pipeline under the branch's name; a note when the branch is
    elsewhere, since GitLab would run its tip, or does not exist."""
    name = _branch_name(branch)
    checked = subprocess.run(
        ["git", "check-ref-format", "--branch", name],
        capture_output=True,
        check=False,
    )
    if checked.returncode != 0 or name.startswith("@"):
        raise UsageError(f"'{name}' cannot be a git branch name")
    note = None
    if name != state.branch:
        try:
            tip = resolve_commit(state.root, f"refs/heads/{name}")
        except GitError:
            tip = None
        if tip is None:
            # A detached HEAD is told to name its branch: that needs no note.
            if state.branch is not None:
                note = (
                    f"there is no branch '{name}' here: this runs HEAD "
                    f"({state.head.sha[:8]}) as a pipeline for {name}"
                )
        elif tip != state.head.sha:
            note = (
                f"branch '{name}' is at {tip[:8]}: this runs HEAD "
                f"({state.head.sha[:8]}) as a pipeline for {name}"
            )
    return PipelineRef("branch", name, source, note=note)


def _head_tag(state: GitState, source: str) -> PipelineRef:
    chosen = state.tags[0]
    names = ", ".join(info.name for info in state.tags)
    if len(state.tags) > 1:
        note = (
            f"HEAD has tags {names}: this is the tag pipeline of {chosen.name}; "
            "use --tag or --branch to choose"
        )
    elif state.branch is not None:
        note = (
            f"HEAD is tagged {chosen.name}: this is its tag pipeline; "
            f"use --branch {state.branch} for the branch pipeline"
        )
    else:
        note = None
    message = chosen.message
    return PipelineRef("tag", chosen.name, source, tag_message=message, note=note)


def _branch_name(name: str) -> str:
    cleaned = name.removeprefix("refs/heads/")
    if not cleaned.strip():
        raise UsageError("a branch name cannot be empty")
    return cleaned
