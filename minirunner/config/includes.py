"""`include:` processing: files are merged first, the including file last wins.

Local files (and wildcards) come from the source tree; `template`, `project`,
`remote`, `component` and `artifact` includes come from the include map
(see `minirunner.config.includemap`) or raise IncludeUnavailable.
https://docs.gitlab.com/ci/yaml/includes/
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minirunner.config.globs import matching_files
from minirunner.config.includemap import TEMPLATES_DIR
from minirunner.config.includerules import rules_pass
from minirunner.config.inputs import interpolate
from minirunner.config.merge import Locs, deep_merge, merge_locs
from minirunner.config.offline import Offline, Source
from minirunner.config.values import Site, check_keys, type_name
from minirunner.config.yamlfile import Document, parse_document
from minirunner.errors import ConfigError
from minirunner.sourcetree import ONLY_IN_WORKTREE, GitTree, SourceTree

MAX_INCLUDES = 150
KINDS = ("local", "project", "remote", "template", "artifact", "component")
_ENTRY_KEYS = frozenset({*KINDS, "file", "inputs", "with", "job", "ref", "rules"})
_YAML_NAME = re.compile(r".+\.(yml|yaml)$", re.IGNORECASE)
_URL = re.compile(r"^https?://", re.IGNORECASE)
_VARIABLE = re.compile(r"\$([a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


@dataclass(frozen=True)
class Loaded:
    """A configuration with its includes merged in."""

    data: dict[Any, Any]
    locs: Locs
    files: tuple[str, ...]
    warnings: tuple[str, ...]
    has_references: bool


def expand_variables(text: str, variables: Mapping[str, str]) -> str:
    """GitLab's ExpandVariables.expand: `$X`/`${X}`, unknown ones become ""."""
    if "$" not in text:
        return text
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), text)


def _entry_text(entry: dict[Any, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, default=str)


class _Includes:
    """One load: counts includes, caches parsed files, records warnings."""

    def __init__(
        self,
        tree: SourceTree,
        variables: Mapping[str, str],
        include_map: Mapping[str, str],
        tree_root: Path | None,
        changed_paths: frozenset[str] | None = None,
        compare_to: Callable[[str], frozenset[str] | None] | None = None,
    ) -> None:
        self.tree = tree
        self.variables = variables
        self.include_map = include_map
        self.tree_root = tree_root
        self.changed_paths = changed_paths
        self.compare_to = compare_to
        self.offline = Offline(tree, include_map, tree_root)
        self.count = 0
        self.files: list[str] = []
        self.warnings: list[str] = []
        self.has_references = False
        self._documents: dict[tuple[str, ...], Document] = {}
        self._tree_files: list[str] | None = None

    def tree_files(self) -> list[str]:
        if self._tree_files is None:
            self._tree_files = list(self.tree.files())
        return self._tree_files

    def document(self, source: Source) -> Document:
        document = self._documents.get(source.identity)
        if document is None:
            try:
                data = source.read()
            except FileNotFoundError:
                raise ConfigError("file not found", file=source.name) from None
            except OSError as error:
                raise ConfigError(f"cannot read: {error}", file=source.name) from None
            document = parse_document(data, source.name)
            self._documents[source.identity] = document
            self.warnings.extend(document.warnings)
            self.has_references = self.has_references or document.has_references
        self.files.append(source.name)
        return document

    def load(
        self,
        source: Source,
        inputs: Mapping[str, Any] | None,
        chain: tuple[Source, ...],
    ) -> tuple[dict[Any, Any] | None, Locs]:
        document = self.document(source)
        content = interpolate(document, inputs, self.variables)
        if content is None:
            return None, {}
        locs = document.locs
        if "include" not in content:
            return content, locs
        # A generated root (a child pipeline's includes) has no lines to show.
        loc = None if source.identity[0] == "generated" else locs.get("include")
        keywords = {
            ("include" + key if key.startswith("[") else f"include:{key}"): where
            for key, where in (loc.keywords.items() if loc else ())
        }
        site = Site(source.name, loc.line if loc else None, None, keywords)
        merged: dict[Any, Any] = {}
        merged_locs: Locs = {}
        for index, entry in enumerate(_entries(content["include"], site)):
            path = f"include[{index}]"
            for child, child_inputs in self.expand(entry, path, site, source):
                self.count += 1
                if self.count > MAX_INCLUDES:
                    raise site.error(
                        path, f"Maximum of {MAX_INCLUDES} nested includes are allowed!"
                    )
                if any(child.identity == seen.identity for seen in chain):
                    names = [seen.name for seen in chain] + [child.name]
                    raise site.error(path, "include cycle: " + " -> ".join(names))
                data, child_locs = self.load(child, child_inputs, (*chain, child))
                if data is None:
                    what = (
                        "Local file"
                        if child.identity[0] == "local"
                        else "Included file"
                    )
                    raise site.error(path, f"{what} `{child.name}` is empty!")
                merged = deep_merge(merged, data)
                merged_locs = merge_locs(merged_locs, child_locs)
        own = {key: value for key, value in content.items() if key != "include"}
        own_locs = {key: value for key, value in locs.items() if key != "include"}
        return deep_merge(merged, own), merge_locs(merged_locs, own_locs)

    def expand(
        self, raw: Any, path: str, site: Site, parent: Source
    ) -> list[tuple[Source, Mapping[str, Any] | None]]:
        """The files one `include` entry stands for (none when its rules say so)."""
        if isinstance(raw, str):
            text = expand_variables(raw, self.variables)
            entry: dict[Any, Any] = {"remote" if _URL.match(text) else "local": text}
        elif isinstance(raw, dict):
            entry = raw
        else:
            raise site.error(path, "Each include must be a hash or a string")
        check_keys(site, path, entry, _ENTRY_KEYS)
        if "rules" in entry and not rules_pass(
            entry["rules"],
            site,
            f"{path}:rules",
            self.variables,
            self.tree_files,
            changed_paths=self.changed_paths,
            compare_to=self.compare_to,
        ):
            return []
        kinds = [kind for kind in KINDS if entry.get(kind)]
        if not kinds:
            raise site.error(
                path,
                f"`{_entry_text(entry)}` does not have a valid subkey for include. "
                f"Valid subkeys are: `{'`, `'.join(KINDS)}`",
            )
        if len(kinds) > 1:
            raise site.error(
                path, f"Each include must use only one of: `{'`, `'.join(KINDS)}`"
            )
        inputs = entry.get("inputs", entry.get("with"))
        if inputs is not None and not isinstance(inputs, dict):
            raise site.error(f"{path}:inputs", "should be a hash")
        kind = kinds[0]
        if kind == "local":
            return self.local(entry, inputs, path, site, parent)
        if kind == "project":
            return self.project(entry, inputs, path, site)
        if kind == "template":
            name = self.text(entry["template"], f"{path}:template", site)
            templates = self.include_map.get(TEMPLATES_DIR)
            explicit = f"template:{name}" in self.include_map
            target = os.path.join(templates or "", name)
            if templates and not explicit and self.offline.exists(target):
                return [(self.offline.source(target, None, path, site), inputs)]
            return [
                (
                    self.offline.lookup(
                        "template", entry["template"], name, path, site
                    ),
                    inputs,
                )
            ]
        if kind == "remote":
            url = self.text(entry["remote"], f"{path}:remote", site)
            self.check_extension(url, path, site)
            return [
                (
                    self.offline.lookup("remote", entry["remote"], url, path, site),
                    inputs,
                )
            ]
        if kind == "component":
            return [(self.component(entry, path, site), inputs)]
        job = entry.get("job")
        if not job:
            raise site.error(
                path, "must specify the job where to fetch the artifact from"
            )
        artifact = self.text(entry["artifact"], f"{path}:artifact", site)
        raw = f"{job}:{entry['artifact']}"
        expanded = f"{expand_variables(str(job), self.variables)}:{artifact}"
        return [(self.offline.lookup("artifact", raw, expanded, path, site), inputs)]

    def text(self, value: Any, path: str, site: Site) -> str:
        if not isinstance(value, str):
            raise site.error(path, f"Included file `{value}` needs to be a string")
        return expand_variables(value, self.variables)

    def check_extension(self, location: str, path: str, site: Site) -> None:
        if not _YAML_NAME.match(os.path.basename(location)):
            raise site.error(
                path, f"Included file `{location}` does not have YAML extension!"
            )

    def local(
        self,
        entry: dict[Any, Any],
        inputs: Mapping[str, Any] | None,
        path: str,
        site: Site,
        parent: Source,
    ) -> list[tuple[Source, Mapping[str, Any] | None]]:
        location = self.text(entry["local"], f"{path}:local", site).lstrip("/")
        if parent.project is not None:
            # A local include inside another project's file resolves in that
            # project (https://docs.gitlab.com/ci/yaml/includes/#include-local).
            project, ref = parent.project
            nested = {"project": project, "file": location, "ref": ref}
            return self.project(nested, inputs, path, site)
        if "*" in location:
            # Wildcard includes take no inputs (GitLab's LocationExpander
            # keeps only the path).
            found = matching_files(location, self.tree_files())
            return [(self.local_file(name, path, site), None) for name in found]
        return [(self.local_file(location, path, site), inputs)]

    def local_file(self, location: str, path: str, site: Site) -> Source:
        self.check_extension(location, path, site)
        if not self.tree.is_file(location):
            message = f"Local file `{location}` does not exist!"
            root = self.tree_root
            if isinstance(self.tree, GitTree) and root and (root / location).is_file():
                message += f" ({ONLY_IN_WORKTREE})"
            raise site.error(path, message)
        tree = self.tree
        return Source(location, ("local", location), lambda: tree.read_bytes(location))

    def project(
        self,
        entry: dict[Any, Any],
        inputs: Mapping[str, Any] | None,
        path: str,
        site: Site,
    ) -> list[tuple[Source, Mapping[str, Any] | None]]:
        project = self.text(entry["project"], f"{path}:project", site)
        files = entry.get("file")
        if not files:
            raise site.error(
                path, "must specify the file where to fetch the config from"
            )
        names = files if isinstance(files, list) else [files]
        ref_raw = entry.get("ref")
        ref = (
            None if ref_raw is None else expand_variables(str(ref_raw), self.variables)
        )
        found = []
        for name in names:
            file = self.text(name, f"{path}:file", site)
            self.check_extension(file, path, site)
            raw = f"{entry['project']}:{name}" + (f"@{ref_raw}" if ref_raw else "")
            expanded = f"{project}:{file}" + (f"@{ref}" if ref else "")
            bare = f"{project}:{file.lstrip('/')}"
            alternatives = [expanded, bare + (f"@{ref}" if ref else ""), bare]
            source = self.offline.lookup(
                "project", raw, expanded, path, site, alternatives, (project, ref)
            )
            found.append((source, inputs))
        return found

    def component(self, entry: dict[Any, Any], path: str, site: Site) -> Source:
        raw = entry["component"]
        address = self.text(raw, f"{path}:component", site)
        unversioned = address.rsplit("@", 1)[0]
        project = unversioned.rsplit("/", 1)[0]
        version = address.rsplit("@", 1)[1] if "@" in address else None
        return self.offline.lookup(
            "component", raw, address, path, site, [unversioned], (project, version)
        )


def _entries(raw: Any, site: Site) -> list[Any]:
    if raw is None:
        return []
    if isinstance(raw, str | dict):
        return [raw]
    if isinstance(raw, list):
        return raw
    raise site.error(
        "include", f"should be a hash, a string or an array, not {type_name(raw)}"
    )


def load_with_includes(
    tree: SourceTree,
    path: str,
    variables: Mapping[str, str],
    include_map: Mapping[str, str],
    tree_root: Path | None,
    content: bytes | None = None,
    *,
    changed_paths: frozenset[str] | None = None,
    compare_to: Callable[[str], frozenset[str] | None] | None = None,
) -> Loaded:
    """Read `path` and every file it includes, merged as GitLab merges them.

    With `content`, the root file is those bytes, named `path` in messages.
    `changed_paths` and `compare_to` are what `include:rules:changes` is
    judged with (see `minirunner.config.includerules.rules_pass`).
    """
    includes = _Includes(
        tree, variables, include_map, tree_root, changed_paths, compare_to
    )
    if content is None:
        root = Source(path, ("local", path.lstrip("/")), lambda: tree.read_bytes(path))
    else:
        root = Source(path, ("generated", path), lambda: content)
    data, locs = includes.load(root, None, (root,))
    if data is None:
        raise ConfigError("the configuration is empty: it defines no jobs", file=path)
    return Loaded(
        data,
        locs,
        tuple(dict.fromkeys(includes.files)),
        tuple(includes.warnings),
        includes.has_references,
    )
