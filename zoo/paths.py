"""Where zoo keeps its local files, without importing anything heavy."""

from __future__ import annotations

import os
from pathlib import Path


def zoo_home() -> Path:
    """Root of zoo's local files: ``$ZOO_HOME``, else ``~/.cache/zoo``."""
    return Path(os.environ.get("ZOO_HOME") or Path.home() / ".cache" / "zoo")
