"""A job's coverage is read from its log as GitLab reads it from the trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from minirunner.coverage import read_coverage


@pytest.mark.parametrize(
    ("log", "expression", "coverage"),
    [
        (
            "TOTAL 120 30 75%\nTOTAL 120 12 90%\nJob succeeded\n",
            r"/TOTAL.+ (\d+%)/",
            90.0,
        ),
        # Without a group, the first number of the match: not what was meant.
        ("TOTAL 120 12 90%\n", "/TOTAL.+%/", 120.0),
        ("Lines: 81.25% (13/16)\n", r"/Lines:\s+\d+\.\d+%/", 81.25),
        # The last group of the last match on the line, then its first number.
        ("a=1% b=2% c=3%\n", r"/(\w)=(\d+)%/", 3.0),
        ("cov 12.5 of 40.0\n", "/cov .*/", 12.5),
        ("coverage: unknown\n", "/coverage: .*/", None),
        ("nothing here\n", "/TOTAL.+%/", None),
        ("", "/TOTAL.+%/", None),
        ("Total: 70%\ntotal: 60%\n", "/TOTAL: .*%/i", 60.0),
    ],
)
def test_coverage_from_the_last_matching_line(
    tmp_path: Path, log: str, expression: str, coverage: float | None
) -> None:
    path = tmp_path / "job.log"
    path.write_text(log)
    assert read_coverage(path, expression) == coverage


def test_a_line_across_read_blocks_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "job.log"
    filler = "x" * 70_000
    path.write_text(f"TOTAL {filler} 42%\n" + "noise\n" * 30_000)
    assert read_coverage(path, "/TOTAL x+ \\d+%/") == 42.0


def test_a_missing_log_has_no_coverage(tmp_path: Path) -> None:
    assert read_coverage(tmp_path / "gone.log", "/TOTAL.+%/") is None
