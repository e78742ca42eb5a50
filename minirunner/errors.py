"""The errors minirunner shows to its user, each as one line."""

from __future__ import annotations

import click

# Exit statuses, as documented in README.md.
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class MinirunnerError(click.ClickException):
    """Base of every error that is the user's to fix; the CLI prints it in one line."""

    exit_code = EXIT_FAILED


class ConfigError(MinirunnerError):
    """The CI configuration is one GitLab would reject.

    The message is prefixed with where the problem is: ``file:line``, then the
    job and the keyword, when they are known.
    """

    exit_code = EXIT_CONFIG

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        job: str | None = None,
        keyword: str | None = None,
    ) -> None:
        self.reason = message
        self.file = file
        self.line = line
        self.job = job
        self.keyword = keyword
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.job:
            parts.append(f"job '{self.job}'")
        if self.keyword:
            parts.append(f"{self.keyword}")
        parts.append(self.reason)
        # One line always: a multi-line expression or value is shown with \n.
        return ": ".join(parts).replace("\r", "\\r").replace("\n", "\\n")

    def located(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        job: str | None = None,
        keyword: str | None = None,
    ) -> ConfigError:
        """Fill in the parts of the location that are not known yet."""
        self.file = self.file or file
        self.line = self.line or line
        self.job = self.job or job
        self.keyword = self.keyword or keyword
        self.message = self._compose()
        return self


class ConfigErrors(ConfigError):
    """Several mistakes at once: shown as the first, with how many follow;
    `errors` holds them all, for `minirunner lint` to list."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(
            first.reason,
            file=first.file,
            line=first.line,
            job=first.job,
            keyword=first.keyword,
        )

    def _compose(self) -> str:
        text = super()._compose()
        more = len(self.errors) - 1
        if more:
            text += f" (and {more} more: `minirunner lint` lists them all)"
        return text


class ExpressionError(ConfigError):
    """A ``rules:if`` expression that GitLab's expression language rejects."""

    def __init__(self, message: str, expression: str, column: int) -> None:
        self.expression = expression
        self.column = column
        shown = _excerpt(expression, column)
        super().__init__(f"{message} at column {column} of '{shown}'")


_EXCERPT_WIDTH = 80


def _excerpt(expression: str, column: int) -> str:
    """The expression, or for a long one the part around `column`."""
    if len(expression) <= _EXCERPT_WIDTH:
        return expression
    centred = column - 1 - _EXCERPT_WIDTH // 2
    start = max(0, min(centred, len(expression) - _EXCERPT_WIDTH))
    end = start + _EXCERPT_WIDTH
    before = "..." if start else ""
    after = "..." if end < len(expression) else ""
    return f"{before}{expression[start:end]}{after}"


class IncludeUnavailable(ConfigError):
    """An include that cannot be had offline and has no local mapping."""


class GitError(MinirunnerError):
    """The repository is missing or in a state minirunner cannot read."""

    exit_code = EXIT_ENVIRONMENT


class DockerUnavailable(MinirunnerError):
    """The Docker engine does not answer."""

    exit_code = EXIT_ENVIRONMENT


class ImageMissing(MinirunnerError):
    """An image is not present locally and cannot be pulled."""

    exit_code = EXIT_ENVIRONMENT


class RegistryError(MinirunnerError):
    """The local registry cannot be started or reached."""

    exit_code = EXIT_ENVIRONMENT


class UsageError(MinirunnerError):
    """A command-line value that makes no sense (an unknown job, a bad variable)."""

    exit_code = EXIT_CONFIG
