"""Build and check one scenario folder of tests/scenarios against the CLI's contract.

A scenario is a folder holding `case.json` and the repository's files. The format
is the one of the acceptance cases (`git`, `variables`, `expect` with
`pipeline_created`, `jobs`, `absent`, `outcomes`, `log_contains`), plus:

- `git.tag_message`: make the tag annotated, with this message;
- `git.base_branches` / `git.base_tags`: refs made at the first commit;
- `extra_commits`: commits made after the first one, each
  `{"message", "files": {path: text or null to delete}, "tag"?, "branch"?}`;
  the last commit takes `git.commit_message` unless it names its own;
- `args`: extra arguments for every command (`--source`, `--target`, ...);
- `run_args`: extra arguments for `run` only (e.g. a job name to play it);
- `untracked_files`: `{path: text}` written after the last commit, never added;
- `expect_error`: `{"exit_code", "message_contains": [...]}` for `list --json`;
- `expect.all_jobs`: the exact job names of the plan, in order;
- `expect.stages`: the exact `stages` of the plan;
- `expect.variables`: `{job: {KEY: value or null for unset}}`, from `vars --json`;
- `expect.pipeline_status` / `expect.run_exit_code`: from `run`;
- `expect.log_lacks`: `{job: [text]}` that must not be in the job's log;
- `known_failure`: why minirunner gets the case wrong today (the test xfails).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scenario_cli import Done, cli

SCENARIOS = Path(__file__).parent / "scenarios"

# The same identity, dates and isolation as /work/shared/acceptance/make_repo.sh,
# so a scenario always yields the same commit SHAs.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2024-01-15T10:00:00+00:00",
    "GIT_COMMITTER_DATE": "2024-01-15T10:00:00+00:00",
}
REPO_CONFIG = """[core]
\tautocrlf = false
\tfileMode = true
[commit]
\tgpgsign = false
[tag]
\tgpgsign = false
"""


def case_names() -> list[str]:
    """Every scenario folder, sorted by name."""
    if not SCENARIOS.is_dir():
        return []
    return sorted(
        entry.name for entry in SCENARIOS.iterdir() if (entry / "case.json").is_file()
    )


def load_case(name: str) -> dict[str, Any]:
    """The parsed `case.json` of a scenario."""
    data: dict[str, Any] = json.loads((SCENARIOS / name / "case.json").read_text())
    return data


def _git_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")
    }
    env.update(GIT_ENV)
    return env


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    """Run git in repo with the pinned identity; its stdout."""
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=_git_env(),
        input=stdin,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _copy_case_files(case_dir: Path, target: Path) -> None:
    for source in sorted(case_dir.rglob("*")):
        relative = source.relative_to(case_dir)
        if relative == Path("case.json"):
            continue
        destination = target / relative
        if source.is_dir():
            destination.mkdir(mode=0o755, parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        destination.chmod(0o644)


def _apply_files(repo: Path, files: Mapping[str, str | None]) -> None:
    for relative, text in files.items():
        path = repo / relative
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(
        repo,
        "commit",
        "-q",
        "--no-verify",
        "--allow-empty",
        "--cleanup=whitespace",
        "-F",
        "-",
        stdin=message,
    )


def build_repo(case_dir: Path, case: Mapping[str, Any], target: Path) -> None:
    """Make the scenario's git repository in `target` (which must not exist)."""
    spec = case["git"]
    target.mkdir(parents=True)
    _copy_case_files(case_dir, target)
    git(target, "init", "-q", "--template=", "-b", spec["branch"])
    with (target / ".git" / "config").open("a") as config:
        config.write(REPO_CONFIG)
    if remote := spec.get("remote"):
        git(target, "remote", "add", "origin", remote)

    extra: Sequence[Mapping[str, Any]] = case.get("extra_commits", [])
    _commit(target, spec["commit_message"] if not extra else "Initial commit")
    for name in spec.get("base_branches", []):
        git(target, "branch", name)
    for name in spec.get("base_tags", []):
        git(target, "tag", name)
    for index, commit in enumerate(extra):
        _apply_files(target, commit.get("files", {}))
        last = index == len(extra) - 1
        default = spec["commit_message"] if last else f"Commit {index + 2}"
        _commit(target, commit.get("message", default))
        if commit.get("tag"):
            git(target, "tag", commit["tag"])
        if commit.get("branch"):
            git(target, "branch", commit["branch"])

    _apply_files(target, case.get("untracked_files", {}))
    if spec.get("tag"):
        if spec.get("tag_message"):
            git(target, "tag", "-a", spec["tag"], "-F", "-", stdin=spec["tag_message"])
        else:
            git(target, "tag", spec["tag"])


def _cli_env(work: Path) -> dict[str, str]:
    env = _git_env()
    env["MINIRUNNER_STATE_DIR"] = str(work / "state")
    env.pop("CI_LOCAL", None)
    return env


def common_args(case: Mapping[str, Any]) -> list[str]:
    """The arguments every command of the scenario gets."""
    args: list[str] = []
    for key, value in case.get("variables", {}).items():
        args += ["--variable", f"{key}={value}"]
    return args + list(case.get("args", []))


def check_case(name: str, work: Path) -> list[str]:
    """Build the scenario's repository in work, run the CLI, list what differs."""
    case = load_case(name)
    repo = work / "repo"
    build_repo(SCENARIOS / name, case, repo)
    env = _cli_env(work)
    args = common_args(case)

    listed = cli(repo, ["list", "--json", *args], env)
    if "expect_error" in case:
        return _check_error(case["expect_error"], listed)
    try:
        plan = json.loads(listed.stdout)
    except ValueError:
        tail = listed.stderr.strip()[-300:]
        return [f"list --json gave no JSON (exit {listed.returncode}): {tail}"]

    expect = case["expect"]
    problems = _check_plan(expect, plan)
    for job, wanted in expect.get("variables", {}).items():
        problems += _check_variables(repo, env, args, job, wanted)
    if any(
        key in expect
        for key in (
            "outcomes",
            "log_contains",
            "log_lacks",
            "pipeline_status",
            "run_exit_code",
        )
    ):
        problems += _check_run(case, repo, work, env, args)
    return problems


def _check_error(wanted: Mapping[str, Any], done: Done) -> list[str]:
    problems = []
    if done.returncode != wanted["exit_code"]:
        problems.append(
            f"exit code {done.returncode}, expected {wanted['exit_code']} "
            f"(stderr: {done.stderr.strip()[-300:]!r})"
        )
    message = done.stderr
    for needle in wanted.get("message_contains", []):
        if needle not in message:
            problems.append(f"error lacks {needle!r}: {message.strip()[-300:]!r}")
    if "Traceback" in message:
        problems.append("the error came with a traceback")
    return problems


def _check_plan(expect: Mapping[str, Any], plan: Mapping[str, Any]) -> list[str]:
    problems = []
    created = plan.get("pipeline", {}).get("created", True)
    if created != expect.get("pipeline_created", True):
        problems.append(
            f"pipeline created={created}, expected {expect.get('pipeline_created')}"
        )
    jobs = {job["name"]: job for job in plan.get("jobs", [])}
    for job_name, wanted in expect.get("jobs", {}).items():
        got = jobs.get(job_name)
        if got is None:
            problems.append(f"job {job_name!r} missing (plan has {sorted(jobs)})")
            continue
        for key, value in wanted.items():
            if got.get(key) != value:
                problems.append(
                    f"{job_name}.{key}={got.get(key)!r}, expected {value!r}"
                )
    for job_name in expect.get("absent", []):
        if job_name in jobs:
            problems.append(f"job {job_name!r} present, expected absent")
    if "all_jobs" in expect:
        names = [job["name"] for job in plan.get("jobs", [])]
        if names != expect["all_jobs"]:
            problems.append(f"jobs {names!r}, expected {expect['all_jobs']!r}")
    if "stages" in expect and plan.get("stages") != expect["stages"]:
        problems.append(f"stages {plan.get('stages')!r}, expected {expect['stages']!r}")
    return problems


def _check_variables(
    repo: Path,
    env: Mapping[str, str],
    args: Sequence[str],
    job: str,
    wanted: Mapping[str, str | None],
) -> list[str]:
    done = cli(repo, ["vars", job, "--json", *args], env)
    try:
        values = json.loads(done.stdout)
    except ValueError:
        tail = done.stderr.strip()[-300:]
        return [f"vars {job} gave no JSON (exit {done.returncode}): {tail}"]
    problems = []
    for key, value in wanted.items():
        if values.get(key) != value:
            problems.append(f"{job}: {key}={values.get(key)!r}, expected {value!r}")
    return problems


def _check_run(
    case: Mapping[str, Any],
    repo: Path,
    work: Path,
    env: Mapping[str, str],
    args: Sequence[str],
) -> list[str]:
    expect = case["expect"]
    report_path = work / "report.json"
    run_args = ["run", "--executor", "shell", "--report", str(report_path)]
    done = cli(repo, [*run_args, *args, *case.get("run_args", [])], env)
    problems = []
    if "run_exit_code" in expect and done.returncode != expect["run_exit_code"]:
        problems.append(
            f"run exit code {done.returncode}, expected {expect['run_exit_code']}"
        )
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        tail = done.stderr.strip()[-300:]
        return problems + [
            f"run wrote no readable report (exit {done.returncode}): {tail}"
        ]
    pipeline_status = report.get("status")
    if "pipeline_status" in expect and pipeline_status != expect["pipeline_status"]:
        problems.append(
            f"pipeline status {pipeline_status!r}, "
            f"expected {expect['pipeline_status']!r}"
        )
    ran = {job["name"]: job for job in report.get("jobs", [])}
    for job_name, status in expect.get("outcomes", {}).items():
        got = ran.get(job_name, {}).get("status")
        if got != status:
            problems.append(f"{job_name} status={got!r}, expected {status!r}")
    for job_name, needles in expect.get("log_contains", {}).items():
        text = _log_text(repo, ran.get(job_name, {}))
        if text is None:
            problems.append(f"{job_name}: no log file")
            continue
        problems += [
            f"{job_name}: log lacks {needle!r}"
            for needle in needles
            if needle not in text
        ]
    for job_name, needles in expect.get("log_lacks", {}).items():
        text = _log_text(repo, ran.get(job_name, {})) or ""
        problems += [
            f"{job_name}: log has {needle!r}" for needle in needles if needle in text
        ]
    return problems


def _log_text(repo: Path, job: Mapping[str, Any]) -> str | None:
    log = job.get("log")
    if not log:
        return None
    path = Path(log)
    if not path.is_absolute():
        path = repo / path
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def run_case(name: str) -> list[str]:
    """check_case in a scratch folder of its own; a crash is a problem too."""
    with tempfile.TemporaryDirectory(prefix="scenario-") as work:
        try:
            return check_case(name, Path(work))
        except Exception as error:  # the harness or the product crashed
            return [f"{type(error).__name__}: {error}"]
