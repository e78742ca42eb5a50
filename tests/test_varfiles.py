"""Variables files: their forms, their precedence, and file-type variables."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cli_support import minirunner
from conftest import MakeRepo, git, write_files

from minirunner.errors import ConfigError
from minirunner.varfiles import UserVariable, load_user_variables, parse_dotenv

PIPELINE = """
variables:
  A: yaml
  B: yaml
  C: yaml
  D: yaml
  E: yaml
  F: yaml
  G: yaml
  FROM_FILE: $CERT
job:
  variables:
    B: job
  script:
    - cat "$CERT"
    - stat -c '%a' "$CERT" "$(dirname "$CERT")"
    - echo "literal=$LITERAL"
"""

CERT = "-----BEGIN-----\\nline\\n-----END-----\\n"


@pytest.fixture
def repo(make_repo: MakeRepo, tmp_path: Path) -> Path:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    git(repo, "remote", "add", "origin", "git@gitlab.example.com:group/project.git")
    write_files(
        repo,
        {
            ".minirunner.toml": (
                '[minirunner]\nvariables = {A = "toml", B = "toml", C = "toml", '
                'D = "toml", E = "toml"}\n'
            ),
            ".minirunner/variables.env": "# private\nexport D=dotenv\nE='dotenv'\n",
            ".minirunner/variables.yml": (
                f'E: project-yml\nCERT: {{value: "{CERT}", type: file}}\n'
                "LITERAL: {value: $HOME-$$x, expand: false}\n"
            ),
        },
    )
    write_files(
        tmp_path / "config" / "minirunner",
        {
            "variables.yml": (
                "B: user\nC: user\nD: user\nE: user\n"
                "projects:\n"
                "  group/project: {C: for-this-project, D: for-this-project}\n"
                "  group/other: {C: not-this-one}\n"
            )
        },
    )
    return repo


def test_precedence_of_every_source(repo: Path) -> None:
    done = minirunner(repo, "vars", "job", "--json", "-v", "F=cli")
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert {key: values[key] for key in "ABCDEFG"} == {
        "A": "toml",
        "B": "user",
        "C": "for-this-project",
        "D": "dotenv",
        "E": "project-yml",
        "F": "cli",
        "G": "yaml",
    }


def test_a_file_variable_in_a_job(repo: Path) -> None:
    done = minirunner(repo, "run", "--color", "never")
    assert done.returncode == 0, done.stdout + done.stderr
    log = (repo / ".minirunner" / "runs" / "1" / "job.log").read_text()
    lines = log.splitlines()
    start = lines.index('$ cat "$CERT"')
    assert lines[start + 1 : start + 7] == [
        "-----BEGIN-----",
        "line",
        "-----END-----",
        """$ stat -c '%a' "$CERT" "$(dirname "$CERT")\"""",
        "600",
        "700",
    ]
    assert "literal=$HOME-$$x" in lines


def test_vars_shows_a_file_variable_and_what_other_variables_got(repo: Path) -> None:
    values = json.loads(minirunner(repo, "vars", "job", "--json").stdout)
    assert values["CERT"] == "<file: 35 bytes>"
    # GitLab expands a file variable to its content (gitlab#30775).
    assert values["FROM_FILE"] == "-----BEGIN-----\nline\n-----END-----\n"
    assert values["LITERAL"] == "$HOME-$$x"


def test_the_command_line_wins_and_the_file_variable_is_no_file(repo: Path) -> None:
    values = json.loads(
        minirunner(repo, "vars", "job", "--json", "-v", "CERT=plain").stdout
    )
    assert values["CERT"] == "plain"


def test_a_project_entry_by_folder_path(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    config = tmp_path / "config"
    write_files(
        config / "minirunner",
        {"variables.yml": f"A: everywhere\nprojects:\n  {repo}: {{A: here}}\n"},
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    loaded = load_user_variables(repo, "local/project")
    assert loaded.values == {"A": "here"}
    assert loaded.variables["A"].source == f"{config}/minirunner/variables.yml " + (
        f"(projects: {repo})"
    )


def test_materialised_files_are_private(tmp_path: Path, repo: Path) -> None:
    loaded = load_user_variables(repo, "group/project")
    paths = loaded.materialise(tmp_path / "files")
    path = Path(paths["CERT"])
    assert path == tmp_path / "files" / "CERT"
    assert path.read_text() == "-----BEGIN-----\nline\n-----END-----\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert loaded.files == {"CERT"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "TOKEN: {value: short, masked: true}\n",
            "TOKEN: GitLab cannot mask this value: it has fewer than 8 characters "
            "(https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable)",
        ),
        (
            "TOKEN: {value: abc, kind: file}\n",
            "TOKEN: unknown setting 'kind' (known: value, masked, type, "
            "variable_type, expand, raw, description)",
        ),
        (
            "TOKEN: {value: abc, type: dir}\n",
            "TOKEN: type must be env_var or file, not 'dir'",
        ),
        ("TOKEN: {value: abc, masked: sure}\n", "TOKEN: masked must be true or false"),
        (
            "BAD-NAME: x\n",
            "'BAD-NAME' is not a variable name (letters, digits and _ only)",
        ),
        ("projects: {a/b: {X: y}}\n", "'projects:' belongs in "),
        ("T: !custom hello\n", "not valid YAML: unsupported YAML tag '!custom'"),
        ("- a\n", "must be a mapping of NAME: value"),
    ],
)
def test_mistakes_in_a_project_file(
    make_repo: MakeRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    message: str,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    write_files(repo, {".minirunner/variables.yml": text})
    with pytest.raises(ConfigError) as raised:
        load_user_variables(repo, "group/project")
    assert raised.value.file == str(repo / ".minirunner" / "variables.yml")
    assert raised.value.reason.startswith(message)


def test_a_mistake_is_one_line_naming_the_file(make_repo: MakeRepo) -> None:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    write_files(repo, {".minirunner/variables.env": "OK=1\nnot a line\n"})
    done = minirunner(repo, "list")
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: {repo}/.minirunner/variables.env:2: expected NAME=value with no "
        "space around '=', got 'not a line'\n"
    )


def test_dotenv_forms(tmp_path: Path) -> None:
    path = tmp_path / "variables.env"
    path.write_text(
        "# a comment\n"
        "\n"
        "PLAIN=value # trailing comment\n"
        "export EXPORTED=yes\n"
        "SINGLE='keeps \\n and $X'\n"
        'DOUBLE="tab\\there \\"quoted\\""\n'
        "EMPTY=\n"
        "WITH_EQUALS=a=b\n"
    )
    assert {name: item.value for name, item in parse_dotenv(path).items()} == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SINGLE": "keeps \\n and $X",
        "DOUBLE": 'tab\there "quoted"',
        "EMPTY": "",
        "WITH_EQUALS": "a=b",
    }
    assert parse_dotenv(path)["PLAIN"] == UserVariable(
        "PLAIN", "value", source=str(path)
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "export  E = spaced",
            "expected NAME=value with no space around '=', got 'E = spaced'",
        ),
        ("E= spaced", "expected NAME=value with no space around '=', got 'E= spaced'"),
        ('T=unterminated "quote', "T: a quote inside the value: quote the whole value"),
        ('T="unterminated quote', 'T: the " quote is not closed'),
        ("T='a'b", "T: text after the closing quote: 'b'"),
        ("T=abc def", "T: a space in a value without quotes: quote the value"),
        (
            "GOOD-NAME=y",
            "'GOOD-NAME' is not a variable name (letters, digits and _ only)",
        ),
    ],
)
def test_dotenv_lines_a_shell_would_read_otherwise(
    tmp_path: Path, line: str, message: str | None
) -> None:
    path = tmp_path / "variables.env"
    path.write_text(f"OK=1\n{line}\n")
    if message is None:
        assert parse_dotenv(path)["T"].value == 'unterminated "quote'
        return
    with pytest.raises(ConfigError) as raised:
        parse_dotenv(path)
    assert str(raised.value) == f"{path}:2: {message}"


@pytest.mark.parametrize("kind", ["folder", "broken link"])
def test_a_variables_file_that_is_no_file_is_named(
    make_repo: MakeRepo, kind: str
) -> None:
    repo = make_repo({".gitlab-ci.yml": "job:\n  script: [echo hi]\n"})
    path = repo / ".minirunner" / "variables.yml"
    path.parent.mkdir()
    if kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(path)
    done = minirunner(repo, "run")
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: {path}: a variables file must be a file, not a folder or a "
        "broken link\n"
    )
