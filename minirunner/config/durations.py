"""Durations as GitLab reads them (ChronicDuration): "1h 30m", "3 days", "90"."""

from __future__ import annotations

import re

_UNITS = {
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
    "wk": 604800,
    "wks": 604800,
    "week": 604800,
    "weeks": 604800,
    "mo": 2592000,
    "mos": 2592000,
    "month": 2592000,
    "months": 2592000,
    "y": 31557600,
    "yr": 31557600,
    "yrs": 31557600,
    "year": 31557600,
    "years": 31557600,
}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
WEEK = 604800
MONTH = 2592000


def parse_duration(text: str) -> float | None:
    """Seconds in a duration text, or None when it is not one."""
    cleaned = text.strip().lower().replace(",", " ").replace(" and ", " ")
    if not cleaned:
        return None
    clock = _CLOCK.match(cleaned)
    if clock:
        hours, minutes, seconds = clock.groups()
        if hours is None:
            return int(minutes) * 60 + float(seconds)
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    total = 0.0
    position = 0
    for match in _PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            return None
        number, unit = match.groups()
        if unit and unit not in _UNITS:
            return None
        total += float(number) * _UNITS.get(unit or "s", 1)
        position = match.end()
    if position == 0 or cleaned[position:].strip():
        return None
    return total
