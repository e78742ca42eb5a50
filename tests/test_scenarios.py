"""GitLab's documented behaviours, one scenario folder each, checked through the CLI.

Every folder of tests/scenarios is a real repository (its files, its git state)
and what GitLab does with it (see tests/scenario_support.py for the format).
The scenarios selected for the session are checked up front by a few worker
processes (each command of a scenario is a process of its own), then each test
reads its scenario's result.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from scenario_cli import preload
from scenario_support import case_names, load_case, run_case

WORKERS = max(2, min(6, 2 * (os.cpu_count() or 1)))


def _params() -> list[object]:
    params: list[object] = []
    for name in case_names():
        reason = load_case(name).get("known_failure")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.fixture(scope="session")
def scenario_results(request: pytest.FixtureRequest) -> Iterator[dict[str, list[str]]]:
    """The problems found in every scenario this session selected."""
    wanted = sorted(
        {
            str(item.callspec.params["name"])
            for item in request.session.items
            if isinstance(item, pytest.Function)
            and item.originalname == "test_scenario"
        }
    )
    # Workers are started fresh (spawn), not forked from this threaded process;
    # each then forks its commands from a single thread.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context, initializer=preload) as pool:
        results = dict(zip(wanted, pool.map(run_case, wanted), strict=True))
    yield results


@pytest.mark.parametrize("name", _params())
def test_scenario(name: str, scenario_results: dict[str, list[str]]) -> None:
    problems = scenario_results[name]
    assert problems == [], f"{name}:\n  " + "\n  ".join(problems)
