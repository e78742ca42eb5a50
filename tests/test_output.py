"""The terminal and the job logs: prefixes, colours, sections, progress, summary."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest

from minirunner.output import Console, has_control_chars, use_colour
from minirunner.progress import ProgressView, clock
from minirunner.results import JobResult, PipelineResult, pipeline_line, print_summary

GREEN_ECHO = "\x1b[32;1m$ make\x1b[0;m"


class Stream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, terminal: bool = False) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def job_output(
    tmp_path: Path, *chunks: str, colour: bool = False, verbose: bool = False
) -> tuple[str, str]:
    stream = Stream()
    console = Console(colour=colour, verbose=verbose, stream=stream)
    console.set_name_width(["build", "unit-tests"])
    log = console.job_log("build", tmp_path / "build.log", [])
    for chunk in chunks:
        log(chunk)
    log.close()
    return (tmp_path / "build.log").read_text(), stream.getvalue()


def test_lines_are_prefixed_with_the_padded_job_name(tmp_path: Path) -> None:
    log, shown = job_output(tmp_path, "one\ntwo\n", "three\n")
    assert log == "one\ntwo\nthree\n"
    assert shown == "build      | one\nbuild      | two\nbuild      | three\n"


def test_colours_stay_on_a_terminal_and_go_from_the_log(tmp_path: Path) -> None:
    log, shown = job_output(tmp_path, GREEN_ECHO + "\n", colour=True)
    assert log == "$ make\n"
    assert shown == f"\x1b[36mbuild     \x1b[0m | {GREEN_ECHO}\x1b[0m\n"


def test_colours_are_stripped_when_off(tmp_path: Path) -> None:
    _, shown = job_output(tmp_path, GREEN_ECHO + "\n")
    assert shown == "build      | $ make\n"


def test_a_progress_redraw_keeps_what_a_terminal_shows(tmp_path: Path) -> None:
    log, _ = job_output(tmp_path, "10%\r50%\r100%\n")
    assert log == "100%\n"


SECTIONS = (
    "\x1b[0Ksection_start:1700000000:deps[collapsed=true]\r\x1b[0KInstalling\n"
    "pip install a\n"
    "\x1b[0Ksection_end:1700000001:deps\r\x1b[0K\n"
    "section_start:1700000002:tests\r\x1b[0KRunning tests\n"
    "ok\n"
    "section_end:1700000003:tests\r\x1b[0K\n"
)


def test_sections_become_one_header_and_collapsed_ones_fold(tmp_path: Path) -> None:
    log, shown = job_output(tmp_path, SECTIONS)
    assert log == "> Installing\npip install a\n> Running tests\nok\n"
    assert shown == (
        "build      | > Installing (folded)\n"
        "build      | > Running tests\n"
        "build      | ok\n"
    )


def test_verbose_unfolds_collapsed_sections(tmp_path: Path) -> None:
    _, shown = job_output(tmp_path, SECTIONS, verbose=True)
    assert "build      | pip install a\n" in shown


def test_an_echoed_marker_is_no_section(tmp_path: Path) -> None:
    line = "$ printf 'section_start:1:s\\r\\e[0KTitle\\n'\n"
    log, _ = job_output(tmp_path, line)
    assert log == line


def test_lines_of_parallel_jobs_never_mix(tmp_path: Path) -> None:
    stream = Stream()
    console = Console(stream=stream)
    names = [f"job{index}" for index in range(8)]
    console.set_name_width(names)

    def produce(name: str) -> None:
        log = console.job_log(name, tmp_path / f"{name}.log", [])
        for number in range(200):
            log(f"{name} line {number} " + "x" * 50 + "\n")
        log.close()

    threads = [threading.Thread(target=produce, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1600
    pattern = re.compile(r"^(job\d) \| (job\d) line \d+ x{50}$")
    for line in lines:
        found = pattern.match(line)
        assert found and found.group(1) == found.group(2), line


@pytest.mark.parametrize(
    ("choice", "no_color", "terminal", "expected"),
    [
        ("auto", None, True, True),
        ("auto", None, False, False),
        ("auto", "1", True, False),
        ("always", "1", False, True),
        ("never", None, True, False),
    ],
)
def test_colour_choice(
    monkeypatch: pytest.MonkeyPatch,
    choice: str,
    no_color: str | None,
    terminal: bool,
    expected: bool,
) -> None:
    monkeypatch.delenv("TERM", raising=False)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert use_colour(choice, Stream(terminal)) is expected


def test_quiet_hides_job_lines_but_keeps_the_log(tmp_path: Path) -> None:
    stream = Stream()
    console = Console(quiet=True, stream=stream)
    log = console.job_log("build", tmp_path / "build.log", [])
    log("hello\n")
    log.close()
    console.info("a note")
    assert stream.getvalue() == ""
    assert (tmp_path / "build.log").read_text() == "hello\n"


def test_the_progress_view_counts_jobs() -> None:
    view = ProgressView(Stream(terminal=True), ["a", "b", "c"], colour=False)
    try:
        view.started("a")
        view.started("b")
        view.finished("a", "failed")
        assert view.counts() == {"running": 1, "done": 1, "failed": 1, "pending": 1}
        text = str(view.render())
        assert re.search(r"^ . b  0:00$", text, re.M)
        assert text.splitlines()[-1].startswith(
            " 1 running · 1 done · 1 failed · 1 pending · 0:0"
        )
    finally:
        view.stop()


def test_job_lines_go_above_the_progress_view(tmp_path: Path) -> None:
    stream = Stream(terminal=True)
    console = Console(stream=stream, progress=True)
    console.set_name_width(["build"])
    log = console.job_log("build", tmp_path / "build.log", [])
    log("compiling\n")
    log.close()
    console.close()
    assert "build | compiling" in stream.getvalue()
    assert "1 done" in stream.getvalue()


def test_clock() -> None:
    assert [clock(7), clock(750), clock(3723)] == ["0:07", "12:30", "1:02:03"]


def results(tmp_path: Path) -> PipelineResult:
    log = tmp_path / "unit.log"
    log.write_text("".join(f"line {n}\n" for n in range(1, 13)))
    return PipelineResult(
        7,
        (
            JobResult("compile", "build", "success", False, 0, 4.21),
            JobResult("unit", "test", "failed", False, 2, 65.0, log, "exit 2"),
            JobResult("lint", "test", "failed", True, 1, 0.5, log, "exit 1"),
            JobResult("deploy", "deploy", "skipped", False),
            JobResult("release", "deploy", "manual", False),
        ),
        snapshot="commit 1a2b3c4d",
        duration_s=70.2,
    )


def test_the_summary_when_not_a_terminal(tmp_path: Path) -> None:
    stream = Stream()
    print_summary(Console(stream=stream), results(tmp_path), tail_lines=2)
    log = tmp_path / "unit.log"
    assert stream.getvalue() == (
        "\n"
        "job      stage   status           duration\n"
        "compile  build   passed           4.2s\n"
        "unit     test    failed           1m 05s\n"
        "lint     test    allowed to fail  0.5s\n"
        "deploy   deploy  skipped          -\n"
        "release  deploy  manual           -\n"
        "\n"
        "unit failed: exit 2\n"
        "  line 11\n"
        "  line 12\n"
        f"  full log: {log}\n"
        "\n"
        "lint failed (allowed to fail): exit 1\n"
        "  line 11\n"
        "  line 12\n"
        f"  full log: {log}\n"
        "\n"
        "Pipeline #7 failed in 1m 10s: 1 passed, 1 failed, 1 allowed to fail, "
        "1 skipped, 1 manual (commit 1a2b3c4d)\n"
    )


def test_the_summary_on_a_terminal_is_a_rich_table(tmp_path: Path) -> None:
    stream = Stream(terminal=True)
    print_summary(Console(stream=stream, colour=True), results(tmp_path))
    text = stream.getvalue()
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert re.search(r"^ *compile +build +passed +4\.2s$", plain, re.M)
    assert re.search(r"^ *lint +test +allowed to fail +0\.5s$", plain, re.M)
    assert "\x1b[32mpassed\x1b[0m" in text
    assert "─" in plain


def test_a_terminal_too_narrow_for_a_drawn_table_gets_the_plain_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    stream = Stream(terminal=True)
    print_summary(Console(stream=stream, colour=False), results(tmp_path))
    assert stream.getvalue().splitlines()[1:3] == [
        "job      stage   status           duration",
        "compile  build   passed           4.2s",
    ]


def test_the_summary_has_a_coverage_column_when_a_job_reports_one() -> None:
    result = PipelineResult(
        3,
        (
            JobResult("unit", "test", "success", False, 0, 2.0, coverage=87.5),
            JobResult("lint", "test", "success", False, 0, 1.0),
        ),
    )
    stream = Stream()
    print_summary(Console(stream=stream), result)
    assert stream.getvalue().splitlines()[1:4] == [
        "job   stage  status  duration  coverage",
        "unit  test   passed  2.0s      87.5%",
        "lint  test   passed  1.0s      -",
    ]
    terminal = Stream(terminal=True)
    print_summary(Console(stream=terminal, colour=False), result)
    assert re.search(
        r"^ *unit +test +passed +2\.0s +87\.5%$", terminal.getvalue(), re.M
    )


def test_a_pipeline_with_an_allowed_failure_passes_with_warnings() -> None:
    result = PipelineResult(1, (JobResult("lint", "test", "failed", True, 1, 0.5),))
    assert (result.status, result.label) == ("success", "passed with warnings")


def test_a_pipeline_held_by_a_blocking_manual_job_is_blocked() -> None:
    gate = JobResult("gate", "deploy", "manual", False)
    optional = JobResult("review", "deploy", "manual", True)
    blocked = PipelineResult(1, (optional, gate))
    assert (blocked.status, blocked.label) == ("success", "blocked")
    assert PipelineResult(2, (optional,)).label == "passed"
    assert pipeline_line(blocked, colour=False) == "Pipeline #1 blocked: 2 manual"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain\ttext\nsecond line", False),
        ("café ☕ déjà vu\nnaïve", False),
        ("progress 10%\rprogress 20%", True),
        ("\x1b[32mgreen\x1b[0m", True),
        ("bell\x07", True),
        ("delete\x7f", True),
        ("é and a form feed\x0c", True),
        ("\x00", True),
    ],
)
def test_control_characters_are_found_in_any_text(text: str, expected: bool) -> None:
    assert has_control_chars(text) is expected


def test_wide_characters_in_a_name_keep_the_columns_aligned() -> None:
    console = Console(stream=Stream(terminal=False), colour=False)
    console.set_name_width(["🚀 ship", "unit-test"])
    assert console.prefix("🚀 ship") == "🚀 ship   | "
    assert console.prefix("unit-test") == "unit-test | "


def test_a_name_holding_control_characters_stays_on_its_line() -> None:
    console = Console(stream=Stream(terminal=False), colour=False)
    console.set_name_width(["a\nb", "c"])
    assert console.prefix("a\nb") == "a\\nb | "
    assert console.prefix("c") == "c    | "
