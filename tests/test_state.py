"""Where minirunner keeps its state."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from minirunner.state import state_dir


def test_the_explicit_variable_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIRUNNER_STATE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))

    path = state_dir()

    assert path == tmp_path / "mine"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_xdg_state_home_comes_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIRUNNER_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))

    assert state_dir() == tmp_path / "xdg" / "minirunner"


@pytest.mark.parametrize("xdg", [None, "", "relative/state"])
def test_otherwise_the_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    monkeypatch.delenv("MINIRUNNER_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)

    path = state_dir()

    assert path == tmp_path / ".local" / "state" / "minirunner"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
