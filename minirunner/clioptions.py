"""The options commands share, with their defaults and completions."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from minirunner.userconfig import envvar

F = TypeVar("F", bound=Callable[..., Any])

# Top-level keys of .gitlab-ci.yml that are not jobs.
GLOBAL_KEYS = frozenset(
    {
        "stages",
        "variables",
        "workflow",
        "default",
        "include",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
        "types",
        "pages:deploy",
    }
)
_TOP_LEVEL_KEY = re.compile(
    r"""^(?:"([^"]+)"|'([^']+)'|([^\s#"'][^:#]*?))\s*:(?:\s|$)"""
)


class ProjectCommand(click.Command):
    """A command whose option defaults may come from the project's
    `.minirunner.toml` (found from `--cwd`, or the current folder)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Read the project's settings before the options are parsed."""
        settings_file = None
        if "default_map" not in extra and not any(
            arg in ("-h", "--help") for arg in args
        ):
            from minirunner.userconfig import (
                find_root,
                load_project_settings,
                option_value,
            )

            cwd = Path(option_value(args, "--cwd") or ".")
            if cwd.is_dir():
                settings = load_project_settings(find_root(cwd))
                defaults = settings.defaults_for(self.params)
                if defaults:
                    extra["default_map"] = defaults
                    settings_file = settings.path
        given = list(args)  # parsing consumes `args`
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.BadParameter as error:
            raise _named_by_source(error, given, settings_file) from None


def _named_by_source(
    error: click.BadParameter, args: list[str], settings_file: Path | None
) -> click.ClickException:
    """A bad value that came from MINIRUNNER_* or `.minirunner.toml`, said so."""
    from minirunner.errors import UsageError

    param = error.param
    if not isinstance(param, click.Option) or param.name is None:
        return error
    if any(_gives(arg, opt) for arg in args for opt in param.opts):
        return error
    long_name = next(opt for opt in param.opts if opt.startswith("--"))
    variable = param.envvar if isinstance(param.envvar, str) else None
    if variable and os.environ.get(variable):
        where = variable
    elif settings_file is not None:
        where = f"{settings_file}: {long_name.removeprefix('--')}"
    else:
        return error
    return UsageError(f"{where}: {error.message}")


def _inside_repository(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A path of the repository, as GitLab's CI/CD configuration file setting is."""
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts:
        raise click.BadParameter(
            f"'{value}' is not a path inside the repository, relative to its top",
            ctx=ctx,
            param=param,
        )
    return value


def _gives(arg: str, option: str) -> bool:
    """Whether a command-line argument sets `option` (`-j4`, `--concurrency=4`)."""
    if option.startswith("--"):
        return arg == option or arg.startswith(option + "=")
    return arg.startswith(option) and not arg.startswith("--")


def job_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for job names, from the top-level keys of the file."""
    cwd = ctx.params.get("cwd") or Path(".")
    name = ctx.params.get("config_file") or ".gitlab-ci.yml"
    try:
        text = (Path(cwd) / name).read_text(encoding="utf-8")
    except OSError:
        return []
    names = []
    for line in text.splitlines():
        found = _TOP_LEVEL_KEY.match(line)
        if not found:
            continue
        key = next(group for group in found.groups() if group is not None)
        if key in GLOBAL_KEYS or key.startswith("."):
            continue
        if key.startswith(incomplete):
            names.append(CompletionItem(key))
    return names


def pipeline_options(command: F) -> F:
    """The options every command that plans a pipeline shares."""
    options = [
        click.option(
            "--cwd",
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            default=Path("."),
            help="Folder of the repository (default: the current one).",
        ),
        click.option(
            "-v",
            "--variable",
            "variables",
            multiple=True,
            metavar="KEY=VALUE",
            help="Set a variable, over the files' and GitLab's own (repeatable).",
        ),
        click.option("--tag", help="Plan a tag pipeline for this tag (at HEAD)."),
        click.option("--branch", help="Plan a branch pipeline for this branch."),
        click.option(
            "--source",
            default="push",
            show_default=True,
            envvar=envvar("source"),
            help="CI_PIPELINE_SOURCE: push, web, schedule, api, merge_request_event...",
        ),
        click.option("--target", help="Target branch of a merge request pipeline."),
        click.option(
            "--worktree/--committed",
            default=False,
            envvar=envvar("worktree"),
            help="Use the working tree as it is instead of the committed HEAD.",
        ),
        click.option(
            "--file",
            "config_file",
            default=".gitlab-ci.yml",
            show_default=True,
            envvar=envvar("file"),
            callback=_inside_repository,
            help="The CI configuration file, relative to the repository.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def colour_option(command: F) -> F:
    """`--color auto|always|never`."""
    return click.option(
        "--color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        envvar=envvar("color"),
        help="Colour the output (auto: on a terminal, unless NO_COLOR is set).",
    )(command)


def make_options(**kwargs: Any) -> Any:
    """The pipeline options record from the shared click options."""
    from minirunner.context import Options, parse_assignments

    return Options(
        cwd=kwargs["cwd"].resolve(),
        tag=kwargs["tag"],
        branch=kwargs["branch"],
        source=kwargs["source"],
        target=kwargs["target"],
        variables=parse_assignments(kwargs["variables"]),
        worktree=kwargs["worktree"],
        config_file=kwargs["config_file"],
        config_file_from=_chosen_elsewhere("config_file", "file"),
    )


def _chosen_elsewhere(name: str, option: str) -> str | None:
    """`.minirunner.toml` or MINIRUNNER_* when they set the option `name`."""
    ctx = click.get_current_context(silent=True)
    source = ctx.get_parameter_source(name) if ctx else None
    if source is click.core.ParameterSource.DEFAULT_MAP:
        return ".minirunner.toml"
    if source is click.core.ParameterSource.ENVIRONMENT:
        return envvar(option)
    return None


def pipeline_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Split the shared options from a command's own."""
    shared = ("cwd", "variables", "tag", "branch", "source", "target", "worktree")
    return {key: kwargs.pop(key) for key in (*shared, "config_file")}
