"""The `minirunner` command line; the work lives in the modules it calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from minirunner import __version__
from minirunner.clioptions import (
    ProjectCommand,
    colour_option,
    job_names,
    make_options,
    pipeline_kwargs,
    pipeline_options,
)
from minirunner.errors import EXIT_ENVIRONMENT, EXIT_INTERNAL, EXIT_INTERRUPTED
from minirunner.userconfig import envvar

EXIT_BROKEN_PIPE = 141


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="minirunner")
def cli() -> None:
    """Run a repository's .gitlab-ci.yml locally, with GitLab's semantics.

    Shell completion: eval "$(_MINIRUNNER_COMPLETE=bash_source minirunner)"
    (zsh_source, fish_source for the other shells).
    """


executor_option = click.option(
    "--executor",
    type=click.Choice(["auto", "shell", "docker"]),
    default="auto",
    show_default=True,
    envvar=envvar("executor"),
    help="Where jobs run; auto: docker for jobs with an image, else shell.",
)


@cli.command("run", cls=ProjectCommand)
@click.argument("jobs", nargs=-1, shell_complete=job_names)
@pipeline_options
@executor_option
@click.option("--needs", "with_needs", is_flag=True, help="Also run what JOBS need.")
@click.option(
    "--stage",
    "stages",
    multiple=True,
    metavar="NAME",
    help="Run the jobs of this stage (repeatable; manual jobs only by name).",
)
@click.option(
    "--force", is_flag=True, help="Run named jobs even if rules exclude them."
)
@click.option(
    "-j",
    "--concurrency",
    type=click.IntRange(1),
    envvar=envvar("concurrency"),
    help="Jobs at once (default: cores).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the jobs and their scripts, variables filled in; run nothing.",
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
    envvar=envvar("registry"),
    help="Start the local registry (default: when a job mentions it or docker).",
)
@click.option(
    "--pull-policy",
    "pull_policy",
    multiple=True,
    type=click.Choice(["never", "if-not-present", "always"]),
    envvar=envvar("pull_policy"),
    help="Pull policy for images whose job sets none (default: if-not-present).",
)
@click.option(
    "--artifacts-to",
    type=click.Path(file_okay=False, path_type=Path),
    help="After the run, copy each job's artifacts into DIR/<job>/.",
)
@click.option(
    "--docker-socket/--no-docker-socket",
    "docker_socket",
    default=True,
    envvar=envvar("docker_socket"),
    help="Give Docker jobs that use docker this machine's engine (default: yes).",
)
@click.option(
    "--keep",
    is_flag=True,
    envvar=envvar("keep"),
    help="Keep the jobs' folders for debugging.",
)
@colour_option
@click.option(
    "--progress/--no-progress",
    default=None,
    envvar=envvar("progress"),
    help="Show the live job view (default: on a terminal).",
)
@click.option(
    "-q/-Q",
    "--quiet/--no-quiet",
    default=False,
    envvar=envvar("quiet"),
    help="Show only the summary (--no-quiet overrides a default).",
)
@click.option(
    "--verbose",
    is_flag=True,
    envvar=envvar("verbose"),
    help="Show minirunner's own diagnostics too.",
)
def run_command(jobs: tuple[str, ...], **kwargs: Any) -> None:
    """Run the pipeline (or only JOBS) and exit non-zero when it fails."""
    from minirunner.commands.run import RunChoice, run_pipeline

    options = make_options(**pipeline_kwargs(kwargs))
    code = run_pipeline(options, RunChoice(jobs=jobs, **kwargs))
    sys.exit(code)


@cli.command("list", cls=ProjectCommand)
@pipeline_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def list_command(as_json: bool, **kwargs: Any) -> None:
    """Show the jobs the pipeline would have, in stage order."""
    from minirunner.session import list_pipeline

    list_pipeline(make_options(**kwargs), as_json=as_json)


@cli.command("lint", cls=ProjectCommand)
@pipeline_options
def lint_command(**kwargs: Any) -> None:
    """Check the configuration as GitLab would, without running anything."""
    from minirunner.session import lint_pipeline

    lint_pipeline(make_options(**kwargs))


@cli.command("vars", cls=ProjectCommand)
@click.argument("job", required=False, shell_complete=job_names)
@pipeline_options
@click.option("--json", "as_json", is_flag=True, help="Print the variables as JSON.")
@click.option("--reveal", is_flag=True, help="Show masked values as they are.")
@executor_option
def vars_command(
    job: str | None, as_json: bool, reveal: bool, executor: str, **kwargs: Any
) -> None:
    """Print the variables a job (or the pipeline's rules) would see."""
    from minirunner.commands.inspect import show_variables

    show_variables(
        make_options(**kwargs), job, as_json=as_json, reveal=reveal, executor=executor
    )


@cli.command("explain", cls=ProjectCommand)
@click.argument("jobs", nargs=-1, shell_complete=job_names)
@pipeline_options
@colour_option
def explain_command(jobs: tuple[str, ...], color: str, **kwargs: Any) -> None:
    """Say which rule put each job in the pipeline or kept it out, and why."""
    from minirunner.commands.inspect import explain_pipeline

    explain_pipeline(make_options(**kwargs), jobs, color=color)


@cli.command("graph", cls=ProjectCommand)
@pipeline_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot"]),
    default="text",
    show_default=True,
    help="A drawing for the terminal, or Mermaid or Graphviz DOT source.",
)
def graph_command(fmt: str, **kwargs: Any) -> None:
    """Draw the pipeline's stages and needs."""
    from minirunner.commands.inspect import graph_pipeline

    graph_pipeline(make_options(**kwargs), fmt=fmt)


@cli.command("show", cls=ProjectCommand)
@pipeline_options
def show_command(**kwargs: Any) -> None:
    """Print the fully expanded configuration (includes, extends, references)."""
    from minirunner.session import show_config

    show_config(make_options(**kwargs))


@cli.command("logs")
@click.argument("jobs", nargs=-1, shell_complete=job_names)
@click.option(
    "--cwd",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder of the repository (default: the current one).",
)
@click.option("--run", "run", type=click.IntRange(1), help="Another run's number.")
@click.option("-n", "--tail", type=click.IntRange(0), help="Only the last N lines.")
def logs_command(
    jobs: tuple[str, ...], cwd: Path, run: int | None, tail: int | None
) -> None:
    """List the last run's jobs and logs, or print the logs of JOBS."""
    from minirunner.commands.logs import show_logs

    show_logs(cwd, jobs, run=run, tail=tail)


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
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with the stream closed (`>&-`)
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115
    try:
        cli.main(standalone_mode=False, prog_name="minirunner")
    except SystemExit:
        # click answers a broken pipe with exit status 1 and this wrapper.
        if isinstance(sys.stdout, click.utils.PacifyFlushWrapper):
            sys.exit(EXIT_BROKEN_PIPE)
        raise
    except click.UsageError as error:
        # One line, as every other error: the usage banner is what --help is for.
        command = error.ctx.command_path if error.ctx else "minirunner"
        click.echo(
            f"Error: {error.format_message()} (`{command} --help` for help)", err=True
        )
        sys.exit(error.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader of our output left (`minirunner list | head`): stop quietly,
        # as git does, with 128 + SIGPIPE.
        from minirunner.output import silence

        silence(sys.stdout)
        sys.exit(EXIT_BROKEN_PIPE)
    except OSError as error:
        # A file or folder of this machine that cannot be used as it is: the
        # user's to fix, like a missing Docker engine.
        where = f": {error.filename}" if error.filename else ""
        click.echo(f"Error: {error.strerror or error}{where}", err=True)
        sys.exit(EXIT_ENVIRONMENT)
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
