"""Everything a pipeline is planned from: git state, ref, variables and files."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from minirunner import gitstate
from minirunner.config import load_config, load_include_map
from minirunner.config.model import Config
from minirunner.errors import ConfigError, GitError, UsageError
from minirunner.gitstate import GitState
from minirunner.pipeline_ref import PipelineRef, choose_ref
from minirunner.rules.decide import RuleInputs
from minirunner.sourcetree import ONLY_IN_WORKTREE, DirectoryTree, SourceTree
from minirunner.variables.predefined import pipeline_variables

ZERO_SHA = "0" * 40
SOURCES = (
    "push",
    "web",
    "schedule",
    "api",
    "trigger",
    "pipeline",
    "parent_pipeline",
    "merge_request_event",
    "chat",
    "external",
)


@dataclass(frozen=True)
class Options:
    """What the user chose on the command line (or a test chose)."""

    cwd: Path = Path(".")
    tag: str | None = None
    branch: str | None = None
    source: str = "push"
    target: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    # The names in `variables` that come from variables files: the project's
    # settings, which reach child pipelines; the others are pipeline variables.
    settings_variables: frozenset[str] = frozenset()
    worktree: bool = False
    config_file: str = ".gitlab-ci.yml"
    # Where config_file was chosen when not on the command line, for messages.
    config_file_from: str | None = None


@dataclass(frozen=True)
class Context:
    """The pipeline's inputs, read once."""

    options: Options
    state: GitState
    ref: PipelineRef
    pipeline_id: int
    variables: Mapping[str, str]
    tree: SourceTree
    inputs: RuleInputs
    config: Config
    notes: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        """The repository's top folder."""
        return self.state.root


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    """`KEY=VALUE` strings from `--variable` into a mapping."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise UsageError(f"--variable takes KEY=VALUE, got '{pair}'")
        result[key] = value
    return result


def load_context(
    options: Options,
    *,
    pipeline_id: int,
    registry: str | None = None,
    state: GitState | None = None,
) -> Context:
    """Read git, choose the ref, compute predefined variables and load the config."""
    if options.source not in SOURCES:
        raise UsageError(
            f"unknown --source '{options.source}'; one of: {', '.join(SOURCES)}"
        )
    # The caller may have read the repository already (one read per command).
    state = state or gitstate.read_git_state(options.cwd)
    ref = choose_ref(
        state,
        tag=options.tag,
        branch=options.branch,
        source=options.source,
        target=options.target,
    )
    root = state.root
    base = changes_base(state, ref)
    merge_base = None
    if ref.kind == "merge_request" and ref.target_branch:
        target_sha = gitstate.resolve_commit(root, ref.target_branch)
        merge_base = gitstate.merge_base(root, target_sha, state.head.sha)
    variables = pipeline_variables(
        state,
        ref,
        pipeline_id=pipeline_id,
        config_path=options.config_file,
        registry=registry,
        merge_base_sha=merge_base,
    )
    if ref.kind == "branch" and ref.source == "push":
        variables["CI_COMMIT_BEFORE_SHA"] = base or ZERO_SHA

    tree: SourceTree
    if options.worktree:
        tree = DirectoryTree(root)
    else:
        tree = gitstate.commit_tree(root, state.head.sha)
    on_disk = root / options.config_file
    if not tree.is_file(options.config_file):
        if options.worktree:
            where = "the working tree"
        else:
            where = f"the commit {state.head.sha[:8]}"
            if on_disk.is_file():
                where += f" ({ONLY_IN_WORKTREE})"
        if options.config_file_from:
            where += f" (the file named by {options.config_file_from})"
        raise ConfigError(f"no {options.config_file} in {where}")
    notes: list[str] = []
    if not options.worktree and on_disk.is_file():
        if on_disk.read_bytes() != tree.read_bytes(options.config_file):
            notes.append(
                f"{options.config_file} has uncommitted changes, not used: "
                "this runs the committed file (--worktree runs the working tree)"
            )

    changed = None
    if merge_base:
        changed = gitstate.changed_paths(root, merge_base, state.head.sha)
    elif base:
        changed = gitstate.changed_paths(root, base, state.head.sha)
    compare_to = changes_since(root, state.head.sha)

    # `include:rules:changes` is judged as job `rules:changes`, so the
    # changed paths must be known before the includes are read
    # (https://docs.gitlab.com/ci/yaml/includes/#include-with-ruleschanges).
    include_view = {**variables, **options.variables}
    config = load_config(
        tree,
        options.config_file,
        include_variables=include_view,
        include_map=load_include_map(root),
        tree_root=root,
        changed_paths=changed,
        compare_to=compare_to,
    )

    inputs = RuleInputs(
        variables=variables,
        source=ref.source,
        ref_kind=ref.kind,
        ref_name=ref.name,
        changed_paths=changed,
        compare_to=compare_to,
        tree=tree,
    )
    return Context(
        options,
        state,
        ref,
        pipeline_id,
        variables,
        tree,
        inputs,
        config,
        tuple(notes),
    )


def changes_since(root: Path, head: str) -> Callable[[str], frozenset[str] | None]:
    """The paths changed between a ref and `head`, for `changes:compare_to`.

    A ref that names no commit fails the pipeline's creation, as on GitLab
    (Rule::Clause::Changes: "rules:changes:compare_to is not a valid ref").
    """

    def compare_to(ref_name: str) -> frozenset[str] | None:
        try:
            other = gitstate.resolve_commit(root, ref_name)
        except GitError:
            raise ConfigError(f"'{ref_name}' is not a valid ref") from None
        return gitstate.changed_paths(root, other, head)

    return compare_to


def changes_base(state: GitState, ref: PipelineRef) -> str | None:
    """The commit `rules:changes` compares with in a branch push pipeline.

    GitLab compares with the branch's tip before the push. Locally that is the
    upstream's tip when it is behind HEAD, else the commit before HEAD. Tag
    pipelines and sources without a push have none: `changes` is then true.
    """
    if ref.kind != "branch" or ref.source != "push":
        return None
    upstream = state.upstream_sha
    if upstream and upstream != state.head.sha:
        return upstream
    return state.head.parent_sha
