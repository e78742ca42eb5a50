"""GitLab's human durations (`timeout: 1h 30m`, `start_in: 10 minutes`) in seconds."""

from __future__ import annotations

import re

UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def parse_duration(text: str) -> float | None:
    """Seconds in `text`, or None when it is not a duration GitLab would take.

    A bare number counts as seconds, as in GitLab's ChronicDuration.
    """
    words = text.strip().lower().replace(",", " ").replace(" and ", " ")
    if not words:
        return None
    total = 0.0
    position = 0
    for match in PART.finditer(words):
        if words[position : match.start()].strip():
            return None
        number, unit = match.groups()
        if unit and unit not in UNITS:
            return None
        total += float(number) * UNITS.get(unit or "s", 1)
        position = match.end()
    if words[position:].strip() or position == 0:
        return None
    return total
