"""Variables kept outside the repository, as GitLab's CI/CD settings keep them.

Sources, lowest precedence first (README.md, section "Variables"):

1. `variables` of the project's `.minirunner.toml` (committed, shared);
2. the user's `$XDG_CONFIG_HOME/minirunner/variables.yml` (`~/.config/...`),
   its top level, then its `projects: {"group/name": {...}}` entry for this
   project (by CI_PROJECT_PATH or by the folder's path);
3. the project's `.minirunner/variables.env`, then `.minirunner/variables.yml`
   (git-ignored, private to this checkout).

`--variable` on the command line is above them all. Like GitLab's project
variables they are above the `variables:` of `.gitlab-ci.yml`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minirunner.config.model import Variable
from minirunner.errors import ConfigError
from minirunner.masking import unmaskable_reason

# Ci::HasVariable: a key is letters, digits and underscores, at most 255.
NAME = re.compile(r"[A-Za-z0-9_]{1,255}")
OPTIONS = ("value", "masked", "type", "variable_type", "expand", "raw", "description")
TYPES = ("env_var", "file")
PROJECTS = "projects"
FOLDER = ".minirunner"


@dataclass(frozen=True)
class UserVariable:
    """One variable from a variables file, with GitLab's settings.

    `value` is the text (a file-type variable's file content); `source` says
    which file it came from, for `minirunner vars` and error messages.
    """

    name: str
    value: str
    masked: bool = False
    file: bool = False
    expand: bool = True
    source: str = ""


@dataclass(frozen=True)
class UserVariables:
    """The merged variables files of one project."""

    variables: Mapping[str, UserVariable] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @property
    def values(self) -> dict[str, str]:
        """Each name's value as rules and expansion see it (a file's content)."""
        return {name: item.value for name, item in self.variables.items()}

    @property
    def masked(self) -> frozenset[str]:
        """The names whose values never appear in output."""
        return frozenset(n for n, item in self.variables.items() if item.masked)

    @property
    def files(self) -> frozenset[str]:
        """The file-type names: in a job, their value is the path of a file."""
        return frozenset(n for n, item in self.variables.items() if item.file)

    def secrets(self) -> list[str]:
        """The masked values, to hide in logs and on the terminal."""
        return [item.value for item in self.variables.values() if item.masked]

    def layer(self) -> dict[str, Variable]:
        """The variables as one layer for `variables.expand.resolve`."""
        return {
            name: Variable(item.value, expand=item.expand)
            for name, item in self.variables.items()
        }

    def pipeline_values(self) -> dict[str, str]:
        """Plain strings that expand to the values: `expand: false` ones with
        each `$` doubled, which expansion turns back into one `$`."""
        return {
            name: item.value if item.expand else item.value.replace("$", "$$")
            for name, item in self.variables.items()
        }

    def materialise(self, folder: Path) -> dict[str, str]:
        """Write each file-type variable to `folder/NAME`; their paths by name.

        The folder is made private (0700) and each file readable by its owner
        only (0600), as GitLab Runner writes them.
        """
        if not self.files:
            return {}
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)
        paths = {}
        for name in sorted(self.files):
            path = folder / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(self.variables[name].value)
            path.chmod(0o600)
            paths[name] = str(path)
        return paths


def config_home() -> Path:
    """`$XDG_CONFIG_HOME/minirunner`, or `~/.config/minirunner`."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "minirunner"


def user_file() -> Path:
    """The user's variables file."""
    return config_home() / "variables.yml"


def load_user_variables(root: Path, project_path: str) -> UserVariables:
    """Every variables file of the project at `root` merged, highest last.

    `project_path` is CI_PROJECT_PATH (`group/name`), which selects the user
    file's `projects:` entry; the project's folder path selects it too.
    """
    from minirunner.userconfig import load_project_settings

    merged: dict[str, UserVariable] = {}
    sources: list[str] = []

    settings = load_project_settings(root)
    if settings.variables:
        source = str(settings.path)
        for name, value in settings.variables.items():
            merged[name] = UserVariable(check_name(name, source), value, source=source)
        sources.append(source)

    user = user_file()
    if _present(user):
        data = read_yaml(user)
        scoped = data.pop(PROJECTS, None)
        merged.update(parse_variables(data, str(user)))
        entry = project_entry(scoped, root, project_path, str(user))
        if entry is not None:
            key, variables = entry
            merged.update(parse_variables(variables, f"{user} ({PROJECTS}: {key})"))
        sources.append(str(user))

    dotenv = root / FOLDER / "variables.env"
    if _present(dotenv):
        merged.update(parse_dotenv(dotenv))
        sources.append(str(dotenv))
    project = root / FOLDER / "variables.yml"
    if _present(project):
        data = read_yaml(project)
        if PROJECTS in data:
            raise ConfigError(
                f"'{PROJECTS}:' belongs in {user}, not in a project's file",
                file=str(project),
            )
        merged.update(parse_variables(data, str(project)))
        sources.append(str(project))
    return UserVariables(merged, tuple(sources))


def _present(path: Path) -> bool:
    """Whether a variables file is there; ConfigError for something else in its
    place (a folder, a link to nowhere), which would otherwise go unnoticed."""
    if path.is_file():
        return True
    if os.path.lexists(path):
        raise ConfigError(
            "a variables file must be a file, not a folder or a broken link",
            file=str(path),
        )
    return False


def read_yaml(path: Path) -> dict[str, Any]:
    """A variables file's top-level mapping, every scalar kept as written."""
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read it: {error}", file=str(path)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            f"not valid YAML: {problem}", file=str(path), line=line
        ) from None
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping of NAME: value", file=str(path))
    return data


_CORE_SCALARS = ("str", "int", "float", "bool", "null")


def _loader() -> Any:
    """YAML's BaseLoader, every scalar kept as written, refusing tags other than
    the core schema's, as .gitlab-ci.yml's loader does."""
    import yaml

    class VariablesLoader(yaml.BaseLoader):
        pass

    def refuse(loader: Any, suffix: str, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"unsupported YAML tag '{node.tag}'", node.start_mark
        )

    def scalar(loader: Any, node: Any) -> Any:
        return loader.construct_scalar(node)

    def mapping(loader: Any, node: Any) -> Any:
        return loader.construct_mapping(node)

    def sequence(loader: Any, node: Any) -> Any:
        return loader.construct_sequence(node)

    core = "tag:yaml.org,2002:"
    for name in _CORE_SCALARS:
        VariablesLoader.add_constructor(core + name, scalar)
    VariablesLoader.add_constructor(core + "map", mapping)
    VariablesLoader.add_constructor(core + "seq", sequence)
    VariablesLoader.add_multi_constructor("", refuse)
    return VariablesLoader


def project_entry(
    scoped: Any, root: Path, project_path: str, source: str
) -> tuple[str, Mapping[str, Any]] | None:
    """The `projects:` entry for this project, by project path or folder."""
    if scoped is None or scoped == "":
        return None
    if not isinstance(scoped, dict):
        raise ConfigError(
            f"'{PROJECTS}:' must map project paths to variables", file=source
        )
    folder = root.resolve()
    for key, variables in scoped.items():
        matches = key.strip("/") == project_path or (
            key.startswith(("/", "~")) and Path(key).expanduser().resolve() == folder
        )
        if not matches:
            continue
        if variables in (None, ""):
            return key, {}
        if not isinstance(variables, dict):
            raise ConfigError(
                f"'{PROJECTS}: {key}' must be a mapping of NAME: value", file=source
            )
        return key, variables
    return None


def parse_variables(data: Mapping[str, Any], source: str) -> dict[str, UserVariable]:
    """`NAME: value` or `NAME: {value, masked, type, expand, description}`."""
    result = {}
    for name, spec in data.items():
        check_name(name, source)
        if isinstance(spec, str):
            result[name] = UserVariable(name, spec, source=source)
        elif isinstance(spec, dict):
            result[name] = _from_mapping(name, spec, source)
        else:
            raise ConfigError(
                f"{name}: a value must be text or a mapping with `value:`",
                file=source,
            )
    return result


def _from_mapping(name: str, spec: Mapping[str, Any], source: str) -> UserVariable:
    unknown = sorted(set(spec) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f"{name}: unknown setting '{unknown[0]}' (known: {', '.join(OPTIONS)})",
            file=source,
        )
    value = spec.get("value", "")
    if not isinstance(value, str):
        raise ConfigError(f"{name}: `value:` must be text", file=source)
    kind = spec.get("type", spec.get("variable_type", "env_var"))
    if kind not in TYPES:
        raise ConfigError(
            f"{name}: type must be env_var or file, not '{kind}'", file=source
        )
    masked = _flag(spec, "masked", False, name, source)
    expand = _flag(spec, "expand", True, name, source)
    if "raw" in spec:
        expand = not _flag(spec, "raw", False, name, source)
    if masked:
        reason = unmaskable_reason(value, raw=not expand)
        if reason is not None:
            raise ConfigError(
                f"{name}: GitLab cannot mask this value: {reason} "
                "(https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable)",
                file=source,
            )
    return UserVariable(name, value, masked, kind == "file", expand, source)


def _flag(
    spec: Mapping[str, Any], key: str, default: bool, name: str, source: str
) -> bool:
    value = spec.get(key)
    if value is None:
        return default
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(f"{name}: {key} must be true or false", file=source)


def check_name(name: str, source: str) -> str:
    """The name itself, when GitLab accepts it as a variable's key."""
    if not NAME.fullmatch(name):
        raise ConfigError(
            f"'{name}' is not a variable name (letters, digits and _ only)",
            file=source,
        )
    return name


def parse_dotenv(path: Path) -> dict[str, UserVariable]:
    """`NAME=value` lines; `export`, `#` comments and quotes as shells write them."""
    result = {}
    source = str(path)
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line.removeprefix("export ").lstrip()
        name, sep, value = line.partition("=")
        if sep and name and not name[-1].isspace() and not NAME.fullmatch(name):
            raise ConfigError(
                f"'{name}' is not a variable name (letters, digits and _ only)",
                file=source,
                line=number,
            )
        if not sep or not NAME.fullmatch(name) or value[:1].isspace():
            raise ConfigError(
                f"expected NAME=value with no space around '=', got '{line}'",
                file=source,
                line=number,
            )
        try:
            result[name] = UserVariable(name, _dotenv_value(value), source=source)
        except ValueError as error:
            raise ConfigError(f"{name}: {error}", file=source, line=number) from None
    return result


_QUOTED = re.compile(r"'(?P<single>[^']*)'|\"(?P<double>(?:[^\"\\]|\\.)*)\"")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def _dotenv_value(value: str) -> str:
    """The value as a shell reads it; ValueError for a quote left open."""
    if value[:1] not in ("'", '"'):
        value = re.split(r"\s+#", value, maxsplit=1)[0]
        if "'" in value or '"' in value:
            raise ValueError("a quote inside the value: quote the whole value")
        if re.search(r"\s", value.rstrip()):
            raise ValueError("a space in a value without quotes: quote the value")
        return value.rstrip()
    found = _QUOTED.match(value)
    if found is None:
        raise ValueError(f"the {value[0]} quote is not closed")
    rest = value[found.end() :].strip()
    if rest and not rest.startswith("#"):
        raise ValueError(f"text after the closing quote: '{rest}'")
    if found.group("single") is not None:
        return found.group("single")
    return re.sub(
        r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), found.group("double")
    )
