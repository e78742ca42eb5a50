"""GitLab's documented behaviours, one scenario folder each, checked through the CLI.

Every folder of tests/scenarios is a real repository (its files, its git state)
and what GitLab does with it (see tests/scenario_support.py for the format).
The scenarios selected for the session are built and run in a few threads at
once (each command is a process, mostly waiting on git), then each test reads
its own result.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from scenario_support import case_names, check_case, load_case

WORKERS = 6


def _params() -> list[object]:
    params: list[object] = []
    for name in case_names():
        reason = load_case(name).get("known_failure")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def _checked(name: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix=f"scenario-{name[:20]}-") as work:
        try:
            return check_case(name, Path(work))
        except Exception as error:  # the harness or the product crashed
            return [f"{type(error).__name__}: {error}"]


@pytest.fixture(scope="session")
def scenario_results(request: pytest.FixtureRequest) -> Iterator[dict[str, list[str]]]:
    """The problems of every scenario this session runs, computed in parallel."""
    wanted = sorted(
        {
            item.callspec.params["name"]
            for item in request.session.items
            if item.name.startswith("test_scenario[")
        }
    )
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = dict(zip(wanted, pool.map(_checked, wanted), strict=True))
    yield results


@pytest.mark.parametrize("name", _params())
def test_scenario(name: str, scenario_results: dict[str, list[str]]) -> None:
    problems = scenario_results[name]
    assert problems == [], f"{name}:\n  " + "\n  ".join(problems)
