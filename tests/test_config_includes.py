"""include: local files and wildcards, merge order, rules, limits, mapped includes."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import MakeRepo, git, write_files

from minirunner.config import load_child_config, load_config, load_include_map
from minirunner.config.model import Config
from minirunner.context import changes_since
from minirunner.errors import ConfigError, IncludeUnavailable
from minirunner.sourcetree import DirectoryTree

JOB = "job:\n  script: echo\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def load(root: Path, files: dict[str, str], **options: Any) -> Config:
    write(root, files)
    return load_config(DirectoryTree(root), **options)


def error(root: Path, files: dict[str, str], **options: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load(root, files, **options)
    return str(caught.value)


def names(config: Config) -> list[str]:
    return [job.name for job in config.jobs]


def test_string_list_and_hash_forms(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {
            ".gitlab-ci.yml": """
                include: a.yml
                main:
                  script: echo
            """,
            "a.yml": """
                include:
                  - b.yml
                  - local: /c.yml
                a:
                  script: echo
            """,
            "b.yml": "include: {local: d.yaml}\nb:\n  script: echo\n",
            "c.yml": "c:\n  script: echo\n",
            "d.yaml": "d:\n  script: echo\n",
        },
    )
    # Included files come first, in include order, nested ones before their parent.
    assert names(config) == ["d", "b", "c", "a", "main"]
    assert config.files == (".gitlab-ci.yml", "a.yml", "b.yml", "d.yaml", "c.yml")


def test_main_file_deep_merges_over_includes_and_replaces_arrays(
    tmp_path: Path,
) -> None:
    config = load(
        tmp_path,
        {
            ".gitlab-ci.yml": """
                include: ci/unit.yml
                variables:
                  SHARED: main
                unit:
                  variables: {B: main}
                  rules:
                    - if: $CI_COMMIT_BRANCH
            """,
            "ci/unit.yml": """
                variables:
                  SHARED: included
                  ONLY_HERE: included
                unit:
                  stage: build
                  variables: {A: included, B: included}
                  rules:
                    - when: never
                  script: echo unit
            """,
        },
    )
    unit = config.jobs[0]
    assert {k: v.value for k, v in config.variables.items()} == {
        "SHARED": "main",
        "ONLY_HERE": "included",
    }
    assert {k: v.value for k, v in unit.variables.items()} == {
        "A": "included",
        "B": "main",
    }
    assert unit.stage == "build"
    assert unit.script == ("echo unit",)
    assert [rule.text for rule in unit.rules or ()] == ["if: $CI_COMMIT_BRANCH"]
    assert unit.location.file == ".gitlab-ci.yml"


def test_single_star_does_not_cross_folders(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {
            ".gitlab-ci.yml": "include: 'ci/*.yml'\n",
            "ci/b.yml": "b:\n  script: echo\n",
            "ci/a.yml": "a:\n  script: echo\n",
            "ci/notes.txt": "not yaml\n",
            "ci/nested/c.yml": "c:\n  script: echo\n",
        },
    )
    assert names(config) == ["a", "b"]


def test_double_star_crosses_folders(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {
            ".gitlab-ci.yml": "include:\n  - local: 'ci/**.yml'\n",
            "ci/a.yml": "a:\n  script: echo\n",
            "ci/nested/deeper/c.yml": "c:\n  script: echo\n",
        },
    )
    assert names(config) == ["a", "c"]


def test_same_file_twice_is_allowed(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {".gitlab-ci.yml": "include: [a.yml, a.yml]\n", "a.yml": JOB},
    )
    assert names(config) == ["job"]


def test_missing_local_file(tmp_path: Path) -> None:
    files = {".gitlab-ci.yml": "include:\n  - local: ci/none.yml\n" + JOB}
    assert error(tmp_path, files) == (
        ".gitlab-ci.yml:2: include: Local file `ci/none.yml` does not exist!"
    )


def test_include_needs_a_yaml_extension(tmp_path: Path) -> None:
    files = {".gitlab-ci.yml": "include: ci/jobs.txt\n" + JOB, "ci/jobs.txt": JOB}
    assert error(tmp_path, files) == (
        ".gitlab-ci.yml:1: include: Included file `ci/jobs.txt` does not have YAML "
        "extension!"
    )


def test_empty_included_file(tmp_path: Path) -> None:
    files = {".gitlab-ci.yml": "include: [empty.yml]\n" + JOB, "empty.yml": "# none\n"}
    assert error(tmp_path, files) == (
        ".gitlab-ci.yml:1: include: Local file `empty.yml` is empty!"
    )


def test_include_cycle_names_the_chain(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": "include: a.yml\n" + JOB,
        "a.yml": "include: b.yml\n",
        "b.yml": "include:\n  - a.yml\n",
    }
    assert error(tmp_path, files) == (
        "b.yml:2: include: include cycle: .gitlab-ci.yml -> a.yml -> b.yml -> a.yml"
    )


def test_more_than_150_includes(tmp_path: Path) -> None:
    files = {".gitlab-ci.yml": "include:\n" + "  - a.yml\n" * 151 + JOB, "a.yml": JOB}
    assert error(tmp_path, files) == (
        ".gitlab-ci.yml:152: include: Maximum of 150 nested includes are allowed!"
    )


def test_include_entry_needs_one_kind(tmp_path: Path) -> None:
    files = {".gitlab-ci.yml": "include:\n  - file: a.yml\n" + JOB}
    assert error(tmp_path, files) == (
        '.gitlab-ci.yml:2: include: `{"file": "a.yml"}` does not have a valid subkey '
        "for include. Valid subkeys are: `local`, `project`, `remote`, `template`, "
        "`artifact`, `component`"
    )


def test_include_entry_with_unknown_key(tmp_path: Path) -> None:
    files = {".gitlab-ci.yml": "include:\n  - local: a.yml\n    when: always\n" + JOB}
    assert error(tmp_path, files) == (
        ".gitlab-ci.yml:3: include: contains unknown keys: when"
    )


def test_include_rules_use_include_variables(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": """
            include:
              - local: canonical.yml
                rules:
                  - if: $CI_PROJECT_PATH == "group/project"
              - local: fork.yml
                rules:
                  - if: $CI_PROJECT_PATH == "group/project"
                    when: never
                  - if: $CI_PROJECT_PATH
              - local: never.yml
                rules:
                  - if: $UNDEFINED
        """,
        "canonical.yml": "canonical:\n  script: echo\n",
        "fork.yml": "fork:\n  script: echo\n",
        "never.yml": "never:\n  script: echo\n",
    }
    upstream = load(
        tmp_path, files, include_variables={"CI_PROJECT_PATH": "group/project"}
    )
    assert names(upstream) == ["canonical"]
    fork = load(tmp_path, files, include_variables={"CI_PROJECT_PATH": "me/project"})
    assert names(fork) == ["fork"]


def test_include_rules_exists(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": """
            include:
              - local: go.yml
                rules:
                  - exists: ["**/go.mod"]
              - local: node.yml
                rules:
                  - exists:
                      paths: [package.json]
        """,
        "src/go.mod": "module x\n",
        "go.yml": "go:\n  script: echo\n",
        "node.yml": "node:\n  script: echo\n",
    }
    assert names(load(tmp_path, files)) == ["go"]


CHANGES_FILES = {
    ".gitlab-ci.yml": """
        include:
          - local: docker.yml
            rules:
              - changes: [Dockerfile, "$DOCKER_DIR/**/*"]
          - local: app.yml
            rules:
              - changes:
                  paths: ["src/*.py"]
        main:
          script: echo
    """,
    "docker.yml": "docker:\n  script: echo\n",
    "app.yml": "app:\n  script: echo\n",
}


def test_include_rules_changes_match_the_changed_paths(tmp_path: Path) -> None:
    config = load(tmp_path, CHANGES_FILES, changed_paths=frozenset({"src/app.py"}))
    assert names(config) == ["app", "main"]


def test_include_rules_changes_expand_defined_variables(tmp_path: Path) -> None:
    changed = frozenset({"images/base/Containerfile"})
    config = load(
        tmp_path,
        CHANGES_FILES,
        changed_paths=changed,
        include_variables={"DOCKER_DIR": "images"},
    )
    assert names(config) == ["docker", "main"]
    # An undefined variable stays as written, so the glob matches nothing.
    assert names(load(tmp_path, CHANGES_FILES, changed_paths=changed)) == ["main"]


def test_include_rules_changes_without_a_match_exclude(tmp_path: Path) -> None:
    config = load(tmp_path, CHANGES_FILES, changed_paths=frozenset({"README.md"}))
    assert names(config) == ["main"]
    assert names(load(tmp_path, CHANGES_FILES, changed_paths=frozenset())) == ["main"]


def test_include_rules_changes_hold_without_changed_paths(tmp_path: Path) -> None:
    # Tags, new branches and sources without a push: nothing to compare with.
    assert names(load(tmp_path, CHANGES_FILES)) == ["docker", "app", "main"]


def test_include_rules_changes_compare_to_a_ref(make_repo: MakeRepo) -> None:
    files = {
        ".gitlab-ci.yml": textwrap.dedent(
            """
            include:
              - local: docs.yml
                rules:
                  - changes:
                      paths: ["docs/**/*.md"]
                      compare_to: $BASE
            main:
              script: echo
            """
        ),
        "docs.yml": "docs:\n  script: echo\n",
    }
    repo = make_repo(files)
    git(repo, "branch", "base")
    write_files(repo, {"docs/guide/intro.md": "intro\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Write docs")
    head = git(repo, "rev-parse", "HEAD")
    tree = DirectoryTree(repo)

    def with_base(base: str) -> Config:
        # The push itself changed nothing that the glob matches.
        return load_config(
            tree,
            include_variables={"BASE": base},
            changed_paths=frozenset(),
            compare_to=changes_since(repo, head),
        )

    assert names(with_base("base")) == ["docs", "main"]
    assert names(with_base("refs/heads/main")) == ["main"]
    with pytest.raises(ConfigError) as raised:
        with_base("no-such-branch")
    assert str(raised.value) == (
        ".gitlab-ci.yml:5: include:rules:changes:compare_to: "
        "'no-such-branch' is not a valid ref"
    )
    # Without a resolver the ref cannot be compared with: the rule holds.
    assert names(load_config(tree, changed_paths=frozenset())) == ["docs", "main"]


def test_include_rules_changes_must_be_paths(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": "include:\n  - local: a.yml\n"
        "    rules:\n      - changes: {compare_to: main}\n",
        "a.yml": JOB,
    }
    assert error(tmp_path, files) == (
        ".gitlab-ci.yml:4: include:rules:changes: missing required keys: paths"
    )


def test_include_rule_when_must_be_never_or_always(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": "include:\n  - local: a.yml\n"
        "    rules:\n      - when: manual\n",
        "a.yml": JOB,
    }
    assert error(tmp_path, files) == (
        ".gitlab-ci.yml:4: include:rules:when: unknown value: manual"
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "template: Jobs/SAST.gitlab-ci.yml",
            "include template 'Jobs/SAST.gitlab-ci.yml' cannot be fetched offline: map "
            '"template:Jobs/SAST.gitlab-ci.yml" to a local file in '
            '.minirunner/includes.yml (or set "templates_dir")',
        ),
        (
            "remote: https://example.com/ci/base.yml",
            "include remote 'https://example.com/ci/base.yml' cannot be fetched "
            'offline: map "remote:https://example.com/ci/base.yml" to a local file in '
            ".minirunner/includes.yml",
        ),
        (
            "component: $CI_SERVER_FQDN/org/lint/check@1.0",
            "include component '$CI_SERVER_FQDN/org/lint/check@1.0' "
            "('example.com/org/lint/check@1.0') cannot be fetched offline: map "
            '"component:$CI_SERVER_FQDN/org/lint/check@1.0" to a local file in '
            ".minirunner/includes.yml",
        ),
        (
            "project: group/tools\n    ref: v2\n    file: /ci/build.yml",
            "include project 'group/tools:/ci/build.yml@v2' cannot be fetched offline: "
            'map "project:group/tools:/ci/build.yml@v2" to a local file in '
            ".minirunner/includes.yml",
        ),
        (
            "artifact: generated.yml\n    job: generate",
            "include artifact 'generate:generated.yml' cannot be fetched offline: map "
            '"artifact:generate:generated.yml" to a local file in '
            ".minirunner/includes.yml",
        ),
    ],
)
def test_unavailable_includes_name_the_include_and_the_map_key(
    tmp_path: Path, entry: str, message: str
) -> None:
    write(tmp_path, {".gitlab-ci.yml": f"include:\n  - {entry}\n" + JOB})
    with pytest.raises(IncludeUnavailable) as caught:
        load_config(
            DirectoryTree(tmp_path), include_variables={"CI_SERVER_FQDN": "example.com"}
        )
    assert str(caught.value) == f".gitlab-ci.yml:2: include: {message}"


def test_include_map_stands_in_for_every_kind(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": """
            include:
              - template: Jobs/Build.gitlab-ci.yml
              - remote: https://example.com/base.yml
              - component: $CI_SERVER_FQDN/org/lint/check@1.0
              - project: group/tools
                ref: v2
                file: [/ci/a.yml, ci/b.yml]
        """,
        "vendor/build.yml": "build:\n  script: echo\n",
        "vendor/base.yml": "base:\n  script: echo\n",
        "vendor/check.yml": "check:\n  script: echo\n",
        "vendor/a.yml": "include:\n  - local: ci/c.yml\na:\n  script: echo\n",
        "vendor/b.yml": "b:\n  script: echo\n",
        "vendor/c.yml": "c:\n  script: echo\n",
    }
    mapping = {
        "template:Jobs/Build.gitlab-ci.yml": "vendor/build.yml",
        "remote:https://example.com/base.yml": "vendor/base.yml",
        "component:example.com/org/lint/check": "vendor/check.yml",
        "project:group/tools:/ci/a.yml@v2": "vendor/a.yml",
        "project:group/tools:ci/b.yml": "vendor/b.yml",
        # A local include inside a project's file is that project's file.
        "project:group/tools:ci/c.yml@v2": "vendor/c.yml",
    }
    config = load(
        tmp_path,
        files,
        include_map=mapping,
        include_variables={"CI_SERVER_FQDN": "example.com"},
    )
    assert names(config) == ["build", "base", "check", "c", "a", "b"]
    assert config.files[1:] == (
        "vendor/build.yml",
        "vendor/base.yml",
        "vendor/check.yml",
        "vendor/a.yml",
        "vendor/c.yml",
        "vendor/b.yml",
    )


def test_templates_dir_serves_template_includes(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": "include:\n  - template: Jobs/Lint.gitlab-ci.yml\n",
        "templates/Jobs/Lint.gitlab-ci.yml": "lint:\n  script: echo\n",
    }
    write(tmp_path, files)
    config = load_config(
        DirectoryTree(tmp_path),
        include_map={"templates_dir": str(tmp_path / "templates")},
        tree_root=tmp_path,
    )
    assert names(config) == ["lint"]
    assert config.files == (".gitlab-ci.yml", "templates/Jobs/Lint.gitlab-ci.yml")


def test_include_map_file_of_project_and_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user))
    write(
        user,
        {
            "minirunner/includes.yml": """
                "remote:https://example.com/a.yml": a.yml
                "remote:https://example.com/b.yml": b.yml
            """
        },
    )
    project = tmp_path / "project"
    write(
        project,
        {
            ".minirunner/includes.yml": """
                templates_dir: vendor/templates
                "remote:https://example.com/b.yml": vendor/b.yml
            """
        },
    )
    assert load_include_map(project) == {
        "remote:https://example.com/a.yml": str(user / "minirunner" / "a.yml"),
        "remote:https://example.com/b.yml": str(project / "vendor" / "b.yml"),
        "templates_dir": str(project / "vendor" / "templates"),
    }


def test_include_map_file_is_read_from_tree_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-user-config"))
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": "include:\n  - remote: https://example.com/a.yml\n",
            ".minirunner/includes.yml": '"remote:https://example.com/a.yml": a.yml\n',
            "a.yml": JOB,
        },
    )
    config = load_config(DirectoryTree(tmp_path), tree_root=tmp_path)
    assert names(config) == ["job"]


def test_include_map_refuses_unknown_keys(tmp_path: Path) -> None:
    write(tmp_path, {".minirunner/includes.yml": "'local:x.yml': y.yml\n"})
    with pytest.raises(ConfigError) as caught:
        load_include_map(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}/.minirunner/includes.yml: include map key 'local:x.yml' should be "
        "`templates_dir` or start with one of: template:, project:, remote:, "
        "component:, artifact:"
    )


def test_child_pipeline_of_a_trigger_job(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": """
            child:
              trigger:
                include:
                  - local: ci/child.yml
                  - ci/extra.yml
                  - artifact: generated.yml
                    job: generate
        """,
        "ci/child.yml": "include: ci/common.yml\nunit:\n  script: echo\n",
        "ci/common.yml": "common:\n  script: echo\n",
        "ci/extra.yml": "extra:\n  script: echo\n",
        "vendor/generated.yml": "generated:\n  script: echo\n",
    }
    parent = load(tmp_path, files)
    trigger = parent.jobs[0].trigger
    assert trigger is not None
    with pytest.raises(IncludeUnavailable) as caught:
        load_child_config(DirectoryTree(tmp_path), trigger, "child")
    assert str(caught.value) == (
        "trigger:include of job 'child': include: include artifact "
        "'generate:generated.yml' cannot be fetched offline: map "
        '"artifact:generate:generated.yml" to a local file in .minirunner/includes.yml'
    )
    child = load_child_config(
        DirectoryTree(tmp_path),
        trigger,
        "child",
        include_map={"artifact:generate:generated.yml": "vendor/generated.yml"},
    )
    assert names(child) == ["common", "unit", "extra", "generated"]
    assert child.files == (
        "ci/child.yml",
        "ci/common.yml",
        "ci/extra.yml",
        "vendor/generated.yml",
    )
