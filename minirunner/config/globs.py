"""GitLab's wildcard `include:local` paths: `**` crosses folders, `*` does not."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def include_wildcard_regex(pattern: str) -> re.Pattern[str]:
    """The regex of `Repository#search_files_by_wildcard_path` for a pattern.

    GitLab escapes the path, then turns `**` into `.*?` and `*` into `[^/]*?`,
    anchored at both ends (https://docs.gitlab.com/ci/yaml/includes/).
    """
    pieces = [
        "[^/]*?".join(re.escape(part) for part in chunk.split("*"))
        for chunk in pattern.split("**")
    ]
    return re.compile(".*?".join(pieces) + r"\Z", re.DOTALL)


def matching_files(pattern: str, files: list[str]) -> list[str]:
    """The files a wildcard include names, sorted."""
    regex = include_wildcard_regex(pattern)
    return sorted(path for path in files if regex.match(path))
