"""load_context: what rules get to compare changes with."""

from __future__ import annotations

import pytest
from conftest import MakeRepo, git, write_files

from minirunner.context import Options, changes_since, load_context
from minirunner.errors import ConfigError

CONFIG = "job:\n  script: echo\n"


def test_compare_to_lists_paths_changed_since_a_ref(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": CONFIG, "src/app.py": "v1\n"})
    git(repo, "branch", "base")
    write_files(repo, {"src/app.py": "v2\n", "docs/new.md": "new\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Change the app")

    context = load_context(Options(cwd=repo), pipeline_id=1)

    assert context.inputs.compare_to("base") == frozenset({"src/app.py", "docs/new.md"})
    assert context.inputs.compare_to("refs/heads/main") == frozenset()


def test_compare_to_an_unknown_ref_is_a_config_error(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": CONFIG})
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(ConfigError) as raised:
        changes_since(repo, head)("refs/heads/no-such-branch")

    assert raised.value.exit_code == 2
    assert str(raised.value.message) == "'refs/heads/no-such-branch' is not a valid ref"
