"""GitLab's slugs, as in `CI_COMMIT_REF_SLUG` and `CI_ENVIRONMENT_SLUG`."""

from __future__ import annotations

import hashlib
import re

_NOT_SLUG = re.compile(r"[^a-z0-9]")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def slugify(text: str, limit: int = 63) -> str:
    """GitLab's `Gitlab::Utils.slugify`, exactly.

    Lower-case; every character outside `a-z0-9` becomes `-` (runs are kept, not
    collapsed); cut to `limit` characters; leading and trailing `-` removed.
    `Feature/Foo_Bar.x--y-` gives `feature-foo-bar-x--y`; `a//b--c` gives `a--b--c`.
    """
    return _NOT_SLUG.sub("-", text.lower())[:limit].strip("-")


def environment_slug(name: str) -> str:
    """GitLab's `Gitlab::Slug::Environment#generate` for `CI_ENVIRONMENT_SLUG`.

    At most 24 characters, starts with a letter, no `--`; a name the slug does not
    reproduce exactly gets a 6-character suffix derived from its SHA-256 (the
    "random" suffix of the docs is this deterministic hash).
    """
    slug = _NOT_SLUG.sub("-", name.lower())
    if not re.match(r"[a-z]", slug):
        slug = f"env-{slug}"
    slug = re.sub(r"-+", "-", slug)
    if len(slug) > 24 or slug != name:
        slug = slug[:17]
        if not slug.endswith("-"):
            slug += "-"
        return slug + _base36(int(hashlib.sha256(name.encode()).hexdigest(), 16))[-6:]
    return slug.removesuffix("-")


def _base36(number: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits)) or "0"
