"""Records built once per mapping or list that several jobs hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class SharedRecords:
    """The records of values jobs share, by the value's identity.

    YAML aliases, `extends` and `!reference` give many jobs the very same
    mapping or list, so each is checked and built once. A record is kept only
    when building it added no warning: warnings name the job they are about.
    """

    def __init__(self) -> None:
        # The value is kept with its record, so that its id stays its own.
        self._records: dict[tuple[str, int], tuple[Any, Any]] = {}

    def record(
        self,
        kind: str,
        raw: Any,
        build: Callable[[], T],
        warnings: list[str] | None = None,
    ) -> T:
        """The record of `raw` as `kind`, from `build` the first time."""
        if not isinstance(raw, dict | list):
            return build()
        key = (kind, id(raw))
        known = self._records.get(key)
        if known is not None and known[0] is raw:
            result: T = known[1]
            return result
        before = None if warnings is None else len(warnings)
        result = build()
        if warnings is None or len(warnings) == before:
            self._records[key] = (raw, result)
        return result
