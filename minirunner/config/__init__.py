"""Turn `.gitlab-ci.yml` and its includes into validated records."""

from __future__ import annotations

from minirunner.config.includemap import load_include_map
from minirunner.config.loader import expanded_config, load_child_config, load_config

__all__ = ["expanded_config", "load_child_config", "load_config", "load_include_map"]
