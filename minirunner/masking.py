"""Masked variables: which values GitLab can mask, and hiding them in output."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[MASKED]"

# Ci::Maskable::REGEX and MASK_AND_RAW_REGEX: what GitLab accepts as a masked
# value, for expanded and for `expand: false` (raw) variables
# (https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable).
MASKABLE = re.compile(r"[a-zA-Z0-9_+=/@:.~-]{8,}")
MASKABLE_RAW = re.compile(r"\S{8,}")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def unmaskable_reason(value: str, *, raw: bool = False) -> str | None:
    """Why GitLab would refuse to mask `value`, or None when it can."""
    if len(value) < 8:
        return "it has fewer than 8 characters"
    if raw:
        return None if MASKABLE_RAW.fullmatch(value) else "it has spaces or lines"
    if MASKABLE.fullmatch(value):
        return None
    odd = sorted({char for char in value if not MASKABLE.fullmatch(char * 8)})
    shown = " ".join("space" if char == " " else repr(char)[1:-1] for char in odd)
    return (
        f"it has characters other than A-Z a-z 0-9 _ + = / @ : . ~ - ({shown}); "
        "`expand: false` allows any but spaces"
    )


class Masker:
    """Replaces each secret by [MASKED], longest secret first, as the runner does.

    GitLab Runner masks the exact value only (helpers/trace/internal/masker):
    an encoded or transformed value (base64, reversed, split by other text) is
    shown as it is, and so it is here.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values too."""
        known = set(self.secrets)
        known.update(secret for secret in secrets if secret)
        self.secrets = sorted(known, key=lambda secret: (-len(secret), secret))

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def mask(self, text: str) -> str:
        """`text` with every occurrence of every secret replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def line(self, line: str) -> tuple[str, str]:
        """One line of output as (plain text for the log, text for a terminal).

        The plain text is what a terminal would show: ANSI codes removed, a
        carriage return or backspace applied. It is masked again after that,
        so a secret cut by colour codes or redrawn over a `\\r` does not
        appear there either; the terminal text then falls back to it.
        """
        raw = self.mask(line)
        plain = self.mask(visible(line))
        if visible(raw) != plain:
            return plain, plain
        return plain, raw


def unsplit_secrets(text: str, cut: int, secrets: Iterable[str]) -> int:
    """A place at or before `cut` to split `text` without cutting any occurrence
    of a secret in two, so that each part can be masked on its own."""
    secrets = list(secrets)
    moved = True
    while moved and cut > 0:
        moved = False
        for secret in secrets:
            start = text.find(secret, max(0, cut - len(secret) + 1))
            if -1 < start < cut < start + len(secret):
                cut, moved = start, True
    return max(cut, 0)


def mask(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret, longest first, as GitLab masks."""
    return Masker(secrets).mask(text)


def visible(line: str) -> str:
    """What a terminal shows of one line: ANSI codes gone, `\\r` and `\\b` applied."""
    text = ANSI.sub("", line)
    if "\r" in text or "\b" in text:
        text = _overwrite(text.rstrip("\r"))
    return _CONTROL.sub("", text)


def _overwrite(text: str) -> str:
    """Apply carriage returns and backspaces as a terminal does: by overwriting."""
    cells: list[str] = []
    cursor = 0
    for char in text:
        if char == "\r":
            cursor = 0
        elif char == "\b":
            cursor = max(0, cursor - 1)
        else:
            if cursor < len(cells):
                cells[cursor] = char
            else:
                cells.append(char)
            cursor += 1
    return "".join(cells)
