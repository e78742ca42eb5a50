"""Masked variables never reach a log or the terminal, however a script prints them."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import isolated_env, minirunner
from conftest import MakeRepo
from repo_guard import guard_make_repo

from minirunner.masking import MASK, Masker, unmaskable_reason, visible
from minirunner.output import LONG_LINE, Console

# Every repository a test here makes must come out of it unchanged.
make_repo = guard_make_repo()

SECRET = "s3cr3t-V4lue_for/tests"
RAW = "p'a$s\"w0rd!x"
REGISTRY_PASSWORD = "registry-pa55word"

PIPELINE = r"""
leak:
  script:
    - echo "plain $SECRET"
    - printf '%s' "$SECRET"; echo
    - printf '%s' "${SECRET:0:6}"; sleep 0.2; printf '%s\n' "${SECRET:6}"
    - echo "on stderr $SECRET" >&2
    - echo "twice $SECRET$SECRET end"
    - env | grep '^SECRET='
    - set -x; true "$SECRET"; set +x
    - printf '\033[31m%s\033[0m\n' "$SECRET"
    - printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r%s\n' "$SECRET"
    - printf '%s\n' "$SECRET" | cat
    - echo "$SECRET" > out.txt && cat out.txt
    - printf 'section_start:1:s\r\033[0K%s in a header\n' "$SECRET"
    - printf '%s\n' "$RAW"
    - echo "registry $CI_REGISTRY_PASSWORD"
    - echo "in a url https://user:$SECRET@example.com/x"
  after_script:
    - echo "after $SECRET"
"""

VARIABLES = f"""
SECRET: {{value: {json.dumps(SECRET)}, masked: true}}
RAW: {{value: {json.dumps(RAW)}, masked: true, expand: false}}
"""

EXPECTED_LINES = [
    "plain [MASKED]",
    "[MASKED]",
    "on stderr [MASKED]",
    "twice [MASKED][MASKED] end",
    "SECRET=[MASKED]",
    "+ true [MASKED]",
    "> [MASKED] in a header",
    "registry [MASKED]",
    "in a url https://user:[MASKED]@example.com/x",
    "after [MASKED]",
]


def leaking_repo(make_repo: MakeRepo) -> Path:
    repo = make_repo({".gitlab-ci.yml": PIPELINE})
    (repo / ".minirunner").mkdir()
    (repo / ".minirunner" / "variables.yml").write_text(VARIABLES)
    return repo


def assert_no_secret(text: str) -> None:
    for secret in (SECRET, RAW, REGISTRY_PASSWORD):
        assert secret not in text


def test_a_run_never_shows_a_masked_value(make_repo: MakeRepo) -> None:
    repo = leaking_repo(make_repo)
    done = minirunner(
        repo,
        "run",
        "--color",
        "never",
        "-v",
        f"CI_REGISTRY_PASSWORD={REGISTRY_PASSWORD}",
        "--report",
        "../report.json",
    )

    assert done.returncode == 0, done.stdout + done.stderr
    log = (repo / ".minirunner" / "runs" / "1" / "leak.log").read_text()
    for text in (
        done.stdout,
        done.stderr,
        log,
        (repo.parent / "report.json").read_text(),
    ):
        assert_no_secret(text)
    lines = log.splitlines()
    for expected in EXPECTED_LINES:
        assert expected in lines
    assert lines.count("[MASKED]") == 6
    assert "[MASKED]XXXXXXXX" in lines
    shown = [line.partition(" | ")[2] for line in done.stdout.splitlines()]
    for expected in EXPECTED_LINES:
        assert expected in shown


def test_the_terminal_view_never_shows_a_masked_value(make_repo: MakeRepo) -> None:
    repo = leaking_repo(make_repo)
    output = run_in_terminal(repo, "run", "--color", "always", "--progress")
    assert_no_secret(output)
    assert "plain [MASKED]" in output
    assert "twice [MASKED][MASKED] end" in output


def run_in_terminal(repo: Path, *args: str) -> str:
    """Run the CLI with a pseudo-terminal as its stdout and stderr."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "minirunner", *args],
        cwd=repo,
        env=isolated_env(repo.parent, {"TERM": "xterm-256color", "COLUMNS": "120"}),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_vars_masks_unless_revealed(make_repo: MakeRepo) -> None:
    repo = leaking_repo(make_repo)
    hidden = json.loads(minirunner(repo, "vars", "leak", "--json").stdout)
    shown = json.loads(minirunner(repo, "vars", "leak", "--json", "--reveal").stdout)
    assert (hidden["SECRET"], hidden["RAW"]) == (MASK, MASK)
    assert (shown["SECRET"], shown["RAW"]) == (SECRET, RAW)


def test_a_dry_run_masks_the_scripts_it_shows(make_repo: MakeRepo) -> None:
    repo = leaking_repo(make_repo)
    done = minirunner(repo, "run", "--dry-run", "--color", "never")
    assert done.returncode == 0, done.stderr
    assert_no_secret(done.stdout)
    assert '$ echo "plain [MASKED]"' in done.stdout.splitlines()


def log_of(tmp_path: Path, secrets: list[str], *chunks: str) -> tuple[str, str]:
    """Feed chunks to a JobLog; the log file's text and the terminal's."""
    shown = _Capture()
    console = Console(stream=shown)  # type: ignore[arg-type]
    console.set_name_width(["job"])
    log = console.job_log("job", tmp_path / "job.log", secrets)
    for chunk in chunks:
        log(chunk)
    log.close()
    return (tmp_path / "job.log").read_text(), shown.text


class _Capture:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_a_secret_cut_across_chunks_is_masked(tmp_path: Path) -> None:
    log, shown = log_of(tmp_path, [SECRET], "before s3cr3t", "-V4lue_f", "or/tests\n")
    assert log == "before [MASKED]\n"
    assert shown == "job | before [MASKED]\n"


def test_an_unfinished_last_line_is_masked_at_close(tmp_path: Path) -> None:
    log, shown = log_of(tmp_path, [SECRET], f"a\nend {SECRET[:5]}", SECRET[5:])
    assert log == "a\nend [MASKED]\n"
    assert shown == "job | a\njob | end [MASKED]\n"


@pytest.mark.parametrize("after", range(0, len(SECRET) + 3, 2))
def test_a_long_unfinished_line_is_cut_but_never_through_a_secret(
    tmp_path: Path, after: int
) -> None:
    # The line grows past the limit with the secret (whole or in part) at its
    # end, where it is cut.
    before = "y" * (LONG_LINE - 5)
    chunks = [before[:40_000], before[40_000:], SECRET[:7], SECRET[7:] + "z" * after]
    log, shown = log_of(tmp_path, [SECRET], *chunks, "\nend\n")
    assert SECRET not in log and SECRET not in shown
    assert log.replace("\n", "") == before + MASK + "z" * after + "end"
    assert log.count("\n") == 3


def test_colours_and_redraws_cannot_rebuild_a_secret(tmp_path: Path) -> None:
    cut = f"{SECRET[:4]}\x1b[1m{SECRET[4:]}\n"
    redrawn = f"{'x' * 6}{SECRET[6:]}\r{SECRET[:6]}\n"
    backspaced = f"{SECRET[:3]}?\b{SECRET[3:]}\n"
    log, shown = log_of(tmp_path, [SECRET], cut, redrawn, backspaced)
    assert log == "[MASKED]\n[MASKED]\n[MASKED]\n"
    assert SECRET not in visible(shown)


def test_the_longest_secret_is_masked_first() -> None:
    masker = Masker(["abcdefgh", "abcdefgh-ijkl"])
    assert masker.mask("abcdefgh-ijkl abcdefgh") == "[MASKED] [MASKED]"


def test_an_encoded_value_is_not_masked_as_on_gitlab() -> None:
    # GitLab Runner masks the exact value only; the docs warn that an encoded
    # value is shown (https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable).
    masker = Masker([SECRET])
    assert masker.mask("czNjcjN0LVY0bHVlX2Zvci90ZXN0cw==") == (
        "czNjcjN0LVY0bHVlX2Zvci90ZXN0cw=="
    )


@pytest.mark.parametrize(
    ("value", "raw", "reason"),
    [
        ("short", False, "it has fewer than 8 characters"),
        ("has space in", True, "it has spaces or lines"),
        (
            "dollar$sign",
            False,
            "it has characters other than A-Z a-z 0-9 _ + = / @ : . ~ - ($); "
            "`expand: false` allows any but spaces",
        ),
        ("dollar$sign", True, None),
        ("abc+/=@:.~-_", False, None),
    ],
)
def test_which_values_gitlab_can_mask(
    value: str, raw: bool, reason: str | None
) -> None:
    assert unmaskable_reason(value, raw=raw) == reason


def test_a_masked_file_variable_shows_its_size_and_its_path(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo(
        {".gitlab-ci.yml": "job:\n  script: ['cat $KEYFILE; echo', echo $KEYFILE]\n"}
    )
    (repo / ".minirunner").mkdir()
    (repo / ".minirunner" / "variables.yml").write_text(
        f"KEYFILE: {{value: {json.dumps(SECRET)}, masked: true, type: file}}\n"
    )
    values = json.loads(minirunner(repo, "vars", "job", "--json").stdout)
    ran = minirunner(repo, "run", "--color", "never")
    assert values["KEYFILE"] == f"<file: {len(SECRET)} bytes>"
    lines = ran.stdout.splitlines()
    assert "job | [MASKED]" in lines
    assert any(line.endswith("/KEYFILE") for line in lines)
    assert_no_secret(ran.stdout)
