"""Where minirunner keeps its state between runs (the registry's password, locks)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """Return minirunner's state directory, created with mode 0700.

    It is $MINIRUNNER_STATE_DIR, else $XDG_STATE_HOME/minirunner, else
    ~/.local/state/minirunner (the XDG Base Directory default).
    """
    explicit = os.environ.get("MINIRUNNER_STATE_DIR")
    if explicit:
        path = Path(explicit)
    else:
        xdg = os.environ.get("XDG_STATE_HOME", "")
        # The XDG spec says a relative path in these variables is to be ignored.
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
        path = base / "minirunner"

    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
