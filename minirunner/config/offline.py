"""Where includes that cannot be fetched offline come from: the include map."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minirunner.config.includemap import PROJECT_FILE, TEMPLATES_DIR
from minirunner.config.values import Site
from minirunner.errors import IncludeUnavailable
from minirunner.sourcetree import SourceTree

Project = tuple[str, str | None]


@dataclass(frozen=True)
class Source:
    """A file to load: its name in messages, an identity for cycles, its bytes."""

    name: str
    identity: tuple[str, ...]
    read: Callable[[], bytes]
    project: Project | None = None


class Offline:
    """Finds the local stand-in of a `template`, `project`, `remote`,
    `component` or `artifact` include, or says how to provide one."""

    def __init__(
        self,
        tree: SourceTree,
        include_map: Mapping[str, str],
        tree_root: Path | None,
    ) -> None:
        self.tree = tree
        self.include_map = include_map
        self.tree_root = tree_root

    def lookup(
        self,
        kind: str,
        raw: Any,
        expanded: str,
        path: str,
        site: Site,
        alternatives: list[str] | None = None,
        project: Project | None = None,
    ) -> Source:
        """The mapped stand-in of an include, or IncludeUnavailable."""
        candidates = [str(raw), expanded, *(alternatives or [])]
        for candidate in candidates:
            target = self.include_map.get(f"{kind}:{candidate}")
            if target:
                return self.source(target, project, path, site)
        file, line = site.where(path)
        hint = f' (or set "{TEMPLATES_DIR}")' if kind == "template" else ""
        shown = f"'{raw}'" + (f" ('{expanded}')" if expanded != str(raw) else "")
        raise IncludeUnavailable(
            f"include {kind} {shown} cannot be fetched offline: map "
            f'"{kind}:{raw}" to a local file in {PROJECT_FILE}{hint}',
            file=file,
            line=line,
            keyword="include",
        )

    def path(self, target: str) -> Path | None:
        if os.path.isabs(target):
            return Path(target)
        if self.tree_root is not None:
            return self.tree_root / target
        return None

    def exists(self, target: str) -> bool:
        full = self.path(target)
        return full.is_file() if full is not None else self.tree.is_file(target)

    def source(
        self, target: str, project: Project | None, path: str, site: Site
    ) -> Source:
        full = self.path(target)
        if full is None:
            if not self.tree.is_file(target):
                raise site.error(path, f"mapped file `{target}` does not exist")
            tree = self.tree
            return Source(
                target, ("mapped", target), lambda: tree.read_bytes(target), project
            )
        if not full.is_file():
            raise site.error(path, f"mapped file `{full}` does not exist")
        name = str(full)
        if self.tree_root is not None:
            try:
                name = full.resolve().relative_to(self.tree_root.resolve()).as_posix()
            except ValueError:
                pass
        return Source(name, ("mapped", str(full.resolve())), full.read_bytes, project)
