"""Hostile and broken configurations through the CLI: one clear line, bounded cost.

Each refused configuration must give exit status 2 and exactly one line on
stderr, `Error: ` then where (file:line, job, keyword) and what; never a
traceback, and within LIMIT_S seconds and MEMORY_BYTES of address space.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import isolated_env
from conftest import MakeRepo, git
from repo_guard import RepoGuard

from minirunner.cli import main
from minirunner.config import keywords as kw

LIMIT_S = 20.0
MEMORY_BYTES = 1536 << 20


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


@dataclass(frozen=True)
class Outcome:
    """What a minirunner command did."""

    code: int
    stdout: str
    stderr: str
    seconds: float


def bounded(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    """Run `python -m minirunner ARGS` in `repo` with time and memory limits."""
    # One malloc arena per thread would reserve address space the limit counts.
    extra = {"MALLOC_ARENA_MAX": "2", **(env or {})}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "minirunner", *args],
        cwd=repo,
        env=isolated_env(repo.parent, extra),
        capture_output=True,
        text=True,
        timeout=LIMIT_S,
        preexec_fn=_limit_memory,
    )
    return Outcome(
        done.returncode, done.stdout, done.stderr, time.monotonic() - started
    )


def refused(outcome: Outcome, code: int = 2) -> str:
    """The one `Error: ` line of a refused command, the rest checked."""
    assert outcome.code == code, outcome
    assert "Traceback" not in outcome.stdout + outcome.stderr
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def committed(make_repo: MakeRepo, repo_guard: RepoGuard, config: bytes | str) -> Path:
    """A repository whose commit holds `config` as .gitlab-ci.yml, byte for byte."""
    repo = make_repo({"README.md": "hostile input\n"})
    data = config.encode() if isinstance(config, str) else config
    (repo / ".gitlab-ci.yml").write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "Add the configuration")
    repo_guard.settle(repo)
    return repo


# The shape of the file.


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("- a\n- b\n", "a list"),
        ("just text\n", "a single value"),
        ("42\n", "a single value"),
    ],
)
def test_a_file_that_is_not_a_mapping(
    guarded_repo: MakeRepo, text: str, found: str
) -> None:
    repo = guarded_repo({".gitlab-ci.yml": text})

    line = refused(bounded(repo, "lint"))

    assert line == (
        "Error: .gitlab-ci.yml:1: invalid configuration format: "
        f"expected a mapping of keys, found {found}"
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n", "  \n\n"])
def test_an_empty_file(guarded_repo: MakeRepo, text: str) -> None:
    repo = guarded_repo({".gitlab-ci.yml": text})

    line = refused(bounded(repo, "list"))

    assert (
        line == "Error: .gitlab-ci.yml: the configuration is empty: it defines no jobs"
    )


def test_tabs_for_indentation(guarded_repo: MakeRepo) -> None:
    repo = guarded_repo({".gitlab-ci.yml": "build:\n\tscript: make\n"})

    line = refused(bounded(repo, "lint"))

    assert line == (
        "Error: .gitlab-ci.yml:2: invalid YAML: tab character where YAML allows "
        "only spaces for indentation"
    )


def test_bytes_that_are_not_utf8(guarded_repo: MakeRepo, repo_guard: RepoGuard) -> None:
    repo = committed(
        guarded_repo, repo_guard, b"build:\n  script:\n    - echo \xff\xfe\n"
    )

    line = refused(bounded(repo, "lint"))

    assert line == "Error: .gitlab-ci.yml:3: file is not valid UTF-8"


def test_a_binary_file(guarded_repo: MakeRepo, repo_guard: RepoGuard) -> None:
    # Bytes 0-255: the first that is not UTF-8 (0x80) is on the second line.
    repo = committed(guarded_repo, repo_guard, bytes(range(256)) * 64)

    line = refused(bounded(repo, "run"))

    assert line == "Error: .gitlab-ci.yml:2: file is not valid UTF-8"


def test_control_characters(guarded_repo: MakeRepo, repo_guard: RepoGuard) -> None:
    repo = committed(
        guarded_repo, repo_guard, "build:\n  script:\n    - ok\n    - 'a\x01b'\n"
    )

    line = refused(bounded(repo, "lint"))

    assert line == (
        "Error: .gitlab-ci.yml:4: invalid YAML: unacceptable character #x0001: "
        "control characters are not allowed"
    )


def test_a_50_megabyte_file(guarded_repo: MakeRepo, repo_guard: RepoGuard) -> None:
    job = "job{}:\n  script:\n    - echo " + "x" * 100 + "\n"
    text = "".join(job.format(index) for index in range(400_000))
    assert len(text) > 50_000_000
    repo = committed(guarded_repo, repo_guard, text)

    outcome = bounded(repo, "lint")

    assert (
        refused(outcome) == "Error: .gitlab-ci.yml: file is larger than 4194304 bytes"
    )
    assert outcome.seconds < LIMIT_S


# Structures made to exhaust the parser.


def nested_flow(depth: int) -> str:
    return "build:\n  script: [x]\n  variables:\n    X: " + "[" * depth + "]" * depth


def nested_blocks(depth: int) -> str:
    return "build:\n  script: [x]\n  variables:\n    X:\n      " + "- " * depth + "x\n"


def nested_anchors(count: int) -> str:
    # Each anchor holds the one before, 60 levels down: 60 * count levels.
    lines = ["a0: &a0 " + "[" * 60 + "x" + "]" * 60]
    for index in range(1, count):
        lines.append(f"a{index}: &a{index} " + "[" * 60 + f"*a{index - 1}" + "]" * 60)
    return "\n".join(lines) + "\nbuild:\n  script: [x]\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (nested_flow(200), 4),
        # Past libyaml's own recursion: this once crashed with SIGSEGV.
        (nested_flow(200_000), 4),
        (nested_blocks(100_000), 5),
        (nested_anchors(30), 1),
    ],
    ids=["flow", "flow-200000", "blocks-100000", "anchors"],
)
def test_deep_nesting(guarded_repo: MakeRepo, text: str, line: int) -> None:
    repo = guarded_repo({".gitlab-ci.yml": text})

    outcome = bounded(repo, "lint")

    assert refused(outcome) == (
        f"Error: .gitlab-ci.yml:{line}: configuration nested deeper than 100 levels"
    )


def test_an_alias_bomb(guarded_repo: MakeRepo) -> None:
    # Billion laughs: nine levels of nine aliases each, 9**9 strings expanded.
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{aliases}]")
    lines.append("build:\n  script: *lol9")
    repo = guarded_repo({".gitlab-ci.yml": "\n".join(lines) + "\n"})

    outcome = bounded(repo, "lint")

    assert refused(outcome) == (
        "Error: .gitlab-ci.yml:7: configuration too large: more than 1000000 "
        "values once YAML aliases are expanded"
    )


def test_twenty_thousand_jobs_are_planned(guarded_repo: MakeRepo) -> None:
    text = "".join(
        f"job{index}:\n  stage: test\n  script: [echo {index}]\n"
        for index in range(20_000)
    )
    repo = guarded_repo({".gitlab-ci.yml": text})

    outcome = bounded(repo, "list", "--json")

    assert outcome.code == 0, outcome.stderr
    jobs = json.loads(outcome.stdout)["jobs"]
    assert len(jobs) == 20_000
    assert jobs[-1]["name"] == "job19999"
    assert outcome.seconds < LIMIT_S


# Duplicate keys: the last one wins, as Psych keeps it.


def test_a_duplicate_key_keeps_the_last_value(guarded_repo: MakeRepo) -> None:
    config = "stages: [build, deploy]\nship:\n  stage: build\n  stage: deploy\n"
    repo = guarded_repo({".gitlab-ci.yml": config + "  script: [echo]\n"})

    outcome = bounded(repo, "list", "--json")

    assert outcome.code == 0, outcome.stderr
    assert [job["stage"] for job in json.loads(outcome.stdout)["jobs"]] == ["deploy"]


def test_a_duplicate_key_is_warned_about(guarded_repo: MakeRepo) -> None:
    config = "ship:\n  stage: build\n  stage: test\n  script: [echo]\n"
    repo = guarded_repo({".gitlab-ci.yml": config})

    outcome = bounded(repo, "lint")

    assert outcome.code == 0
    assert outcome.stderr == (
        "Warning: .gitlab-ci.yml:3: duplicate key 'stage' "
        "(the last one wins, as on GitLab)\n"
    )


# Cycles.


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                ".gitlab-ci.yml": "include: a.yml\nbuild:\n  script: [x]\n",
                "a.yml": "include: b.yml\n",
                "b.yml": "include: a.yml\n",
            },
            "Error: b.yml:1: include: include cycle: "
            ".gitlab-ci.yml -> a.yml -> b.yml -> a.yml",
        ),
        (
            {".gitlab-ci.yml": "include: .gitlab-ci.yml\nbuild:\n  script: [x]\n"},
            "Error: .gitlab-ci.yml:1: include: include cycle: "
            ".gitlab-ci.yml -> .gitlab-ci.yml",
        ),
        (
            {
                ".gitlab-ci.yml": ".a:\n  extends: .b\n.b:\n  extends: .a\n"
                "build:\n  extends: .a\n  script: [x]\n"
            },
            "Error: .gitlab-ci.yml:2: job '.a': extends: circular dependency "
            "detected in `extends` (chain: .a -> .b -> .a)",
        ),
        (
            {
                ".gitlab-ci.yml": ".a:\n  script: !reference [.b, script]\n"
                ".b:\n  script: !reference [.a, script]\n"
                "build:\n  script: !reference [.a, script]\n"
            },
            "Error: .gitlab-ci.yml:2: job '.a': "
            '!reference [".b", "script"] is part of a circular chain',
        ),
        (
            {
                ".gitlab-ci.yml": "a:\n  script: [x]\n  needs: [b]\n"
                "b:\n  script: [x]\n  needs: [a]\n"
            },
            "Error: .gitlab-ci.yml:3: job 'a': needs: needs form a cycle: a -> b -> a",
        ),
    ],
    ids=["include", "self-include", "extends", "reference", "needs"],
)
def test_cycles(guarded_repo: MakeRepo, files: dict[str, str], expected: str) -> None:
    repo = guarded_repo(files)

    assert refused(bounded(repo, "lint")) == expected


def test_variables_that_refer_to_each_other(guarded_repo: MakeRepo) -> None:
    config = "variables:\n  A: $B\n  B: $A\nbuild:\n  script: [echo $A]\n"
    repo = guarded_repo({".gitlab-ci.yml": config})

    outcome = bounded(repo, "run")

    line = refused(outcome)
    assert line.startswith("Error: .gitlab-ci.yml:4: job 'build': ")
    assert line.endswith('circular variable reference detected: ["A", "B"]')
    assert not (repo / ".minirunner" / "runs" / "1" / "build.log").exists()


# Expressions.


@pytest.mark.parametrize(
    "condition",
    ["$X =~ /^(a+)+$/", "$X =~ /^(a|aa)+$/", "$X =~ $PATTERN", "$X =~ /(a*)*b/"],
)
def test_regexes_that_backtrack_exponentially_are_fast(
    guarded_repo: MakeRepo, condition: str
) -> None:
    config = f"build:\n  script: [x]\n  rules:\n    - if: '{condition}'\n"
    repo = guarded_repo({".gitlab-ci.yml": config})
    subject = "a" * 100_000 + "!"

    outcome = bounded(
        repo, "list", "--json", "-v", f"X={subject}", "-v", "PATTERN=/^(a+)+$/"
    )

    assert outcome.code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["jobs"] == []
    assert outcome.seconds < 5.0


def test_an_expression_of_thousands_of_tokens(guarded_repo: MakeRepo) -> None:
    condition = " || ".join(['$A == "x"'] * 2000)
    config = f"build:\n  script: [x]\n  rules:\n    - if: '{condition}'\n"
    repo = guarded_repo({".gitlab-ci.yml": config})

    line = refused(bounded(repo, "lint"))

    shown = condition[284:364]
    assert line == (
        "Error: .gitlab-ci.yml:4: job 'build': rules:if: too many tokens "
        f"(GitLab accepts at most 99) at column 325 of '...{shown}...'"
    )


def test_an_expression_on_several_lines_is_reported_on_one(
    guarded_repo: MakeRepo,
) -> None:
    config = "build:\n  script: [x]\n  rules:\n    - if: |\n        $A ==\n        =\n"
    repo = guarded_repo({".gitlab-ci.yml": config})

    line = refused(bounded(repo, "lint"))

    assert "unknown operator '='" in line


# Every keyword with a value of the wrong type, in-process (the same `main`
# and error handler, without starting an interpreter each time).


def _place(table: str, keyword: str, value: Any) -> dict[str, Any]:
    job: dict[str, Any] = {"script": ["x"]}
    if table == "job":
        if keyword in ("script", "run", "trigger"):
            return {"j": {keyword: value}}
        return {"j": {**job, keyword: value}}
    if table == "global":
        return {keyword: value, "j": job}
    if table == "trigger":
        base = {"project": "g/p"} if keyword == "branch" else {"include": "a.yml"}
        if keyword == "project":
            base = {}
        return {"j": {"trigger": {**base, keyword: value}}}
    if table == "need":
        return {"k": job, "j": {**job, "needs": [{"job": "k", keyword: value}]}}
    nested = {
        "default": lambda: {"default": {keyword: value}, "j": job},
        "rules": lambda: {"j": {**job, "rules": [{keyword: value}]}},
        "workflow": lambda: {"workflow": {keyword: value}, "j": job},
        "workflow:rules": lambda: {"workflow": {"rules": [{keyword: value}]}, "j": job},
        "image": lambda: {"j": {**job, "image": {"name": "x", keyword: value}}},
        "services": lambda: {"j": {**job, "services": [{"name": "x", keyword: value}]}},
        "environment": lambda: {
            "j": {**job, "environment": {"name": "x", keyword: value}}
        },
    }
    if table in nested:
        return nested[table]()
    return {"j": {**job, table: {keyword: value}}}


TABLES: dict[str, frozenset[str] | tuple[str, ...]] = {
    "job": kw.JOB | kw.BRIDGE,
    "global": kw.GLOBAL,
    "default": kw.DEFAULT_KEYS,
    "rules": kw.RULE_KEYS,
    "workflow": kw.WORKFLOW_KEYS,
    "workflow:rules": kw.WORKFLOW_RULE_KEYS,
    "artifacts": kw.ARTIFACTS_KEYS,
    "cache": kw.CACHE_KEYS,
    "image": kw.IMAGE_KEYS,
    "services": kw.SERVICE_KEYS,
    "environment": kw.ENVIRONMENT_KEYS,
    "retry": kw.RETRY_KEYS,
    "need": kw.NEED_KEYS,
    "inherit": kw.INHERIT_KEYS,
    "trigger": kw.TRIGGER_KEYS,
}
# Where `true` is a right value, a mapping of an unknown key is the wrong one.
TAKES_BOOLEAN = frozenset(
    {
        "allow_failure",
        "interruptible",
        "pages",
        "public",
        "untracked",
        "unprotect",
        "artifacts",
        "optional",
    }
)
# What the message names, where it is not `<table>:<keyword>`.
NAMED: dict[tuple[str, str], str] = {
    ("job", "type"): "job 'j': type:",
    ("rules", "start_in"): "rules: contains disallowed keys: start_in",
    ("need", "job"): "needs:job:",
}
PREFIX = {"job": "", "global": "", "need": "needs:"}


def _wrong_value(table: str, keyword: str) -> Any:
    boolean_ok = keyword in TAKES_BOOLEAN or table == "inherit"
    return {"bogus": 1} if boolean_ok else True


@pytest.mark.parametrize(
    ("table", "keyword"),
    [(table, keyword) for table, keys in TABLES.items() for keyword in sorted(keys)],
)
def test_every_keyword_refuses_a_wrong_type(
    guarded_repo: MakeRepo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    table: str,
    keyword: str,
) -> None:
    config = yaml.safe_dump(_place(table, keyword, _wrong_value(table, keyword)))
    repo = guarded_repo({".gitlab-ci.yml": config, "a.yml": "child:\n  script: [x]\n"})
    monkeypatch.chdir(repo)
    for name, value in isolated_env(repo.parent).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["minirunner", "lint"])

    with pytest.raises(SystemExit) as exited:
        main()

    captured = capsys.readouterr()
    line = refused(Outcome(int(str(exited.value.code)), captured.out, captured.err, 0))
    assert re.match(r"Error: \.gitlab-ci\.yml:\d+: ", line), line
    named = NAMED.get((table, keyword), f"{PREFIX.get(table, table + ':')}{keyword}")
    assert named in line
    if table not in ("global", "default", "workflow", "workflow:rules"):
        assert "job 'j'" in line


# The keywords minirunner does not act on still load in their right shapes.

RIGHT_SHAPES = """
deploy:
  script: [echo]
  when: manual
  manual_confirmation: Are you sure?
  release: {tag_name: v1, description: First, milestones: [m1]}
  pages: {publish: public, path_prefix: docs, expire_in: 1 day}
  publish: public
  id_tokens: {TOKEN: {aud: https://example.com}, OTHER: {aud: [a, b]}}
  hooks: {pre_get_sources_script: [echo hook]}
  secrets: {PASSWORD: {vault: production/db/password@ops}}
  identity: google_cloud
  dast_configuration: {site_profile: site, scanner_profile: scanner}
  inputs: {size: 3}
  image:
    name: alpine
    docker: {platform: linux/amd64, user: "1000"}
    kubernetes: {user: 1000}
    ports: [80, {number: 8080, protocol: http, name: web}]
  services:
    - name: postgres
      docker: {user: postgres}
      ports: [5432]
  environment:
    name: review
    kubernetes: {namespace: review, agent: group/project:agent}
pages:
  script: [echo]
  pages: true
child:
  trigger:
    include: child.yml
    forward: {yaml_variables: false, pipeline_variables: true}
    inputs: {size: 3}
workflow:
  auto_cancel: {on_new_commit: interruptible, on_job_failure: all}
  rules:
    - if: $CI_COMMIT_BRANCH
      auto_cancel: {on_new_commit: none}
"""


def test_keywords_without_effect_load_in_their_right_shapes() -> None:
    from minirunner.config.loader import load_config
    from minirunner.sourcetree import GitTree

    files = {
        ".gitlab-ci.yml": RIGHT_SHAPES.encode(),
        "child.yml": b"c:\n  script: [echo]\n",
    }
    tree = GitTree(lambda: {name: name for name in files}, lambda blob: files[blob])

    config = load_config(tree, include_map={})

    assert [job.name for job in config.jobs] == ["deploy", "pages", "child"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            'variables:\n  NUL: "a\\0b"\nbuild:\n  script: [x]\n',
            "Error: .gitlab-ci.yml:2: variables:NUL: a variable cannot contain "
            "a NUL character",
        ),
        (
            "include: !reference [a, b]\nbuild:\n  script: [x]\n",
            "Error: .gitlab-ci.yml:1: include: should be a hash, a string or an "
            'array, not an unresolved !reference ["a", "b"]',
        ),
        (
            "build:\n  script: [x]\n  rules:\n    - when: true\n",
            "Error: .gitlab-ci.yml:4: job 'build': rules:when: unknown value: true",
        ),
    ],
    ids=["nul", "reference", "boolean-when"],
)
def test_values_no_job_can_get(
    guarded_repo: MakeRepo, config: str, expected: str
) -> None:
    repo = guarded_repo({".gitlab-ci.yml": config})

    assert refused(bounded(repo, "lint")) == expected
