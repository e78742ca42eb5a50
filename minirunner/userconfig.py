"""Defaults for the command line from the project's `.minirunner.toml`.

```toml
[minirunner]
executor = "shell"
concurrency = 2
color = "always"
variables = { DEPLOY_ENV = "local" }
```

A key is a long option's name; a command takes the keys it has options for.
The command line wins, then `MINIRUNNER_<OPTION>` environment variables, then
this file, then minirunner's own defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minirunner.errors import ConfigError

FILE_NAME = ".minirunner.toml"
TABLE = "minirunner"
# The long options a project may set defaults for (and MINIRUNNER_* may too).
SETTINGS = (
    "executor",
    "concurrency",
    "color",
    "quiet",
    "verbose",
    "keep",
    "registry",
    "progress",
    "file",
    "worktree",
    "source",
)


@dataclass(frozen=True)
class ProjectSettings:
    """The `[minirunner]` table: option defaults and variables."""

    path: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)

    def defaults_for(self, params: Sequence[Any]) -> dict[str, Any]:
        """click's default_map for a command with these parameters."""
        defaults = {}
        for param in params:
            names = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
            for option in names:
                key = option.removeprefix("--")
                if option.startswith("--") and key in self.options:
                    defaults[param.name] = self.options[key]
        return defaults


def find_root(start: Path) -> Path:
    """The repository's top folder above `start` (the folder itself if none)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def load_project_settings(root: Path) -> ProjectSettings:
    """Read `root/.minirunner.toml`; no file gives no settings."""
    path = root / FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ProjectSettings()
    except OSError as error:
        raise ConfigError(f"cannot read it: {error}", file=str(path)) from None
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}", file=str(path)) from None
    table = data.get(TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{TABLE}] must be a table", file=str(path))
    options = dict(table)
    variables = options.pop("variables", {})
    unknown = sorted(set(options) - set(SETTINGS))
    if unknown:
        raise ConfigError(
            f"[{TABLE}] has no setting '{unknown[0]}' "
            f"(known: {', '.join(SETTINGS)}, variables)",
            file=str(path),
        )
    return ProjectSettings(path, options, _variables(variables, path))


def _variables(table: Any, path: Path) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"[{TABLE}] variables must be a table", file=str(path))
    result = {}
    for name, value in table.items():
        if isinstance(value, bool):
            result[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            result[name] = str(value)
        else:
            raise ConfigError(
                f"[{TABLE}] variables: {name} must be text or a number",
                file=str(path),
            )
    return result


def option_value(args: Sequence[str], option: str) -> str | None:
    """The value given to `option` in a command's raw arguments, if any."""
    for index, arg in enumerate(args):
        if arg == "--":
            return None
        if arg == option and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{option}="):
            return arg.partition("=")[2]
    return None


def envvar(option: str) -> str:
    """The environment variable that sets a long option: MINIRUNNER_<OPTION>."""
    return "MINIRUNNER_" + option.upper().replace("-", "_")
