"""Helpers for the loader's tests: a configuration from text, or its error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from minirunner.config import load_config
from minirunner.config.model import Config
from minirunner.errors import ConfigError
from minirunner.sourcetree import DirectoryTree


def load(root: Path, text: str) -> Config:
    """Write text as root's .gitlab-ci.yml and load it."""
    (root / ".gitlab-ci.yml").write_text(textwrap.dedent(text))
    return load_config(DirectoryTree(root))


def error(root: Path, text: str) -> str:
    """The ConfigError's message that loading text gives."""
    with pytest.raises(ConfigError) as caught:
        load(root, text)
    return str(caught.value)
