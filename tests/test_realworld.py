"""Published GitLab configurations load, or name the include they cannot have.

Reads /work/shared/realworld in place: each folder is a repository snapshot
whose `.gitlab-ci.yml` GitLab accepted (see its README.md and MANIFEST.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from minirunner.config import load_child_config, load_config
from minirunner.errors import IncludeUnavailable
from minirunner.sourcetree import DirectoryTree

CORPUS = Path("/work/shared/realworld")


def _manifest() -> dict[str, dict[str, Any]]:
    if not (CORPUS / "MANIFEST.json").is_file():
        return {}
    entries = json.loads((CORPUS / "MANIFEST.json").read_text())
    return {entry["dir"]: entry for entry in entries}


MANIFEST = _manifest()


@pytest.mark.skipif(not MANIFEST, reason="the real-world corpus is not on this machine")
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_entry_loads_or_names_a_missing_include(name: str) -> None:
    folder = CORPUS / name
    include_map = {}
    if (folder / "gitlab-templates").is_dir():
        include_map["templates_dir"] = str(folder / "gitlab-templates")
    absent = [
        f'"{include["kind"]}:{include["target"]}"'
        for include in MANIFEST[name]["includes"]
        if not include["present"]
    ]
    try:
        config = load_config(
            DirectoryTree(folder), include_map=include_map, tree_root=folder
        )
    except IncludeUnavailable as unavailable:
        assert any(key in str(unavailable) for key in absent), str(unavailable)
        return
    assert config.jobs
    assert config.stages[0] == ".pre" and config.stages[-1] == ".post"
    assert all(job.location.file and job.location.line for job in config.jobs)
    for job in config.jobs:
        if job.trigger is None or not (job.trigger.include or job.trigger.external):
            continue
        try:
            child = load_child_config(
                DirectoryTree(folder),
                job.trigger,
                job.name,
                include_map=include_map,
                tree_root=folder,
            )
        except IncludeUnavailable as unavailable:
            assert any(key in str(unavailable) for key in absent), str(unavailable)
            continue
        assert child.jobs, job.name


def test_every_closed_entry_loads_completely() -> None:
    closed = [name for name, entry in MANIFEST.items() if entry["parent_closed"]]
    for name in closed:
        folder = CORPUS / name
        templates = folder / "gitlab-templates"
        include_map = {"templates_dir": str(templates)} if templates.is_dir() else {}
        config = load_config(
            DirectoryTree(folder), include_map=include_map, tree_root=folder
        )
        assert config.jobs, name
