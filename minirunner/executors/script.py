"""The shell script a job runs, built the way GitLab Runner builds it for bash and sh.

Each command is echoed (green, prefixed with `$ `) before it runs, and the script
stops at the first command that fails (`set -e`, with `pipefail` where the shell
has it). `before_script` and `script` share one shell; `after_script` gets its own.
User commands are written into the script as the user wrote them: they are the
job's code. Everything minirunner itself adds quotes its data with shlex.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

ECHO_START = "\x1b[32;1m$ "
ECHO_END = "\x1b[0;m"
# `docker` (or `docker-compose`) where a shell would run it as a command: at the
# start of a line or after `;`, `&&`, `|`, `$(`, `then`, `sudo`..., after any
# `NAME=value` prefixes; not as a word inside text or a URL.
_DOCKER_COMMAND = re.compile(
    r"(?:^|[;&|(`{]|\$\(|\b(?:then|do|else|sudo|exec|time|xargs|env|command)\s)"
    r"\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*docker(?:-compose)?(?=\s|$|[;&|)`])",
    re.MULTILINE,
)


def runs_docker(commands: Sequence[str]) -> bool:
    """Whether a script runs the docker CLI (as far as its text shows)."""
    return any(_DOCKER_COMMAND.search(command) for command in commands)


def prologue(shell: str) -> str:
    """The options GitLab Runner sets before the first command."""
    if shell.endswith("bash"):
        return "set -eo pipefail\nset +o noclobber\n"
    return "set -e\n"


def echo_line(command: str) -> str:
    """A printf that shows `$ command` as the runner does (first line only)."""
    lines = command.splitlines() or [""]
    shown = lines[0] + (" # collapsed multi-line command" if len(lines) > 1 else "")
    return f"printf '%s\\n' {shlex.quote(ECHO_START + shown + ECHO_END)}\n"


def build_script(
    commands: Sequence[str], shell: str, workdir: str | None = None
) -> str:
    """The whole script text for one shell session of a job."""
    parts = [prologue(shell)]
    if workdir is not None:
        parts.append(f"cd {shlex.quote(workdir)}\n")
    for command in commands:
        parts.append(echo_line(command))
        parts.append(command.rstrip("\n") + "\n")
    return "".join(parts)
