"""Defaults from `.minirunner.toml` and MINIRUNNER_*; shell completion."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo

from minirunner.errors import ConfigError
from minirunner.userconfig import find_root, load_project_settings, option_value

PIPELINE = """
compile:
  stage: build
  script: [echo compiled]
unit:
  script: [echo tested]
.hidden:
  script: [echo]
"""

ANSI_PREFIX = "\x1b[36mcompile\x1b[0m | "


def committed(make_repo: MakeRepo, toml: str) -> Path:
    return make_repo({".gitlab-ci.yml": PIPELINE, ".minirunner.toml": toml})


def test_the_file_sets_defaults(make_repo: MakeRepo) -> None:
    repo = committed(make_repo, '[minirunner]\ncolor = "always"\nquiet = true\n')
    done = minirunner(repo, "run")
    assert done.returncode == 0, done.stderr
    assert " | " not in done.stdout
    assert "\x1b[32mpassed\x1b[0m" in done.stdout


def test_the_environment_beats_the_file_and_the_command_line_beats_both(
    make_repo: MakeRepo,
) -> None:
    repo = committed(make_repo, '[minirunner]\ncolor = "never"\n')
    from_env = minirunner(repo, "run", "compile", env={"MINIRUNNER_COLOR": "always"})
    assert ANSI_PREFIX in from_env.stdout
    from_cli = minirunner(
        repo, "run", "compile", "--color", "never", env={"MINIRUNNER_COLOR": "always"}
    )
    assert "compile | compiled" in from_cli.stdout
    assert "\x1b[" not in from_cli.stdout


def test_the_file_is_found_from_cwd(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = committed(make_repo, '[minirunner]\ncolor = "always"\n')
    done = minirunner(tmp_path, "run", "compile", "--cwd", str(repo))
    assert ANSI_PREFIX in done.stdout


def test_variables_of_the_file(make_repo: MakeRepo) -> None:
    repo = committed(make_repo, '[minirunner]\nvariables = {GREETING = "hi", N = 3}\n')
    done = minirunner(repo, "vars", "--json")
    assert '"GREETING": "hi"' in done.stdout
    assert '"N": "3"' in done.stdout


def test_an_unknown_setting_is_one_line(make_repo: MakeRepo) -> None:
    repo = committed(make_repo, "[minirunner]\ncolour = 'always'\n")
    done = minirunner(repo, "list")
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"Error: {repo}/.minirunner.toml: [minirunner] has no setting 'colour' "
        "(known: executor, concurrency, color, quiet, verbose, keep, registry, "
        "progress, file, worktree, source, variables)"
    )


def test_a_bad_value_names_where_it_was_set(make_repo: MakeRepo) -> None:
    repo = committed(make_repo, '[minirunner]\nconcurrency = "lots"\n')
    from_file = minirunner(repo, "run")
    from_env = minirunner(repo, "run", env={"MINIRUNNER_EXECUTOR": "podman"})
    from_cli = minirunner(repo, "run", "-jmany")
    assert (from_file.returncode, from_env.returncode, from_cli.returncode) == (2, 2, 2)
    assert from_file.stderr == (
        f"Error: {repo}/.minirunner.toml: concurrency: 'lots' is not a valid "
        "integer range.\n"
    )
    assert from_env.stderr == (
        "Error: MINIRUNNER_EXECUTOR: 'podman' is not one of 'auto', 'shell', "
        "'docker'.\n"
    )
    assert from_cli.stderr == (
        "Error: Invalid value for '-j' / '--concurrency': 'many' is not a valid "
        "integer range. (`minirunner run --help` for help)\n"
    )


def test_a_missing_file_names_the_setting_that_chose_it(make_repo: MakeRepo) -> None:
    repo = committed(make_repo, '[minirunner]\nfile = "ci/other.yml"\n')
    from_file = minirunner(repo, "list")
    from_env = minirunner(repo, "list", env={"MINIRUNNER_FILE": "ci/env.yml"})
    sha = from_file.stderr.split("commit ")[1][:8]
    assert from_file.stderr == (
        f"Error: no ci/other.yml in the commit {sha} (the file named by "
        ".minirunner.toml)\n"
    )
    assert from_env.stderr == (
        f"Error: no ci/env.yml in the commit {sha} (the file named by "
        "MINIRUNNER_FILE)\n"
    )


def test_settings_a_command_has_no_option_for_are_ignored(make_repo: MakeRepo) -> None:
    repo = committed(make_repo, '[minirunner]\nexecutor = "shell"\n')
    done = minirunner(repo, "list")
    assert done.returncode == 0, done.stderr


def test_no_file_no_settings(tmp_path: Path) -> None:
    settings = load_project_settings(tmp_path)
    assert (settings.path, dict(settings.options), dict(settings.variables)) == (
        None,
        {},
        {},
    )


def test_bad_toml(tmp_path: Path) -> None:
    (tmp_path / ".minirunner.toml").write_text("[minirunner\n")
    with pytest.raises(ConfigError) as raised:
        load_project_settings(tmp_path)
    assert raised.value.reason.startswith("not valid TOML: ")


def test_find_root_and_option_value(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_root(tmp_path / "a" / "b") == tmp_path
    assert option_value(["run", "--cwd", "x", "job"], "--cwd") == "x"
    assert option_value(["--cwd=y"], "--cwd") == "y"
    assert option_value(["--", "--cwd", "z"], "--cwd") is None


def test_completion_of_commands_and_job_names(make_repo: MakeRepo) -> None:
    repo = committed(make_repo, "")
    commands = minirunner(
        repo,
        env={
            "_MINIRUNNER_COMPLETE": "bash_complete",
            "COMP_WORDS": "minirunner ex",
            "COMP_CWORD": "1",
        },
    )
    assert commands.stdout.splitlines() == ["plain,explain"]
    jobs = minirunner(
        repo,
        env={
            "_MINIRUNNER_COMPLETE": "bash_complete",
            "COMP_WORDS": "minirunner run ",
            "COMP_CWORD": "2",
        },
    )
    assert jobs.stdout.splitlines() == ["plain,compile", "plain,unit"]


def test_completion_scripts(tmp_path: Path) -> None:
    for shell, marker in (
        ("bash", "_minirunner_completion()"),
        ("zsh", "#compdef minirunner"),
        ("fish", "function _minirunner_completion"),
    ):
        done = minirunner(tmp_path, env={"_MINIRUNNER_COMPLETE": f"{shell}_source"})
        assert marker in done.stdout
