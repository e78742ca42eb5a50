"""Tests for minirunner.variables.predefined and .project, on real repositories."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import GIT_IDENTITY, MakeRepo, git

from minirunner.config.model import Environment
from minirunner.gitstate import merge_base, read_git_state
from minirunner.pipeline_ref import choose_ref
from minirunner.variables.predefined import (
    RUN_JOB_TOKEN,
    environment_variables,
    job_variables,
    pipeline_variables,
)
from minirunner.variables.project import ProjectInfo, project_info

ZEROS = "0" * 40
CREATED = datetime(2024, 1, 15, 10, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def isolated_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's git configuration out of what the tests read."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def commit_verbatim(repo: Path, message: str, date: str | None = None) -> str:
    """Commit with the message exactly as given (no whitespace clean-up)."""
    env = {**os.environ, **GIT_IDENTITY}
    if date:
        env["GIT_COMMITTER_DATE"] = date
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "--allow-empty-message"]
        + ["--cleanup=verbatim", "-F", "-"],
        cwd=repo,
        input=message,
        env=env,
        text=True,
        check=True,
    )
    return git(repo, "rev-parse", "HEAD")


def variables_for(repo: Path, **choice: str) -> dict[str, str]:
    state = read_git_state(repo)
    return pipeline_variables(
        state, choose_ref(state, **choice), pipeline_id=7, pipeline_created_at=CREATED
    )


def test_branch_pipeline_variables_exactly(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {"a.txt": "a"},
        branch="Feature/Foo_Bar.x--y-",
        message="Add login form\n\nLong explanation\nsecond line",
    )
    git(repo, "branch", "main")
    git(
        repo,
        "remote",
        "add",
        "origin",
        "https://gitlab.example.org:8443/Group/Sub/My.Project.git",
    )
    git(repo, "config", "user.name", "Ada Lovelace")
    git(repo, "config", "user.email", "ada@example.org")
    sha = git(repo, "rev-parse", "HEAD")
    state = read_git_state(repo)
    url = "https://gitlab.example.org:8443"

    variables = pipeline_variables(
        state,
        choose_ref(state),
        pipeline_id=7,
        registry="localhost:5000",
        pipeline_created_at=CREATED,
    )

    assert variables == {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_LOCAL": "true",
        "GITLAB_FEATURES": "",
        "CI_SERVER_NAME": "GitLab",
        "CI_SERVER_HOST": "gitlab.example.org",
        "CI_SERVER_PORT": "8443",
        "CI_SERVER_PROTOCOL": "https",
        "CI_SERVER_URL": url,
        "CI_SERVER_FQDN": "gitlab.example.org:8443",
        "CI_SERVER_SHELL_SSH_HOST": "gitlab.example.org",
        "CI_SERVER_SHELL_SSH_PORT": "22",
        "CI_API_V4_URL": f"{url}/api/v4",
        "CI_API_GRAPHQL_URL": f"{url}/api/graphql",
        "CI_TEMPLATE_REGISTRY_HOST": "registry.gitlab.com",
        "CI_PROJECT_ID": "1",
        "CI_PROJECT_NAME": "My.Project",
        "CI_PROJECT_TITLE": "My.Project",
        "CI_PROJECT_PATH": "Group/Sub/My.Project",
        "CI_PROJECT_PATH_SLUG": "group-sub-my-project",
        "CI_PROJECT_NAMESPACE": "Group/Sub",
        "CI_PROJECT_ROOT_NAMESPACE": "Group",
        "CI_PROJECT_URL": f"{url}/Group/Sub/My.Project",
        "CI_PROJECT_VISIBILITY": "private",
        "CI_DEFAULT_BRANCH": "main",
        "CI_CONFIG_PATH": ".gitlab-ci.yml",
        "CI_REGISTRY": "localhost:5000",
        "CI_REGISTRY_IMAGE": "localhost:5000/group/sub/my.project",
        "CI_PIPELINE_ID": "7",
        "CI_PIPELINE_IID": "7",
        "CI_PIPELINE_SOURCE": "push",
        "CI_PIPELINE_CREATED_AT": "2024-01-15T10:05:00Z",
        "CI_PIPELINE_URL": f"{url}/Group/Sub/My.Project/-/pipelines/7",
        "CI_COMMIT_SHA": sha,
        "CI_COMMIT_SHORT_SHA": sha[:8],
        "CI_COMMIT_BEFORE_SHA": ZEROS,
        "CI_COMMIT_REF_NAME": "Feature/Foo_Bar.x--y-",
        "CI_COMMIT_REF_SLUG": "feature-foo-bar-x--y",
        "CI_COMMIT_BRANCH": "Feature/Foo_Bar.x--y-",
        "CI_COMMIT_MESSAGE": "Add login form\n\nLong explanation\nsecond line\n",
        "CI_COMMIT_MESSAGE_IS_TRUNCATED": "false",
        "CI_COMMIT_TITLE": "Add login form",
        "CI_COMMIT_DESCRIPTION": "\nLong explanation\nsecond line",
        "CI_COMMIT_REF_PROTECTED": "false",
        "CI_COMMIT_TIMESTAMP": "2024-01-15T10:00:00Z",
        "CI_COMMIT_AUTHOR": "Test User <test@example.com>",
        "GITLAB_USER_ID": "1",
        "GITLAB_USER_LOGIN": "ada",
        "GITLAB_USER_NAME": "Ada Lovelace",
        "GITLAB_USER_EMAIL": "ada@example.org",
    }


def test_lightweight_tag_pipeline(make_repo: MakeRepo) -> None:
    variables = variables_for(make_repo({"a.txt": "a"}, tag="v1.2.3"))

    assert variables["CI_COMMIT_TAG"] == "v1.2.3"
    assert variables["CI_COMMIT_TAG_MESSAGE"] == ""
    assert variables["CI_COMMIT_REF_NAME"] == "v1.2.3"
    assert variables["CI_COMMIT_REF_SLUG"] == "v1-2-3"
    assert variables["CI_COMMIT_BEFORE_SHA"] == ZEROS
    assert "CI_COMMIT_BRANCH" not in variables
    assert "CI_MERGE_REQUEST_IID" not in variables


def test_annotated_tag_pipeline_has_the_tag_message(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    git(repo, "tag", "-a", "Release-2", "-m", "Second release\n\nWith notes")

    variables = variables_for(repo)

    assert variables["CI_COMMIT_TAG"] == "Release-2"
    assert variables["CI_COMMIT_TAG_MESSAGE"] == "Second release\n\nWith notes"
    assert variables["CI_COMMIT_REF_SLUG"] == "release-2"


def test_branch_pipeline_has_no_tag_variables(make_repo: MakeRepo) -> None:
    variables = variables_for(make_repo({"a.txt": "a"}, tag="v1"), branch="main")

    assert variables["CI_COMMIT_BRANCH"] == "main"
    assert "CI_COMMIT_TAG" not in variables
    assert "CI_COMMIT_TAG_MESSAGE" not in variables


TITLE_99 = "t" * 99
TITLE_100 = "t" * 100


@pytest.mark.parametrize(
    ("message", "title", "description"),
    [
        ("Single line", "Single line", ""),
        ("Single line\n", "Single line", ""),
        ("Title\n\nBody one\nBody two\n", "Title", "\nBody one\nBody two"),
        ("Title\nBody\n\n", "Title", "Body\n"),
        ("Title\r\n\r\nBody\r\n", "Title", "\r\nBody"),
        ("Carriage\rreturn\n", "Carriage", ""),
        (f"{TITLE_99}\n\nBody\n", TITLE_99, "\nBody"),
        (f"{TITLE_100}\n\nBody\n", TITLE_100, f"{TITLE_100}\n\nBody\n"),
        (f"{TITLE_100}", TITLE_100, TITLE_100),
        ("", "No commit message", "No commit message"),
        ("  \n", "No commit message", "No commit message"),
    ],
)
def test_commit_title_and_description(
    make_repo: MakeRepo, message: str, title: str, description: str
) -> None:
    repo = make_repo({"a.txt": "a"})
    commit_verbatim(repo, message)

    variables = variables_for(repo)

    assert variables["CI_COMMIT_MESSAGE"] == message
    assert variables["CI_COMMIT_TITLE"] == title
    assert variables["CI_COMMIT_DESCRIPTION"] == description


def test_long_commit_message_is_truncated_to_100000_bytes(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    message = "Title\n\n" + "é" * 60_000 + "\n"
    commit_verbatim(repo, message)

    variables = variables_for(repo)

    assert variables["CI_COMMIT_MESSAGE_IS_TRUNCATED"] == "true"
    assert len(variables["CI_COMMIT_MESSAGE"].encode()) == 99_999
    assert variables["CI_COMMIT_MESSAGE"] == message[:50_003]
    assert variables["CI_COMMIT_TITLE"] == "Title"


def test_timestamp_is_utc_with_z(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    commit_verbatim(repo, "Later\n", date="2024-06-30T23:15:09-05:00")

    assert variables_for(repo)["CI_COMMIT_TIMESTAMP"] == "2024-07-01T04:15:09Z"


def test_before_sha_is_the_upstream_tip_for_a_push(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    origin = make_repo({"a.txt": "a"}, name="origin")
    pushed = git(origin, "rev-parse", "HEAD")
    git(tmp_path, "clone", "-q", str(origin), "clone")
    clone = tmp_path / "clone"
    commit_verbatim(clone, "Not pushed yet\n")

    assert variables_for(clone)["CI_COMMIT_BEFORE_SHA"] == pushed
    assert variables_for(clone, source="web")["CI_COMMIT_BEFORE_SHA"] == ZEROS
    assert variables_for(clone)["CI_PROJECT_PATH"] == "local/clone"


def test_merge_request_pipeline_variables(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"}, name="shop")
    git(repo, "remote", "add", "origin", "git@gitlab.com:acme/shop.git")
    fork = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "Feature/Cart")
    head = commit_verbatim(repo, "Draft: Add cart\n\nLets users buy.\n")
    git(repo, "checkout", "-q", "main")
    commit_verbatim(repo, "Meanwhile on main\n")
    git(repo, "checkout", "-q", "Feature/Cart")
    state = read_git_state(repo)
    ref = choose_ref(state, source="merge_request_event")

    variables = pipeline_variables(
        state,
        ref,
        pipeline_id=3,
        merge_base_sha=merge_base(repo, "main", "HEAD"),
        pipeline_created_at=CREATED,
    )

    project_url = "https://gitlab.com/acme/shop"
    merge_request = {
        key: value for key, value in variables.items() if "_MERGE_REQUEST_" in key
    }
    assert merge_request == {
        "CI_MERGE_REQUEST_EVENT_TYPE": "detached",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "",
        "CI_MERGE_REQUEST_TARGET_BRANCH_SHA": "",
        "CI_MERGE_REQUEST_DIFF_ID": "1",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": fork,
        "CI_MERGE_REQUEST_ID": "1",
        "CI_MERGE_REQUEST_IID": "1",
        "CI_MERGE_REQUEST_REF_PATH": "refs/merge-requests/1/head",
        "CI_MERGE_REQUEST_PROJECT_ID": "1",
        "CI_MERGE_REQUEST_PROJECT_PATH": "acme/shop",
        "CI_MERGE_REQUEST_PROJECT_URL": project_url,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED": "false",
        "CI_MERGE_REQUEST_TITLE": "Draft: Add cart",
        "CI_MERGE_REQUEST_DESCRIPTION": "Lets users buy.",
        "CI_MERGE_REQUEST_DESCRIPTION_IS_TRUNCATED": "false",
        "CI_MERGE_REQUEST_DRAFT": "true",
        "CI_MERGE_REQUEST_SQUASH_ON_MERGE": "false",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "1",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH": "acme/shop",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_URL": project_url,
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "Feature/Cart",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED": "false",
    }
    assert variables["CI_PIPELINE_SOURCE"] == "merge_request_event"
    assert variables["CI_OPEN_MERGE_REQUESTS"] == "acme/shop!1"
    assert variables["CI_COMMIT_REF_NAME"] == "Feature/Cart"
    assert variables["CI_COMMIT_REF_SLUG"] == "feature-cart"
    assert variables["CI_COMMIT_SHA"] == head
    assert variables["CI_COMMIT_BEFORE_SHA"] == ZEROS
    assert "CI_COMMIT_BRANCH" not in variables


def test_without_remote_or_user_the_project_is_local(make_repo: MakeRepo) -> None:
    variables = variables_for(make_repo({"a.txt": "a"}, name="My App"))

    assert variables["CI_PROJECT_PATH"] == "local/My App"
    assert variables["CI_PROJECT_NAME"] == "My App"
    assert variables["CI_PROJECT_NAMESPACE"] == "local"
    assert variables["CI_PROJECT_PATH_SLUG"] == "local-my-app"
    assert variables["CI_SERVER_URL"] == "https://gitlab.example.com"
    assert variables["CI_SERVER_PORT"] == "443"
    assert variables["GITLAB_USER_NAME"] == "Test User"
    assert variables["GITLAB_USER_EMAIL"] == "test@example.com"
    assert variables["GITLAB_USER_LOGIN"] == "test"
    assert "CI_REGISTRY" not in variables
    assert "CI_REGISTRY_IMAGE" not in variables


@pytest.mark.parametrize(
    ("url", "info"),
    [
        (
            "https://gitlab.com/gitlab-org/gitlab-runner.git",
            ProjectInfo(
                "gitlab-org/gitlab-runner",
                "gitlab-org",
                "gitlab-runner",
                "gitlab-org",
                "gitlab.com",
                None,
                "https",
            ),
        ),
        (
            "https://user:token@Git.Example.com:443/a/b/c/",
            ProjectInfo("a/b/c", "a/b", "c", "a", "git.example.com", None, "https"),
        ),
        (
            "http://10.0.0.5:8080/team/app.git",
            ProjectInfo("team/app", "team", "app", "team", "10.0.0.5", "8080", "http"),
        ),
        (
            "ssh://git@gitlab.example.com:2222/group/sub/proj.git",
            ProjectInfo(
                "group/sub/proj",
                "group/sub",
                "proj",
                "group",
                "gitlab.example.com",
                None,
                "https",
                "2222",
            ),
        ),
        (
            "git@gitlab.com:Group/Project.git",
            ProjectInfo(
                "Group/Project",
                "Group",
                "Project",
                "Group",
                "gitlab.com",
                None,
                "https",
            ),
        ),
        (
            "gitlab.com:solo.git",
            ProjectInfo(
                "local/solo", "local", "solo", "local", "gitlab.com", None, "https"
            ),
        ),
        (
            "/srv/git/project.git",
            ProjectInfo(
                "local/folder",
                "local",
                "folder",
                "local",
                "gitlab.example.com",
                None,
                "https",
            ),
        ),
        (
            "file:///srv/git/project.git",
            ProjectInfo(
                "local/folder",
                "local",
                "folder",
                "local",
                "gitlab.example.com",
                None,
                "https",
            ),
        ),
        (
            None,
            ProjectInfo(
                "local/folder",
                "local",
                "folder",
                "local",
                "gitlab.example.com",
                None,
                "https",
            ),
        ),
    ],
)
def test_project_info_from_remote_urls(url: str | None, info: ProjectInfo) -> None:
    assert project_info(url, "folder") == info


def test_ssh_remote_gives_ssh_port(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.txt": "a"})
    git(repo, "remote", "add", "origin", "ssh://git@code.corp:2222/infra/deploy.git")

    variables = variables_for(repo)

    assert variables["CI_SERVER_URL"] == "https://code.corp"
    assert variables["CI_SERVER_SHELL_SSH_PORT"] == "2222"
    assert variables["CI_PROJECT_URL"] == "https://code.corp/infra/deploy"


def test_job_variables_exactly() -> None:
    variables = job_variables(
        job_name="test: [linux, 3.12]",
        stage="test",
        job_id=42,
        project_dir="/builds/acme/shop",
        builds_dir="/builds",
        node_index=2,
        node_total=4,
        timeout_s=3600,
        image="python:3.12",
        registry_user="gitlab-ci-token",
        registry_password="s3cret",
        started_at=datetime(2024, 1, 15, 11, 0, 30, tzinfo=UTC),
        project_url="https://gitlab.com/acme/shop",
        concurrent_id=3,
    )

    architecture = variables.pop("CI_RUNNER_EXECUTABLE_ARCH")
    assert architecture.startswith("linux/")
    assert variables == {
        "CI_JOB_NAME": "test: [linux, 3.12]",
        "CI_JOB_NAME_SLUG": "test---linux--3-12",
        "CI_JOB_STAGE": "test",
        "CI_JOB_ID": "42",
        "CI_JOB_STARTED_AT": "2024-01-15T11:00:30Z",
        "CI_JOB_STATUS": "running",
        "CI_JOB_TIMEOUT": "3600",
        "CI_JOB_TOKEN": "s3cret",
        "CI_JOB_URL": "https://gitlab.com/acme/shop/-/jobs/42",
        "CI_JOB_IMAGE": "python:3.12",
        "CI_PROJECT_DIR": "/builds/acme/shop",
        "CI_BUILDS_DIR": "/builds",
        "CI_CONCURRENT_ID": "3",
        "CI_CONCURRENT_PROJECT_ID": "3",
        "CI_NODE_INDEX": "2",
        "CI_NODE_TOTAL": "4",
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": "s3cret",
        "CI_SERVER": "yes",
        "CI_RUNNER_DESCRIPTION": "minirunner",
        "CI_RUNNER_VERSION": "0.1.0",
    }


def test_job_variables_without_parallel_image_or_registry() -> None:
    variables = job_variables(
        job_name="lint",
        stage="build",
        job_id=1,
        project_dir="/work/p",
        builds_dir="/work",
        node_index=None,
        node_total=1,
        timeout_s=600,
        image=None,
        registry_user=None,
        registry_password=None,
        started_at=CREATED,
    )

    assert variables["CI_NODE_TOTAL"] == "1"
    assert variables["CI_JOB_TOKEN"] == RUN_JOB_TOKEN
    assert RUN_JOB_TOKEN.startswith("glcbt-local-")
    for absent in (
        "CI_NODE_INDEX",
        "CI_JOB_IMAGE",
        "CI_REGISTRY_USER",
        "CI_REGISTRY_PASSWORD",
        "CI_JOB_URL",
    ):
        assert absent not in variables


def test_environment_variables_exactly() -> None:
    environment = Environment("review/$CI_COMMIT_REF_SLUG", url="https://$HOST")
    assert environment_variables(environment, "review/main", "https://x.test") == {
        "CI_ENVIRONMENT_NAME": "review/main",
        "CI_ENVIRONMENT_SLUG": "review-main-yi2y9f",
        "CI_ENVIRONMENT_ACTION": "start",
        "CI_ENVIRONMENT_TIER": "development",
        "CI_ENVIRONMENT_URL": "https://x.test",
    }


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("production", "production"),
        ("Live", "production"),
        ("staging", "staging"),
        ("pre-prod", "staging"),
        ("qa", "testing"),
        ("integration", "testing"),
        ("dev", "development"),
        ("review/feature", "development"),
        ("customer-portal", "other"),
    ],
)
def test_environment_tier_is_guessed_from_the_name(name: str, tier: str) -> None:
    variables = environment_variables(Environment(name), name, "")
    assert variables["CI_ENVIRONMENT_TIER"] == tier
    assert "CI_ENVIRONMENT_URL" not in variables


def test_deployment_tier_wins_over_the_name() -> None:
    environment = Environment("Production", action="prepare", tier="staging")
    variables = environment_variables(environment, "Production", "")
    assert variables["CI_ENVIRONMENT_TIER"] == "staging"
    assert variables["CI_ENVIRONMENT_ACTION"] == "prepare"
    assert variables["CI_ENVIRONMENT_SLUG"] == "production-iis43c"
