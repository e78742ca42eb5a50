"""`parallel`: one job becomes N (`name 1/N`) or one per matrix combination.

Names follow GitLab's Normalizer: `job 2/5`, and `job: [a, b]` with the
matrix values in the order written. `needs` and `dependencies` naming a
parallel job then name all its instances (or, with `needs:parallel:matrix`,
the matching ones). https://docs.gitlab.com/ci/yaml/#parallel
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from minirunner.config.jobs import Draft
from minirunner.config.model import Need, Variable, frozen_map
from minirunner.config.relations import Matrix, NeedSpec


def combinations(matrix: Matrix) -> list[tuple[tuple[str, str], ...]]:
    """Every variable set of a matrix, entry by entry, in GitLab's order."""
    found = []
    for entry in matrix:
        names = [name for name, _ in entry]
        for values in itertools.product(*(values for _, values in entry)):
            found.append(tuple(zip(names, values, strict=True)))
    return found


def matrix_name(job: str, values: tuple[tuple[str, str], ...]) -> str:
    """`job: [v1, v2]`."""
    return f"{job}: [{', '.join(value for _, value in values)}]"


def _instances(draft: Draft) -> list[Draft]:
    job = draft.job
    parallel = draft.parallel
    if parallel is None:
        return [draft]
    if isinstance(parallel, int):
        return [
            replace(
                draft,
                job=replace(
                    job,
                    name=f"{job.name} {index}/{parallel}",
                    node_index=index,
                    node_total=parallel,
                ),
            )
            for index in range(1, parallel + 1)
        ]
    sets = combinations(parallel)
    made = []
    for index, values in enumerate(sets, start=1):
        variables = dict(job.variables)
        variables.update({name: Variable(value) for name, value in values})
        made.append(
            replace(
                draft,
                job=replace(
                    job,
                    name=matrix_name(job.name, values),
                    variables=frozen_map(variables),
                    node_index=index,
                    node_total=len(sets),
                ),
                needs=_resolve_expressions(draft, dict(values)),
            )
        )
    return made


_EXPRESSION = re.compile(r"\$\[\[\s*matrix\.([A-Za-z0-9_]+)\s*\]\]")


def _resolve_expressions(
    draft: Draft, values: dict[str, str]
) -> tuple[NeedSpec, ...] | None:
    """`needs:parallel:matrix` with each `$[[ matrix.NAME ]]` replaced by the value
    NAME has in this instance (https://docs.gitlab.com/ci/yaml/matrix_expressions/).
    """
    if draft.needs is None:
        return None

    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in values:
            raise draft.site.error(
                "needs",
                f"{found.group(0)} names no identifier of the job's parallel:matrix "
                f"(it has {', '.join(sorted(values))})",
            )
        return values[name]

    return tuple(
        spec
        if spec.matrix is None
        else replace(
            spec,
            matrix=tuple(
                tuple(
                    (name, tuple(_EXPRESSION.sub(value, each) for each in options))
                    for name, options in entry
                )
                for entry in spec.matrix
            ),
        )
        for spec in draft.needs
    )


def _needs(
    specs: tuple[NeedSpec, ...], expanded: dict[str, list[str]]
) -> tuple[Need, ...]:
    needs: list[Need] = []
    for spec in specs:
        names = expanded.get(spec.need.job)
        if names is None:
            needs.append(spec.need)
        elif spec.matrix is not None:
            needs.extend(
                replace(spec.need, job=matrix_name(spec.need.job, values))
                for values in combinations(spec.matrix)
            )
        else:
            needs.extend(replace(spec.need, job=name) for name in names)
    return tuple(needs)


def expand_parallel(drafts: list[Draft]) -> list[Draft]:
    """Jobs after `parallel`, with needs and dependencies pointing at instances."""
    expanded: dict[str, list[str]] = {}
    instances: list[Draft] = []
    for draft in drafts:
        made = _instances(draft)
        if draft.parallel is not None:
            expanded[draft.job.name] = [item.job.name for item in made]
        instances.extend(made)
    if not expanded:
        return instances
    result = []
    for draft in instances:
        job = draft.job
        if draft.needs is None and job.dependencies is None:
            result.append(draft)
            continue
        needs = None if draft.needs is None else _needs(draft.needs, expanded)
        dependencies = job.dependencies
        if dependencies is not None:
            dependencies = tuple(
                name
                for dependency in dependencies
                for name in expanded.get(dependency, [dependency])
            )
        result.append(
            replace(draft, job=replace(job, needs=needs, dependencies=dependencies))
        )
    return result
