"""A large generated configuration loads well under a second."""

from __future__ import annotations

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


def test_two_thousand_jobs_load_well_under_a_second(tmp_path: Path) -> None:
    _generate(tmp_path)
    tree = DirectoryTree(tmp_path)
    timings = []
    for _ in range(3):
        # CPU time, so that other work on a busy machine does not count.
        start = time.process_time()
        config = load_config(tree)
        timings.append(time.process_time() - start)
    assert len(config.jobs) == JOBS
    assert config.jobs[-1].script == ("echo setup", "echo more", f"echo {JOBS - 1}")
    assert len(config.jobs[0].rules or ()) == 3
    assert min(timings) < 1.0, timings
