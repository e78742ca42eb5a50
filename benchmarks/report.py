"""The results as Markdown sections of benchmarks/README.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from measure import Series

TIMING_COLUMNS = ("runs", "median s", "min s", "max s", "CPU s", "peak MB")


@dataclass(frozen=True)
class Table:
    """A Markdown table: a header row and rows of cells."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Target:
    """A goal of the issue, what was measured for it, and whether it was met."""

    goal: str
    measured: str
    met: bool | None


@dataclass(frozen=True)
class Section:
    """One benchmark's part of the README, between markers named by `key`."""

    key: str
    heading: str
    intro: str
    tables: tuple[Table, ...]
    targets: tuple[Target, ...] = ()
    notes: tuple[str, ...] = field(default=())


def seconds(value: float) -> str:
    """Seconds with three decimals."""
    return f"{value:.3f}"


def timing_cells(run: Series) -> tuple[str, ...]:
    """The standard cells of a row: runs, median, min, max, CPU, peak memory.

    A failed or stopped run says so instead of giving numbers.
    """
    if not run.samples:
        return ("0", "not run", "", "", "", "")
    last = run.samples[-1]
    if last.timed_out:
        return (
            str(len(run.samples)),
            f"> {seconds(last.wall)} (stopped)",
            "",
            "",
            "",
            f"{run.peak_mb:.0f}",
        )
    if not run.ok:
        return (
            str(len(run.samples)),
            f"failed (exit {last.returncode})",
            "",
            "",
            "",
            "",
        )
    return (
        str(len(run.samples)),
        seconds(run.median),
        seconds(min(run.walls)),
        seconds(max(run.walls)),
        seconds(run.cpu_median),
        f"{run.peak_mb:.0f}",
    )


def ratio(numerator: float, denominator: float, *, lower_bound: bool = False) -> str:
    """`numerator / denominator` as `12.3×` (`> 12.3×` for a lower bound)."""
    if denominator <= 0:
        return "n/a"
    text = f"{numerator / denominator:.1f}×"
    return f"> {text}" if lower_bound else text


def verdict(met: bool | None) -> str:
    """The word for a target's outcome."""
    return {True: "met", False: "**missed**", None: "not measured"}[met]


def render_table(table: Table) -> str:
    """The table in Markdown."""
    lines = []
    if table.caption:
        lines += [table.caption, ""]
    lines.append("| " + " | ".join(table.columns) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def render(section: Section, stamp: str) -> str:
    """The section's Markdown, markers included."""
    parts = [f"<!-- bench:{section.key}:begin -->", f"## {section.heading}", ""]
    parts += [section.intro, "", f"_{stamp}_", ""]
    for table in section.tables:
        parts += [render_table(table), ""]
    if section.targets:
        parts.append(
            render_table(
                Table(
                    ("target", "measured", "verdict"),
                    tuple(
                        (t.goal, t.measured, verdict(t.met)) for t in section.targets
                    ),
                )
            )
        )
        parts.append("")
    parts += [f"- {note}" for note in section.notes]
    if section.notes:
        parts.append("")
    parts.append(f"<!-- bench:{section.key}:end -->")
    return "\n".join(parts)


def update_readme(
    readme: Path, intro: str, sections: Sequence[tuple[Section, str]]
) -> None:
    """Replace (or add) the suite's introduction and these sections in `readme`.

    Everything outside the suite's markers is left as it is, so sections that
    other scripts write survive.
    """
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    text = _replace(
        text,
        "intro",
        f"<!-- bench:intro:begin -->\n{intro}\n<!-- bench:intro:end -->",
    )
    for section, stamp in sections:
        text = _replace(text, section.key, render(section, stamp))
    readme.write_text(text.rstrip("\n") + "\n")


def _replace(text: str, key: str, block: str) -> str:
    """Put `block` where the key's markers are, else at the end of `text`."""
    pattern = re.compile(
        rf"<!-- bench:{re.escape(key)}:begin -->.*?<!-- bench:{re.escape(key)}:end -->",
        re.DOTALL,
    )
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return f"{text.rstrip()}\n\n{block}\n"
