"""`minirunner graph`: stages and needs as a text drawing, Mermaid and DOT."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo
from repo_guard import guard_make_repo

from minirunner.context import Options
from minirunner.graph import render
from minirunner.plan import Plan
from minirunner.session import plan_pipeline

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

PIPELINE = """
stages: [build, test, deploy]
compile:
  stage: build
  script: [echo]
assets:
  stage: build
  script: [echo]
unit:
  stage: test
  needs: [compile]
  script: [echo]
lint:
  stage: test
  needs: []
  script: [echo]
  allow_failure: true
e2e:
  stage: test
  script: [echo]
deploy:
  stage: deploy
  needs: [unit, e2e]
  script: [echo]
  when: manual
"""


@pytest.fixture
def plan(make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Plan:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    return plan_pipeline(Options(cwd=repo))[1]


def test_text_side_by_side(plan: Plan) -> None:
    assert render(plan, "text", width=100) == (
        "build ───▶ test ───────────────────────────────▶ deploy\n"
        "compile    unit                                  deploy (manual)\n"
        "assets       ↳ needs: compile                      ↳ needs: unit, e2e\n"
        "           lint (may fail)\n"
        "             ↳ needs: nothing, starts at once\n"
        "           e2e\n"
    )


def test_text_one_under_the_other_when_narrow(plan: Plan) -> None:
    assert render(plan, "text", width=40, unicode=False) == (
        "build\n"
        "  +- compile\n"
        "  +- assets\n"
        "  |\n"
        "test\n"
        "  +- unit   (needs: compile)\n"
        "  +- lint (may fail)   (needs: nothing, starts at once)\n"
        "  +- e2e\n"
        "  |\n"
        "deploy\n"
        "  +- deploy (manual)   (needs: unit, e2e)\n"
    )


def test_mermaid(plan: Plan) -> None:
    assert render(plan, "mermaid") == (
        "flowchart LR\n"
        '  subgraph s0["build"]\n'
        '    j0["compile"]\n'
        '    j1["assets"]\n'
        "  end\n"
        '  subgraph s1["test"]\n'
        '    j2["unit"]\n'
        '    j3["lint (may fail)"]\n'
        '    j4["e2e"]\n'
        "  end\n"
        '  subgraph s2["deploy"]\n'
        '    j5(["deploy (manual)"])\n'
        "  end\n"
        "  j0 --> j2\n"
        "  s0 --> j4\n"
        "  j2 --> j5\n"
        "  j4 --> j5\n"
    )


def test_dot(plan: Plan) -> None:
    assert render(plan, "dot") == (
        "digraph pipeline {\n"
        "  rankdir=LR;\n"
        '  node [shape=box, style=rounded, fontname="sans-serif"];\n'
        "  subgraph cluster_0 {\n"
        '    label="build";\n'
        '    "compile" [label="compile"];\n'
        '    "assets" [label="assets"];\n'
        "  }\n"
        "  subgraph cluster_1 {\n"
        '    label="test";\n'
        '    "unit" [label="unit"];\n'
        '    "lint" [label="lint (may fail)"];\n'
        '    "e2e" [label="e2e"];\n'
        "  }\n"
        "  subgraph cluster_2 {\n"
        '    label="deploy";\n'
        '    "deploy" [label="deploy (manual)", style=dashed];\n'
        "  }\n"
        '  "compile" -> "unit";\n'
        '  "compile" -> "e2e";\n'
        '  "assets" -> "e2e";\n'
        '  "unit" -> "deploy";\n'
        '  "e2e" -> "deploy";\n'
        "}\n"
    )


def test_the_command(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    done = minirunner(repo, "graph", "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('flowchart LR\n  subgraph s0["build"]\n')
