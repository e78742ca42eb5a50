"""`minirunner graph`: stages and needs drawn as text, Mermaid or DOT."""

from __future__ import annotations

import json
from collections.abc import Sequence

from minirunner.plan import Plan, PlannedJob

FORMATS = ("text", "mermaid", "dot")
GAP = 4


def label(job: PlannedJob) -> str:
    """The job's name with what is unusual about it: `deploy (manual)`."""
    notes = []
    if job.when not in ("on_success",):
        notes.append(job.when)
    if job.allow_failure and job.when != "manual":
        notes.append("may fail")
    return f"{job.name} ({', '.join(notes)})" if notes else job.name


def columns(plan: Plan) -> list[tuple[str, list[PlannedJob]]]:
    """The stages that hold jobs, each with its jobs in order."""
    return [
        (stage, [job for job in plan.jobs if job.stage == stage])
        for stage in plan.stages
    ]


def needs_text(job: PlannedJob) -> str | None:
    """`needs: a, b` for a job with needs, None for one in stage order."""
    if job.needs is None:
        return None
    names = [need.job for need in job.needs]
    return "needs: " + (", ".join(names) if names else "nothing, starts at once")


def draw_text(plan: Plan, *, width: int = 100, unicode: bool = True) -> str:
    """Stages side by side, left to right, when they fit in `width`; else one
    under the other. A job with `needs` says what it needs under its name."""
    stages = columns(plan)
    if not stages:
        return "(no job in this pipeline)\n"
    cells = [_cells(jobs, unicode) for _, jobs in stages]
    widths = [
        max(len(stage), *(len(cell) for cell in column))
        for (stage, _), column in zip(stages, cells, strict=True)
    ]
    if sum(widths) + GAP * (len(stages) - 1) > width:
        return _draw_vertical(stages, unicode)

    line, head = ("─", "▶") if unicode else ("-", ">")
    header = ""
    for index, ((stage, _), size) in enumerate(zip(stages, widths, strict=True)):
        if index == len(stages) - 1:
            header += stage
        else:
            header += f"{stage} {line * (size + GAP - len(stage) - 3)}{head} "
    lines = [header]
    for row in range(max(len(column) for column in cells)):
        parts = [
            (column[row] if row < len(column) else "").ljust(size)
            for column, size in zip(cells, widths, strict=True)
        ]
        lines.append((" " * GAP).join(parts).rstrip())
    return "\n".join(lines) + "\n"


def _cells(jobs: Sequence[PlannedJob], unicode: bool) -> list[str]:
    cells = []
    for job in jobs:
        cells.append(label(job))
        needs = needs_text(job)
        if needs is not None:
            cells.append(("  ↳ " if unicode else "  <- ") + needs)
    return cells


def _draw_vertical(stages: list[tuple[str, list[PlannedJob]]], unicode: bool) -> str:
    lines = []
    for index, (stage, jobs) in enumerate(stages):
        if index:
            lines.append("  │" if unicode else "  |")
        lines.append(f"{stage}")
        for number, job in enumerate(jobs, start=1):
            last = number == len(jobs)
            bullet = ("  └─ " if last else "  ├─ ") if unicode else "  +- "
            needs = needs_text(job)
            lines.append(bullet + label(job) + (f"   ({needs})" if needs else ""))
    return "\n".join(lines) + "\n"


def mermaid(plan: Plan) -> str:
    """A Mermaid flowchart: a subgraph per stage, an edge per dependency."""
    ids = {job.name: f"j{index}" for index, job in enumerate(plan.jobs)}
    stage_ids = {stage: f"s{index}" for index, stage in enumerate(plan.stages)}
    lines = ["flowchart LR"]
    for stage, jobs in columns(plan):
        lines.append(f'  subgraph {stage_ids[stage]}["{_mermaid_text(stage)}"]')
        for job in jobs:
            shape = ('(["', '"])') if job.when == "manual" else ('["', '"]')
            text = _mermaid_text(label(job))
            lines.append(f"    {ids[job.name]}{shape[0]}{text}{shape[1]}")
        lines.append("  end")
    previous = _previous_stages(plan)
    for job in plan.jobs:
        if job.needs is not None:
            for need in job.needs:
                lines.append(f"  {ids[need.job]} --> {ids[job.name]}")
        elif previous[job.stage] is not None:
            lines.append(f"  {stage_ids[str(previous[job.stage])]} --> {ids[job.name]}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def dot(plan: Plan) -> str:
    """A Graphviz digraph: a cluster per stage, an edge per dependency; a job
    in stage order depends on every job of the stage before it."""
    lines = [
        "digraph pipeline {",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="sans-serif"];',
    ]
    for index, (stage, jobs) in enumerate(columns(plan)):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={_quote(stage)};")
        for job in jobs:
            style = ", style=dashed" if job.when == "manual" else ""
            lines.append(f"    {_quote(job.name)} [label={_quote(label(job))}{style}];")
        lines.append("  }")
    previous = _previous_stages(plan)
    for job in plan.jobs:
        if job.needs is not None:
            sources = [need.job for need in job.needs]
        else:
            before = previous[job.stage]
            sources = [other.name for other in plan.jobs if other.stage == before]
        for source in sources:
            lines.append(f"  {_quote(source)} -> {_quote(job.name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    # A JSON string is a valid DOT quoted string: `"` and `\` escaped.
    return json.dumps(text, ensure_ascii=False)


def _previous_stages(plan: Plan) -> dict[str, str | None]:
    stages = plan.stages
    return {
        stage: stages[index - 1] if index else None
        for index, stage in enumerate(stages)
    }


def render(plan: Plan, fmt: str, *, width: int = 100, unicode: bool = True) -> str:
    """The pipeline in one of FORMATS."""
    if fmt == "mermaid":
        return mermaid(plan)
    if fmt == "dot":
        return dot(plan)
    return draw_text(plan, width=width, unicode=unicode)
