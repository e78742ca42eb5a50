"""Small typed readers of raw YAML values, and where to blame a bad one."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from minirunner.config.yamlnodes import Reference
from minirunner.errors import ConfigError

_INDEX = re.compile(r"\[\d+\]")


def keyword_name(path: str) -> str:
    """A keyword path as shown to users: `rules[1]:if` is `rules:if`."""
    return _INDEX.sub("", path)


@dataclass(frozen=True)
class Site:
    """What an error is about: a file and line, a job, and the lines of its keys."""

    file: str
    line: int | None = None
    job: str | None = None
    keywords: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    def where(self, path: str) -> tuple[str, int | None]:
        """The file and line of a keyword path such as `rules[1]:if`."""
        probe = path
        while probe:
            found = self.keywords.get(probe)
            if found is not None:
                return found
            cut = max(probe.rfind(":"), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return self.file, self.line

    def error(self, path: str, message: str, *, at: str | None = None) -> ConfigError:
        """A ConfigError about the keyword at `path`, located as well as known.

        `at` names a more precise key to take the line from.
        """
        file, line = self.where(at or path)
        keyword = keyword_name(path) or None
        return ConfigError(message, file=file, line=line, job=self.job, keyword=keyword)


def top_site(name: str, locs: Mapping[str, Any], job: str | None = None) -> Site:
    """The site of a top-level key, its inner keys addressed as `name:key`."""
    loc = locs.get(name)
    if loc is None:
        return Site("", None, job)
    keywords = {name: (loc.file, loc.line)}
    for key, where in loc.keywords.items():
        keywords[name + key if key.startswith("[") else f"{name}:{key}"] = where
    return Site(loc.file, loc.line, job, keywords)


def job_site(name: str, locs: Mapping[str, Any]) -> Site:
    """The site of a job: its keywords addressed by their own names."""
    loc = locs.get(name)
    if loc is None:
        return Site("", None, name)
    return Site(loc.file, loc.line, name, loc.keywords)


def type_name(value: object) -> str:
    """How a YAML value's type is named in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, Reference):
        return f"an unresolved {value.text}"
    return type(value).__name__


def ruby_str(value: object) -> str:
    """The text Ruby's `to_s` gives a YAML scalar, as GitLab stores variables."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _ruby_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _ruby_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}"
    return text if "." in text else text + ".0"


def is_scalar(value: object) -> bool:
    """A string, number or boolean: what a variable's value may be."""
    return isinstance(value, str | int | float)


def string(site: Site, path: str, value: Any) -> str:
    """A string, or an error naming the keyword."""
    if not isinstance(value, str):
        raise site.error(path, f"should be a string, not {type_name(value)}")
    return value


def optional_string(site: Site, path: str, value: Any) -> str | None:
    """A string or nothing."""
    return None if value is None else string(site, path, value)


def boolean(site: Site, path: str, value: Any) -> bool:
    """A boolean (YAML true/false), or an error."""
    if not isinstance(value, bool):
        raise site.error(path, f"should be a boolean value, not {type_name(value)}")
    return value


def strings(site: Site, path: str, value: Any) -> tuple[str, ...]:
    """A list of strings, or an error."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise site.error(path, "should be an array of strings")
    return tuple(value)


def string_or_strings(site: Site, path: str, value: Any) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise site.error(path, "should be a string or an array of strings")
    return tuple(value)


def flatten(
    site: Site, path: str, value: Any, message: str, max_level: int = 10
) -> tuple[Any, ...]:
    """Flatten nested lists (from `!reference`) up to GitLab's nesting limit;
    `message` is the error past it."""
    out: list[Any] = []

    def walk(items: list[Any], level: int) -> None:
        if level > max_level:
            raise site.error(path, message)
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                out.append(item)

    walk(value, 1)
    return tuple(out)


def commands(
    site: Site, path: str, value: Any, *, required: bool = False
) -> tuple[str, ...]:
    """`script`-like keywords: a string or nested lists of strings, flattened."""
    message = "should be a string or a nested array of strings up to 10 levels deep"
    if isinstance(value, str):
        result: tuple[str, ...] = (value,)
    elif isinstance(value, list):
        items = flatten(site, path, value, message)
        if not all(isinstance(item, str) for item in items):
            raise site.error(path, message)
        result = items
    else:
        raise site.error(path, message)
    if required and not any(result):
        raise site.error(path, "can't be blank")
    return result


def integer(site: Site, path: str, value: Any, low: int, high: int) -> int:
    """An integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise site.error(path, f"should be an integer, not {type_name(value)}")
    if not low <= value <= high:
        raise site.error(path, f"should be between {low} and {high}")
    return value


def integers(site: Site, path: str, value: Any) -> tuple[int, ...]:
    """An integer or a list of integers (exit codes)."""
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        raise site.error(path, "should be an array of integers or an integer")
    return tuple(items)


def one_of(site: Site, path: str, value: Any, allowed: tuple[str, ...]) -> str:
    """A string among `allowed`."""
    if not isinstance(value, str) or value not in allowed:
        raise site.error(path, f"should be one of: {', '.join(allowed)}")
    return value


def mapping(site: Site, path: str, value: Any) -> dict[Any, Any]:
    """A mapping, or an error."""
    if not isinstance(value, dict):
        raise site.error(path, f"should be a hash, not {type_name(value)}")
    return value


def check_keys(
    site: Site, path: str, value: dict[Any, Any], allowed: frozenset[str]
) -> None:
    """Refuse keys GitLab does not know at this place."""
    unknown = [str(key) for key in value if key not in allowed]
    if unknown:
        raise site.error(
            path,
            f"contains unknown keys: {', '.join(unknown)}",
            at=f"{path}:{unknown[0]}",
        )
