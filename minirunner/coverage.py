"""A job's code coverage, read from its log as GitLab reads it from the job's trace.

GitLab's `Trace::Stream#extract_coverage`: going up from the last line, the first
line the `coverage` expression matches gives its last match (or last group), and
the first number in that is the coverage (https://docs.gitlab.com/ci/yaml/#coverage).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from minirunner.rules.regex import fabricate

_NUMBER = re.compile(rb"\d+(?:\.\d+)?")
_BLOCK = 1 << 16


def read_coverage(log: Path, expression: str) -> float | None:
    """The coverage the log reports, or None when no line gives one."""
    regexp = fabricate(expression)
    if regexp is None:
        return None
    for line in _lines_from_end(log):
        matches = regexp.compiled.findall(line)
        if not matches:
            continue
        last = matches[-1]
        text = last[-1] if isinstance(last, tuple) else last
        number = _NUMBER.search(text)
        if number is not None:
            return float(number.group())
    return None


def _lines_from_end(path: Path) -> Iterator[bytes]:
    """The file's lines, last first, read in blocks from its end."""
    try:
        stream = path.open("rb")
    except OSError:
        return
    with stream:
        end = stream.seek(0, 2)
        rest = b""
        while end > 0:
            start = max(0, end - _BLOCK)
            stream.seek(start)
            rest = stream.read(end - start) + rest
            end = start
            lines = rest.split(b"\n")
            rest = lines[0] if end > 0 else b""
            yield from reversed(lines[1:] if end > 0 else lines)
