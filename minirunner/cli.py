"""The `minirunner` command line; the work lives in the modules it calls."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from minirunner import __version__
from minirunner.errors import EXIT_INTERNAL, EXIT_INTERRUPTED

F = TypeVar("F", bound=Callable[..., Any])


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
            help="Set a variable, over the file's and GitLab's own (repeatable).",
        ),
        click.option("--tag", help="Plan a tag pipeline for this tag (at HEAD)."),
        click.option("--branch", help="Plan a branch pipeline for this branch."),
        click.option(
            "--source",
            default="push",
            show_default=True,
            help="CI_PIPELINE_SOURCE: push, web, schedule, api, merge_request_event...",
        ),
        click.option("--target", help="Target branch of a merge request pipeline."),
        click.option(
            "--worktree/--committed",
            default=False,
            help="Use the working tree as it is instead of the committed HEAD.",
        ),
        click.option(
            "--file",
            "config_file",
            default=".gitlab-ci.yml",
            show_default=True,
            help="The CI configuration file, relative to the repository.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
    )


def pipeline_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Split the shared options from a command's own."""
    shared = ("cwd", "variables", "tag", "branch", "source", "target", "worktree")
    return {key: kwargs.pop(key) for key in (*shared, "config_file")}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="minirunner")
def cli() -> None:
    """Run a repository's .gitlab-ci.yml locally, with GitLab's semantics."""


@cli.command("run")
@click.argument("jobs", nargs=-1)
@pipeline_options
@click.option(
    "--executor",
    type=click.Choice(["auto", "shell", "docker"]),
    default="auto",
    show_default=True,
    help="Where jobs run; auto: docker for jobs with an image, else shell.",
)
@click.option("--needs", "with_needs", is_flag=True, help="Also run what JOBS need.")
@click.option(
    "--force", is_flag=True, help="Run named jobs even if rules exclude them."
)
@click.option(
    "-j", "--concurrency", type=click.IntRange(1), help="Jobs at once (default: cores)."
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON report of the run to this file.",
)
@click.option(
    "--registry/--no-registry",
    "registry",
    default=None,
    help="Start the local registry (default: when a job mentions it or docker).",
)
@click.option("--keep", is_flag=True, help="Keep the jobs' folders for debugging.")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the output.",
)
@click.option("-q", "--quiet", is_flag=True, help="Show only the summary.")
@click.option("--verbose", is_flag=True, help="Show minirunner's own diagnostics.")
def run_command(jobs: tuple[str, ...], **kwargs: Any) -> None:
    """Run the pipeline (or only JOBS) and exit non-zero when it fails."""
    from minirunner.session import run_pipeline

    options = make_options(**pipeline_kwargs(kwargs))
    code = run_pipeline(options, jobs=jobs, **kwargs)
    sys.exit(code)


@cli.command("list")
@pipeline_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def list_command(as_json: bool, **kwargs: Any) -> None:
    """Show the jobs the pipeline would have, in stage order."""
    from minirunner.session import list_pipeline

    list_pipeline(make_options(**kwargs), as_json=as_json)


@cli.command("lint")
@pipeline_options
def lint_command(**kwargs: Any) -> None:
    """Check the configuration as GitLab would, without running anything."""
    from minirunner.session import lint_pipeline

    lint_pipeline(make_options(**kwargs))


@cli.command("vars")
@click.argument("job", required=False)
@pipeline_options
@click.option("--json", "as_json", is_flag=True, help="Print the variables as JSON.")
@click.option("--reveal", is_flag=True, help="Show masked values as they are.")
def vars_command(job: str | None, as_json: bool, reveal: bool, **kwargs: Any) -> None:
    """Print the variables a job (or the pipeline's rules) would see."""
    from minirunner.session import show_variables

    show_variables(make_options(**kwargs), job, as_json=as_json, reveal=reveal)


@cli.command("explain")
@click.argument("jobs", nargs=-1)
@pipeline_options
def explain_command(jobs: tuple[str, ...], **kwargs: Any) -> None:
    """Say which rule put each job in the pipeline or kept it out, and why."""
    from minirunner.session import explain_pipeline

    explain_pipeline(make_options(**kwargs), jobs)


@cli.command("show")
@pipeline_options
def show_command(**kwargs: Any) -> None:
    """Print the fully expanded configuration (includes, extends, references)."""
    from minirunner.session import show_config

    show_config(make_options(**kwargs))


@cli.group("registry")
def registry_group() -> None:
    """Manage the local registry container that stands in for GitLab's."""


@registry_group.command("up")
def registry_up_command() -> None:
    """Start the local registry (or reuse the running one)."""
    from minirunner.session import registry_up

    registry_up()


@registry_group.command("down")
@click.option("--purge", is_flag=True, help="Also delete the pushed images.")
def registry_down_command(purge: bool) -> None:
    """Stop and remove the local registry container."""
    from minirunner.session import registry_down

    registry_down(purge=purge)


@registry_group.command("status")
def registry_status_command() -> None:
    """Say whether the local registry runs, where, and what it holds."""
    from minirunner.session import registry_status

    registry_status()


@registry_group.command("password")
def registry_password_command() -> None:
    """Print the registry's password, for a `docker login` by hand."""
    from minirunner.session import registry_password

    registry_password()


def crash_log_path() -> Path:
    """Where the traceback of an unexpected error goes."""
    from minirunner.state import state_dir

    return state_dir() / "crash.log"


def main() -> None:
    """Entry point: user errors in one line, anything else logged, Ctrl-C as 130."""
    try:
        cli.main(standalone_mode=False)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # an error of minirunner's own, not the user's
        import traceback

        try:
            path = crash_log_path()
            path.write_text(traceback.format_exc())
            where = f"the traceback is in {path}"
        except OSError:
            where = "no traceback could be written"
        click.echo(
            f"Error: minirunner failed unexpectedly ({type(error).__name__}: "
            f"{error}); {where}",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(0)
