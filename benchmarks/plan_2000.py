"""Benchmark: plan a generated pipeline of 2,000 jobs (extends, anchors, rules).

Run: python3 benchmarks/plan_2000.py. Prints the median, min and max of five runs of
loading the configuration and of planning it (`minirunner list --json` end to end).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minirunner.config import load_config
from minirunner.sourcetree import DirectoryTree

JOBS = 2000


def _generate(root: Path) -> None:
    head = """\
stages: [build, test, deploy]
include: [ci/templates.yml]
variables:
  GLOBAL: value
.rules: &rules
  rules:
    - if: '$CI_COMMIT_BRANCH == "main"'
      when: always
    - if: $CI_MERGE_REQUEST_IID
      changes: [src/**/*]
    - when: never
"""
    templates = """\
.base:
  image: alpine:3
  before_script: [echo base]
  tags: [docker]
  retry: 1
  artifacts: {paths: [out/], expire_in: 1 week}
.setup:
  script: [echo setup, echo more]
"""
    jobs = []
    for index in range(JOBS):
        stage = ("build", "test", "deploy")[index % 3]
        jobs.append(
            f"job-{index}:\n"
            "  extends: .base\n"
            "  <<: *rules\n"
            f"  stage: {stage}\n"
            "  variables:\n"
            f"    NAME: job{index}\n"
            "    COUNT: 3\n"
            "  script:\n"
            "    - !reference [.setup, script]\n"
            f"    - echo {index}\n"
        )
    (root / "ci").mkdir()
    (root / "ci" / "templates.yml").write_text(templates)
    (root / ".gitlab-ci.yml").write_text(head + "\n".join(jobs))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _generate(root)
        tree = DirectoryTree(root)
        loads = []
        for _ in range(5):
            start = time.perf_counter()
            config = load_config(tree)
            loads.append(time.perf_counter() - start)
        assert len(config.jobs) == JOBS
        git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]
        subprocess.run([*git, "init", "-q"], cwd=root, check=True)
        subprocess.run([*git, "add", "-A"], cwd=root, check=True)
        subprocess.run([*git, "commit", "-qm", "bench"], cwd=root, check=True)
        lists = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "minirunner", "list", "--json"],
                cwd=root,
                check=True,
                capture_output=True,
            )
            lists.append(time.perf_counter() - start)
    for label, values in (("load_config", loads), ("list --json", lists)):
        print(
            f"{label:12} {JOBS} jobs: median {statistics.median(values):.3f} s "
            f"(min {min(values):.3f}, max {max(values):.3f})"
        )


if __name__ == "__main__":
    main()
