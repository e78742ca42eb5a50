"""The pipeline runner with the shell executor: order, selection, child pipelines."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from conftest import MakeRepo
from repo_guard import guard_make_repo

from minirunner.context import Options, load_context
from minirunner.errors import UsageError
from minirunner.output import Console
from minirunner.plan import make_plan
from minirunner.results import PipelineResult
from minirunner.runner import PipelineRun, RunSettings

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()


def run(
    repo: Path, *jobs: str, with_needs: bool = False, options: Options | None = None
) -> tuple[PipelineResult, str]:
    options = options or Options(cwd=repo)
    context = load_context(options, pipeline_id=1)
    plan = make_plan(context.config, context.inputs, context.variables, {})
    out = io.StringIO()
    run_dir = repo / ".minirunner" / "runs" / "1"
    run_dir.mkdir(parents=True)
    settings = RunSettings(jobs=jobs, with_needs=with_needs, concurrency=2)
    runner = PipelineRun(context, plan, settings, Console(stream=out), 1, run_dir)
    return runner.run(install_signals=False), out.getvalue()


CHILD = """
child-a:
  script: ['echo "child sees [$FROM_PARENT] source=[$CI_PIPELINE_SOURCE]"']
child-b:
  stage: deploy
  script: [exit 3]
"""
PARENT = """
prep:
  stage: build
  script: [echo prep]
trigger-it:
  stage: test
  variables:
    FROM_PARENT: hello
  trigger:
    include: ci/child.yml
    strategy: depend
after:
  stage: deploy
  script: [echo after]
"""


def test_a_child_pipeline_runs_and_depend_mirrors_its_status(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({".gitlab-ci.yml": PARENT, "ci/child.yml": CHILD})
    result, out = run(repo)
    assert [(job.name, job.status) for job in result.jobs] == [
        ("prep", "success"),
        ("trigger-it", "failed"),
        ("after", "skipped"),
    ]
    assert "trigger-it > child-a | child sees [hello] source=[parent_pipeline]" in out


def test_without_depend_the_trigger_succeeds_once_the_child_exists(
    make_repo: MakeRepo,
) -> None:
    parent = PARENT.replace("    strategy: depend\n", "")
    repo = make_repo({".gitlab-ci.yml": parent, "ci/child.yml": CHILD})
    result, _ = run(repo)
    assert [job.status for job in result.jobs] == ["success", "success", "success"]


def test_named_jobs_run_alone_or_with_what_they_need(make_repo: MakeRepo) -> None:
    config = """
a: {stage: build, script: [echo a]}
b: {stage: test, script: [echo b]}
c: {stage: deploy, needs: [b], script: [echo c]}
"""
    repo = make_repo({".gitlab-ci.yml": config})
    alone, _ = run(repo, "c")
    assert [job.name for job in alone.jobs] == ["c"]


def test_needs_brings_what_a_job_waits_for(make_repo: MakeRepo) -> None:
    config = """
a: {stage: build, script: [echo a]}
b: {stage: test, script: [echo b]}
c: {stage: deploy, needs: [b], script: [echo c]}
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, _ = run(repo, "c", with_needs=True)
    assert [(job.name, job.status) for job in result.jobs] == [
        ("a", "success"),
        ("b", "success"),
        ("c", "success"),
    ]


def test_a_job_excluded_by_rules_is_refused_with_the_reason(
    make_repo: MakeRepo,
) -> None:
    config = "tagged:\n  script: [echo x]\n  rules:\n    - if: $CI_COMMIT_TAG\n"
    repo = make_repo({".gitlab-ci.yml": config})
    with pytest.raises(UsageError, match="job 'tagged' is not in this pipeline"):
        run(repo, "tagged")


def test_retry_runs_a_failing_job_again(make_repo: MakeRepo) -> None:
    config = """
flaky:
  retry: 2
  script:
    - n=$(cat "$CI_BUILDS_DIR/count" 2>/dev/null || echo 0)
    - echo $((n + 1)) > "$CI_BUILDS_DIR/count"
    - test "$n" -ge 1
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, out = run(repo)
    assert result.jobs[0].status == "success"
    assert out.count("Retrying (1/2)") == 1


@pytest.mark.parametrize(
    ("when", "retries"),
    [("", 1), ("when: [script_failure]", 0), ("when: [job_execution_timeout]", 1)],
)
def test_retry_of_a_timed_out_job_follows_retry_when(
    make_repo: MakeRepo, when: str, retries: int
) -> None:
    config = f"""
slow:
  timeout: 1s
  retry:
    max: 1
    {when}
  script: [sleep 5]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, out = run(repo)
    assert result.jobs[0].status == "failed"
    assert out.count("Retrying (1/1)") == retries
    assert out.endswith("slow | ERROR: Job failed: execution took longer than 1s\n")


def test_allow_failure_exit_codes(make_repo: MakeRepo) -> None:
    config = """
soft:
  stage: build
  allow_failure: {exit_codes: [3]}
  script: [exit 3]
hard:
  stage: build
  allow_failure: {exit_codes: [3]}
  script: [exit 4]
next:
  stage: test
  script: [echo next]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, _ = run(repo)
    summary = [(j.name, j.status, j.allow_failure, j.exit_code) for j in result.jobs]
    assert summary == [
        ("soft", "failed", True, 3),
        ("hard", "failed", False, 4),
        ("next", "skipped", False, None),
    ]


def test_force_runs_a_job_that_rules_exclude(make_repo: MakeRepo) -> None:
    config = "tagged:\n  script: [echo forced]\n  rules:\n    - if: $CI_COMMIT_TAG\n"
    repo = make_repo({".gitlab-ci.yml": config})
    options = Options(cwd=repo)
    context = load_context(options, pipeline_id=1)
    plan = make_plan(context.config, context.inputs, context.variables, {})
    run_dir = repo / ".minirunner" / "runs" / "1"
    run_dir.mkdir(parents=True)
    out = io.StringIO()
    settings = RunSettings(jobs=("tagged",), force=True)
    result = PipelineRun(context, plan, settings, Console(stream=out), 1, run_dir).run(
        install_signals=False
    )
    assert [(job.name, job.status) for job in result.jobs] == [("tagged", "success")]
    assert "tagged | forced" in out.getvalue()


def test_cancel_starts_no_more_jobs(make_repo: MakeRepo) -> None:
    jobs = "".join(f"j{n}:\n  script: [echo start {n}, sleep 5]\n" for n in range(4))
    repo = make_repo({".gitlab-ci.yml": jobs})
    options = Options(cwd=repo)
    context = load_context(options, pipeline_id=1)
    plan = make_plan(context.config, context.inputs, context.variables, {})
    run_dir = repo / ".minirunner" / "runs" / "1"
    run_dir.mkdir(parents=True)
    out = io.StringIO()
    settings = RunSettings(concurrency=1)
    runner = PipelineRun(context, plan, settings, Console(stream=out), 1, run_dir)
    threading.Timer(1.0, runner.cancel.set).start()
    result = runner.run(install_signals=False)
    assert [job.status for job in result.jobs] == ["canceled"] * 4
    assert out.getvalue().count("| start") == 1


def test_a_job_sees_its_environment_status_and_whether_it_was_played(
    make_repo: MakeRepo,
) -> None:
    config = """
variables:
  HOST: review.example.com
deploy:
  when: manual
  environment:
    name: review/$CI_COMMIT_REF_SLUG
    url: https://$HOST/$CI_COMMIT_REF_SLUG
  script:
    - echo "[$CI_ENVIRONMENT_NAME] [$CI_ENVIRONMENT_SLUG] [$CI_ENVIRONMENT_URL]"
    - echo "[$CI_ENVIRONMENT_TIER] [$CI_ENVIRONMENT_ACTION]"
    - echo "status=[$CI_JOB_STATUS] manual=[$CI_JOB_MANUAL] url=[$CI_JOB_URL]"
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, out = run(repo, "deploy")
    assert result.jobs[0].status == "success"
    site = "https://review.example.com/main"
    assert f"deploy | [review/main] [review-main-yi2y9f] [{site}]" in out
    assert "deploy | [development] [start]" in out
    project = f"https://gitlab.example.com/local/{repo.name}"
    assert f"deploy | status=[running] manual=[true] url=[{project}/-/jobs/1001]" in out


FORWARDING = """
variables:
  GLOBAL: from-yaml
default-forward:
  variables: {OWN: trigger-job, PV: from-trigger-job}
  trigger: {include: child.yml, strategy: depend}
everything:
  variables: {OWN: trigger-job, PV: from-trigger-job}
  trigger:
    include: child.yml
    strategy: depend
    forward: {pipeline_variables: true}
nothing-of-the-yaml:
  variables: {OWN: trigger-job}
  trigger:
    include: child.yml
    strategy: depend
    forward: {yaml_variables: false}
"""
CHILD_SEES = """
show:
  script: ['echo "own=[$OWN] global=[$GLOBAL] pv=[$PV] setting=[$SETTING]"']
"""


def test_trigger_forward_decides_what_reaches_a_child_pipeline(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({".gitlab-ci.yml": FORWARDING, "child.yml": CHILD_SEES})
    options = Options(
        cwd=repo,
        variables={"PV": "from-command-line", "SETTING": "project"},
        settings_variables=frozenset({"SETTING"}),
    )
    result, out = run(repo, options=options)
    assert [job.status for job in result.jobs] == ["success"] * 3
    seen = sorted(
        " ".join(line.split()) for line in out.splitlines() if "| own=" in line
    )
    assert seen == [
        "default-forward > show | own=[trigger-job] global=[from-yaml] "
        "pv=[from-trigger-job] setting=[project]",
        "everything > show | own=[trigger-job] global=[from-yaml] "
        "pv=[from-command-line] setting=[project]",
        "nothing-of-the-yaml > show | own=[] global=[] pv=[] setting=[project]",
    ]


def test_jobs_of_one_resource_group_run_one_at_a_time(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    trail = tmp_path / "trail.txt"
    steps = [f'echo "start $CI_JOB_NAME" >> {trail}', "sleep 0.3"]
    steps.append(f'echo "end $CI_JOB_NAME" >> {trail}')
    script = "[" + ", ".join(f"'{step}'" for step in steps) + "]"
    config = f"""
deploy-a: {{resource_group: production, script: {script}}}
deploy-b: {{resource_group: production, script: {script}}}
elsewhere: {{resource_group: staging, script: {script}}}
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, _ = run(repo)
    assert [job.status for job in result.jobs] == ["success"] * 3
    lines = trail.read_text().splitlines()
    production = [line for line in lines if "deploy-" in line]
    assert production in (
        ["start deploy-a", "end deploy-a", "start deploy-b", "end deploy-b"],
        ["start deploy-b", "end deploy-b", "start deploy-a", "end deploy-a"],
    )
    assert lines.index("start elsewhere") < lines.index("end deploy-a")


def test_auto_cancel_on_job_failure_cancels_the_pipeline(make_repo: MakeRepo) -> None:
    config = """
workflow:
  auto_cancel: {on_job_failure: all}
stages: [first, second]
broken:
  stage: first
  script: [sleep 0.3, exit 1]
slow:
  stage: first
  script: [sleep 5, echo finished]
  after_script: ['echo "after_script sees $CI_JOB_STATUS"']
report:
  stage: second
  when: always
  script: [echo reported]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, out = run(repo)
    summary = [(job.name, job.status) for job in result.jobs]
    assert summary == [
        ("broken", "failed"),
        ("slow", "canceled"),
        ("report", "canceled"),
    ]
    assert result.interrupted is None
    assert (
        "broken failed and workflow:auto_cancel:on_job_failure is all: "
        "canceling the pipeline"
    ) in out
    assert "slow   | after_script sees canceled" in out
    assert "finished" not in out and "reported" not in out


GENERATES = """
stages: [generate, trigger]
generate:
  stage: generate
  script:
    - 'printf "made:\\n  script: [echo made by \\$CI_PIPELINE_SOURCE]\\n" > child.yml'
  artifacts: {paths: [child.yml]}
run-it:
  stage: trigger
  trigger:
    include: [{artifact: child.yml, job: generate}]
    strategy: depend
missing:
  stage: trigger
  trigger:
    include: [{artifact: other.yml, job: generate}]
"""


def test_a_dynamic_child_pipeline_comes_from_a_jobs_artifact(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo({".gitlab-ci.yml": GENERATES})
    result, out = run(repo)
    summary = [(job.name, job.status) for job in result.jobs]
    assert summary == [
        ("generate", "success"),
        ("run-it", "success"),
        ("missing", "failed"),
    ]
    assert "run-it > made | made by parent_pipeline" in out
    assert (
        "missing  | ERROR: trigger:include:artifact: job 'generate' kept no "
        "artifact 'other.yml' to include"
    ) in out


def test_keywords_a_local_run_does_not_act_on_are_named_in_the_log(
    make_repo: MakeRepo,
) -> None:
    config = """
default:
  id_tokens: {VAULT_TOKEN: {aud: "https://vault.example.com"}}
job:
  hooks: {pre_get_sources_script: [echo pre]}
  secrets: {DB_PASSWORD: {vault: db/password@ops}, API_KEY: {vault: api/key@ops}}
  release: {tag_name: v1, description: first}
  script: ['echo "token=[$VAULT_TOKEN]"']
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, out = run(repo)
    assert result.jobs[0].status == "success"
    lines = out.splitlines()
    assert lines[1:6] == [
        "job | hooks: GitLab Runner runs pre_get_sources_script before it fetches "
        "the sources; minirunner makes the checkout itself and does not run it",
        "job | id_tokens: there is no OIDC provider offline; not set: VAULT_TOKEN",
        "job | secrets: there is no secrets provider offline; not set: "
        "DB_PASSWORD, API_KEY",
        "job | release: GitLab would create the release after the script; "
        "minirunner does not",
        """job | $ echo "token=[$VAULT_TOKEN]\"""",
    ]
    assert "job | token=[]" in lines


def test_a_job_that_removes_its_own_folders_ends_as_its_script_did(
    make_repo: MakeRepo,
) -> None:
    config = """
removes-checkout:
  script: ['rm -rf "$CI_PROJECT_DIR"']
  after_script: [echo never]
removes-scripts:
  script: [rm -rf ../tmp]
  after_script: [echo after-ran]
"""
    repo = make_repo({".gitlab-ci.yml": config})
    result, out = run(repo)
    assert [job.status for job in result.jobs] == ["success", "success"]
    assert "removes-checkout | ERROR: after_script: the project folder is gone" in out
    assert "removes-scripts  | after-ran" in out
    assert "Traceback" not in out


def test_a_variable_no_process_can_hold_fails_its_job_in_one_line(
    make_repo: MakeRepo,
) -> None:
    config = f"big:\n  variables: {{BIG: {'x' * 200_000}}}\n  script: [echo big]\n"
    repo = make_repo({".gitlab-ci.yml": config})
    result, _ = run(repo)
    assert result.jobs[0].status == "failed"
    assert result.jobs[0].message == (
        "variable BIG holds 200,000 bytes: Linux passes at most 131,072 per "
        "variable to a process, so the job cannot start"
    )
