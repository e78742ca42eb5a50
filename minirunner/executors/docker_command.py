"""The main command of a job container, and the job's outcome from how it ended."""

from __future__ import annotations

from collections.abc import Sequence

from minirunner.executors.script import build_script

# GitLab Runner's shell detection (bash where the image has it, else sh), with
# stderr joined to stdout so that the log keeps the order the script wrote in.
DETECT_SHELL = (
    "exec 2>&1; "
    "for shell in /usr/local/bin/bash /usr/bin/bash /bin/bash; do "
    'if [ -x "$shell" ]; then exec "$shell" -c "$1"; fi; done; '
    'exec sh -c "$2"'
)


def container_command(commands: Sequence[str], project_dir: str) -> list[str]:
    """The main command of a job container: the script in bash, or else in sh."""
    return [
        "sh",
        "-c",
        DETECT_SHELL,
        "sh",
        build_script(commands, "bash", project_dir),
        build_script(commands, "sh", project_dir),
    ]
