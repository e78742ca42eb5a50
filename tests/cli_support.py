"""Running the real `minirunner` command in a test, isolated from the user's setup."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def isolated_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment with minirunner's state and config below `home`, and no
    MINIRUNNER_* or colour setting inherited from whoever runs the tests."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MINIRUNNER_") and key not in ("NO_COLOR", "TERM")
    }
    env["MINIRUNNER_STATE_DIR"] = str(home / "state")
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env.update(extra or {})
    return env


def minirunner(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m minirunner ARGS` in `cwd`; its outcome, text captured."""
    return subprocess.run(
        [sys.executable, "-m", "minirunner", *args],
        cwd=cwd,
        env=isolated_env(cwd.parent, env),
        capture_output=True,
        text=True,
        timeout=120,
    )
