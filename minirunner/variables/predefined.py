"""GitLab's predefined CI/CD variables, derived from git and the run's settings.

https://docs.gitlab.com/ci/variables/predefined_variables/; the commit variables
follow `Gitlab::Ci::Variables::Builder::Pipeline` and `Commit#full_title` and
`#description` of GitLab's source.
"""

from __future__ import annotations

import platform
import re
import secrets
from datetime import UTC, datetime

from minirunner import __version__
from minirunner.config.model import Environment
from minirunner.gitstate import ZERO_SHA, CommitInfo, GitState
from minirunner.pipeline_ref import PipelineRef
from minirunner.variables.project import ProjectInfo, project_info
from minirunner.variables.slug import environment_slug, slugify

# GITLAB_CI stays "true" as on GitLab, so scripts behave the same; CI_LOCAL is
# minirunner's marker for scripts that must know they run locally.
LOCAL_MARKER = "CI_LOCAL"
# One GitLab project, one merge request, one user: their IDs are fixed.
LOCAL_ID = "1"
# GITLAB_CI_MAX_COMMIT_MESSAGE_SIZE_IN_BYTES's default.
MAX_COMMIT_MESSAGE_BYTES = 100_000
# CI_MERGE_REQUEST_DESCRIPTION keeps the first 2700 characters.
MAX_MR_DESCRIPTION_CHARS = 2700
NO_COMMIT_MESSAGE = "No commit message"
TEMPLATE_REGISTRY_HOST = "registry.gitlab.com"
REGISTRY_USER = "gitlab-ci-token"

# A job token for this run of minirunner; the same for all its jobs.
RUN_JOB_TOKEN = f"glcbt-local-{secrets.token_hex(16)}"

_DRAFT_TITLE = re.compile(r"\s*(\[draft\]|\(draft\)|draft:)", re.IGNORECASE)
# GitLab's `Environment#guess_tier`: the first pattern the name matches decides.
_TIERS = (
    (re.compile(r"dev|review|trunk", re.IGNORECASE), "development"),
    (
        re.compile(r"test|tst|int|ac(ce|)pt|qa|qc|control|quality", re.IGNORECASE),
        "testing",
    ),
    (re.compile(r"st(a|)g|mod(e|)l|pre|demo|non", re.IGNORECASE), "staging"),
    (re.compile(r"pr(o|)d|live", re.IGNORECASE), "production"),
)
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386"}


def pipeline_variables(
    state: GitState,
    ref: PipelineRef,
    *,
    pipeline_id: int,
    config_path: str = ".gitlab-ci.yml",
    registry: str | None = None,
    merge_base_sha: str | None = None,
    pipeline_created_at: datetime | None = None,
) -> dict[str, str]:
    """Every predefined variable known when the pipeline is created (usable in rules).

    Choices for what a local run cannot know: CI_PIPELINE_IID equals
    CI_PIPELINE_ID (minirunner's counter; GitLab lists CI_PIPELINE_ID and
    CI_PIPELINE_URL as job-only); project, user and merge request IDs are 1;
    CI_COMMIT_REF_PROTECTED is false; GITLAB_USER_* come from git's user.name
    and user.email, else from HEAD's author; the merge request's title and
    description are HEAD's; CI_REGISTRY and CI_REGISTRY_IMAGE only when
    `registry` is given. CI_LOCAL=true marks a minirunner run.
    """
    project = project_info(state.remote_url, state.root.name)
    created = pipeline_created_at or datetime.now(UTC)
    variables = {
        "CI": "true",
        "GITLAB_CI": "true",
        LOCAL_MARKER: "true",
        "GITLAB_FEATURES": "",
        **_server_variables(project),
        **_project_variables(project, state, config_path, registry),
        "CI_PIPELINE_ID": str(pipeline_id),
        "CI_PIPELINE_IID": str(pipeline_id),
        "CI_PIPELINE_SOURCE": ref.source,
        "CI_PIPELINE_CREATED_AT": _timestamp(created),
        "CI_PIPELINE_URL": f"{project.url}/-/pipelines/{pipeline_id}",
        **_commit_variables(state, ref),
        **_user_variables(state),
    }
    if ref.kind == "tag":
        variables["CI_COMMIT_TAG"] = ref.name
        variables["CI_COMMIT_TAG_MESSAGE"] = ref.tag_message or ""
    if ref.kind == "merge_request":
        variables.update(_merge_request_variables(state, ref, project, merge_base_sha))
    return variables


def job_variables(
    *,
    job_name: str,
    stage: str,
    job_id: int,
    project_dir: str,
    builds_dir: str,
    node_index: int | None,
    node_total: int,
    timeout_s: int,
    image: str | None,
    registry_user: str | None,
    registry_password: str | None,
    started_at: datetime,
    project_url: str | None = None,
    concurrent_id: int = 0,
) -> dict[str, str]:
    """The variables of one job, added when a runner takes it.

    CI_JOB_TOKEN is `registry_password` when given, as on GitLab where the
    registry password is the job token (so `docker login -u $CI_REGISTRY_USER
    -p $CI_JOB_TOKEN` works), else a token made once per minirunner run.
    CI_JOB_URL needs `project_url`. CI_JOB_STATUS is `running`; the executor sets
    the job's status for `after_script`.
    """
    variables = {
        "CI_JOB_NAME": job_name,
        "CI_JOB_NAME_SLUG": slugify(job_name),
        "CI_JOB_STAGE": stage,
        "CI_JOB_ID": str(job_id),
        "CI_JOB_STARTED_AT": _timestamp(started_at),
        "CI_JOB_STATUS": "running",
        "CI_JOB_TIMEOUT": str(timeout_s),
        "CI_JOB_TOKEN": registry_password or RUN_JOB_TOKEN,
        "CI_PROJECT_DIR": project_dir,
        "CI_BUILDS_DIR": builds_dir,
        "CI_CONCURRENT_ID": str(concurrent_id),
        "CI_CONCURRENT_PROJECT_ID": str(concurrent_id),
        "CI_NODE_TOTAL": str(node_total),
        "CI_SERVER": "yes",
        "CI_RUNNER_DESCRIPTION": "minirunner",
        "CI_RUNNER_VERSION": __version__,
        "CI_RUNNER_EXECUTABLE_ARCH": _executable_arch(),
    }
    if project_url:
        variables["CI_JOB_URL"] = f"{project_url}/-/jobs/{job_id}"
    if image:
        variables["CI_JOB_IMAGE"] = image
    if node_index is not None:
        variables["CI_NODE_INDEX"] = str(node_index)
    if registry_user:
        variables["CI_REGISTRY_USER"] = registry_user
    if registry_password:
        variables["CI_REGISTRY_PASSWORD"] = registry_password
    return variables


def environment_variables(
    environment: Environment, name: str, url: str
) -> dict[str, str]:
    """CI_ENVIRONMENT_* of a job with `environment:`, given its name and URL with
    the job's variables expanded."""
    tier = environment.tier or next(
        (tier for pattern, tier in _TIERS if pattern.search(name)), "other"
    )
    variables = {
        "CI_ENVIRONMENT_NAME": name,
        "CI_ENVIRONMENT_SLUG": environment_slug(name),
        "CI_ENVIRONMENT_ACTION": environment.action,
        "CI_ENVIRONMENT_TIER": tier,
    }
    if url:
        variables["CI_ENVIRONMENT_URL"] = url
    return variables


def commit_title(message: str) -> str:
    """`Commit#full_title`: the whole first line, split at `\\r` or `\\n`."""
    if not message.strip():
        return NO_COMMIT_MESSAGE
    return re.split(r"[\r\n]", message, maxsplit=1)[0]


def commit_description(message: str) -> str:
    """`Commit#description`: the whole message when the title has 100 characters
    or more, else what follows the first newline, one trailing newline removed."""
    if len(commit_title(message)) >= 100:
        return message
    if not message.strip():
        return NO_COMMIT_MESSAGE
    parts = message.split("\n", 1)
    return _chomp(parts[1]) if len(parts) == 2 else ""


def _server_variables(project: ProjectInfo) -> dict[str, str]:
    return {
        "CI_SERVER_NAME": "GitLab",
        "CI_SERVER_HOST": project.server_host,
        "CI_SERVER_PORT": project.effective_port,
        "CI_SERVER_PROTOCOL": project.server_protocol,
        "CI_SERVER_URL": project.server_url,
        "CI_SERVER_FQDN": project.server_fqdn,
        "CI_SERVER_SHELL_SSH_HOST": project.server_host,
        "CI_SERVER_SHELL_SSH_PORT": project.ssh_port or "22",
        "CI_API_V4_URL": f"{project.server_url}/api/v4",
        "CI_API_GRAPHQL_URL": f"{project.server_url}/api/graphql",
        "CI_TEMPLATE_REGISTRY_HOST": TEMPLATE_REGISTRY_HOST,
    }


def _project_variables(
    project: ProjectInfo, state: GitState, config_path: str, registry: str | None
) -> dict[str, str]:
    variables = {
        "CI_PROJECT_ID": LOCAL_ID,
        "CI_PROJECT_NAME": project.name,
        "CI_PROJECT_TITLE": project.name,
        "CI_PROJECT_PATH": project.path,
        "CI_PROJECT_PATH_SLUG": slugify(project.path),
        "CI_PROJECT_NAMESPACE": project.namespace,
        "CI_PROJECT_ROOT_NAMESPACE": project.root_namespace,
        "CI_PROJECT_URL": project.url,
        "CI_PROJECT_VISIBILITY": "private",
        "CI_DEFAULT_BRANCH": state.default_branch,
        "CI_CONFIG_PATH": config_path,
    }
    if registry:
        variables["CI_REGISTRY"] = registry
        variables["CI_REGISTRY_IMAGE"] = f"{registry}/{project.path.lower()}"
    return variables


def _commit_variables(state: GitState, ref: PipelineRef) -> dict[str, str]:
    head = state.head
    message, truncated = _truncated(head.message)
    variables = {
        "CI_COMMIT_SHA": head.sha,
        "CI_COMMIT_SHORT_SHA": head.sha[:8],
        "CI_COMMIT_BEFORE_SHA": _before_sha(state, ref),
        "CI_COMMIT_REF_NAME": ref.name,
        "CI_COMMIT_REF_SLUG": slugify(ref.name),
    }
    if ref.kind == "branch":
        variables["CI_COMMIT_BRANCH"] = ref.name
    title, description = commit_title(head.message), commit_description(head.message)
    if truncated:
        title, description = _truncated(title)[0], _truncated(description)[0]
    variables.update(
        {
            "CI_COMMIT_MESSAGE": message,
            "CI_COMMIT_MESSAGE_IS_TRUNCATED": "true" if truncated else "false",
            "CI_COMMIT_TITLE": title,
            "CI_COMMIT_DESCRIPTION": description,
            "CI_COMMIT_REF_PROTECTED": "false",
            "CI_COMMIT_TIMESTAMP": _timestamp(head.committed_at),
            "CI_COMMIT_AUTHOR": f"{head.author_name} <{head.author_email}>",
        }
    )
    return variables


def _before_sha(state: GitState, ref: PipelineRef) -> str:
    """The upstream tip for a push of the checked-out branch; else 40 zeros, as
    GitLab gives for tags, merge requests, new branches and manual pipelines."""
    pushed = ref.kind == "branch" and ref.source == "push" and ref.name == state.branch
    return state.upstream_sha if pushed and state.upstream_sha else ZERO_SHA


def _user_variables(state: GitState) -> dict[str, str]:
    name = state.user_name or state.head.author_name
    email = state.user_email or state.head.author_email
    login = email.partition("@")[0] if email else slugify(name) or "minirunner"
    return {
        "GITLAB_USER_ID": LOCAL_ID,
        "GITLAB_USER_LOGIN": login,
        "GITLAB_USER_NAME": name,
        "GITLAB_USER_EMAIL": email,
    }


def _merge_request_variables(
    state: GitState, ref: PipelineRef, project: ProjectInfo, base: str | None
) -> dict[str, str]:
    head: CommitInfo = state.head
    title = commit_title(head.message)
    body = head.message.split("\n", 1)[1].strip() if "\n" in head.message else ""
    mr_ref = f"refs/merge-requests/{LOCAL_ID}/head"
    variables = {
        "CI_MERGE_REQUEST_EVENT_TYPE": "detached",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "",
        "CI_MERGE_REQUEST_TARGET_BRANCH_SHA": "",
    }
    if base:
        variables["CI_MERGE_REQUEST_DIFF_ID"] = LOCAL_ID
        variables["CI_MERGE_REQUEST_DIFF_BASE_SHA"] = base
    truncated = len(body) > MAX_MR_DESCRIPTION_CHARS
    variables.update(
        {
            "CI_MERGE_REQUEST_ID": LOCAL_ID,
            "CI_MERGE_REQUEST_IID": LOCAL_ID,
            "CI_MERGE_REQUEST_REF_PATH": mr_ref,
            "CI_MERGE_REQUEST_PROJECT_ID": LOCAL_ID,
            "CI_MERGE_REQUEST_PROJECT_PATH": project.path,
            "CI_MERGE_REQUEST_PROJECT_URL": project.url,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": ref.target_branch or "",
            "CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED": "false",
            "CI_MERGE_REQUEST_TITLE": title,
            "CI_MERGE_REQUEST_DESCRIPTION": body[:MAX_MR_DESCRIPTION_CHARS],
            "CI_MERGE_REQUEST_DESCRIPTION_IS_TRUNCATED": str(truncated).lower(),
            "CI_MERGE_REQUEST_DRAFT": str(bool(_DRAFT_TITLE.match(title))).lower(),
            "CI_MERGE_REQUEST_SQUASH_ON_MERGE": "false",
            "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": LOCAL_ID,
            "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH": project.path,
            "CI_MERGE_REQUEST_SOURCE_PROJECT_URL": project.url,
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": ref.name,
            "CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED": "false",
            "CI_OPEN_MERGE_REQUESTS": f"{project.path}!{LOCAL_ID}",
        }
    )
    return variables


def _truncated(text: str) -> tuple[str, bool]:
    encoded = text.encode()
    if len(encoded) <= MAX_COMMIT_MESSAGE_BYTES:
        return text, False
    return encoded[:MAX_COMMIT_MESSAGE_BYTES].decode(errors="ignore"), True


def _chomp(text: str) -> str:
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the second, as GitLab prints times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _executable_arch() -> str:
    machine = platform.machine().lower()
    return f"{platform.system().lower()}/{_ARCHITECTURES.get(machine, machine)}"
