"""The include map: local stand-ins for includes that cannot be fetched offline.

A project may hold `.minirunner/includes.yml`; a user may hold one at
`$XDG_CONFIG_HOME/minirunner/includes.yml` (default `~/.config/...`). Both are
flat YAML mappings; the project's entries win. Keys name an include the way
minirunner's error messages do, values are local YAML files (relative paths
are taken from the project root, or from the user file's folder)::

    templates_dir: ci/gitlab-templates   # include:template X -> <dir>/X
    "template:Jobs/SAST.gitlab-ci.yml": ci/vendor/sast.yml
    "project:group/proj:path/file.yml@v1.2": ../proj/path/file.yml
    "project:group/proj:path/file.yml": ../proj/path/file.yml   # any ref
    "remote:https://example.com/ci/base.yml": ci/vendor/base.yml
    "component:gitlab.com/org/components/lint@1.0": ci/vendor/lint.yml

A component key may also leave out the version (`component:host/path/name`).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from minirunner.errors import ConfigError

PROJECT_FILE = ".minirunner/includes.yml"
TEMPLATES_DIR = "templates_dir"
KINDS = ("template", "project", "remote", "component", "artifact")


def user_file() -> Path:
    """Where the user's include map lives."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "minirunner" / "includes.yml"


def _read(path: Path, base: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        # No such file, or a file where a folder of its path should be
        # (HOME=/dev/null): no map.
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(
            f"cannot read the include map: {error}", file=str(path)
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the include map should be a mapping", file=str(path))
    result: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(
                f"include map entry {key!r}: keys and values should be strings",
                file=str(path),
            )
        if key != TEMPLATES_DIR and key.split(":", 1)[0] not in KINDS:
            raise ConfigError(
                f"include map key '{key}' should be `{TEMPLATES_DIR}` or start "
                f"with one of: {', '.join(k + ':' for k in KINDS)}",
                file=str(path),
            )
        result[key] = str((base / os.path.expanduser(value)).resolve())
    return result


def load_include_map(tree_root: Path) -> dict[str, str]:
    """The include map of a project folder, merged over the user's one.

    Values are absolute paths.
    """
    user = user_file()
    merged = _read(user, user.parent)
    merged.update(_read(tree_root / PROJECT_FILE, tree_root))
    return merged
