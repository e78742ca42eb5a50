"""`variables:` in its simple and `{value, description, expand, options}` forms."""

from __future__ import annotations

from typing import Any

from minirunner.config.model import Variable
from minirunner.config.values import Site, is_scalar, ruby_str, type_name


def variables(
    site: Site, path: str, raw: Any, allowed_data: frozenset[str]
) -> dict[str, Variable]:
    """The variables of a `variables:` mapping; values become strings as in Ruby.

    Numbers and booleans are stored with Ruby's `to_s` (`1.0`, `true`), as
    GitLab's Entry::Variable does.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise site.error(
            path, f"should be a hash of key value pairs, not {type_name(raw)}"
        )
    result: dict[str, Variable] = {}
    for key, value in raw.items():
        # The usual case, plain text: no conversion, and no message to prepare.
        if type(key) is str and type(value) is str:
            if "\0" not in key and "\0" not in value:
                result[key] = Variable(value)
                continue
        where = f"{path}:{ruby_str(key)}"
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise site.error(where, "variable name must be an alphanumeric string")
        name = str(key)
        if is_scalar(value):
            result[name] = Variable(ruby_str(value))
        elif isinstance(value, dict):
            result[name] = _complex(site, where, value, allowed_data)
        else:
            raise site.error(
                where, "variable definition must be either a string or a hash"
            )
        if "\0" in name or "\0" in result[name].value:
            # No process environment can carry it, and GitLab's database
            # refuses NUL characters in text.
            raise site.error(where, "a variable cannot contain a NUL character")
    return result


def _complex(
    site: Site, path: str, value: dict[Any, Any], allowed_data: frozenset[str]
) -> Variable:
    extra = [str(key) for key in value if key not in allowed_data]
    if extra:
        raise site.error(path, f"uses invalid data keys: {', '.join(extra)}")
    raw = value.get("value")
    if raw is not None and not is_scalar(raw):
        raise site.error(f"{path}:value", "must be a scalar")
    description = value.get("description")
    if description is not None and (
        isinstance(description, bool) or not isinstance(description, str | int)
    ):
        raise site.error(f"{path}:description", "must be an alphanumeric string")
    expand = value.get("expand")
    if expand is not None and not isinstance(expand, bool):
        raise site.error(f"{path}:expand", "should be a boolean value")
    options = value.get("options")
    if options is not None:
        if not isinstance(options, list) or not all(
            isinstance(o, str) for o in options
        ):
            raise site.error(f"{path}:options", "should be an array of strings")
        if options and raw not in options:
            raise site.error(path, "value must be present in options")
    return Variable(
        ruby_str(raw),
        expand=True if expand is None else expand,
        description=None if description is None else str(description),
    )
