"""Where the specs are when the user names none: $PACHFLOW_SPECS_DIR, else the nearest
pipelines/ directory holding *.json at or above the working directory."""

from __future__ import annotations

import os
from pathlib import Path

SPECS_DIR_ENV = "PACHFLOW_SPECS_DIR"


def default_specs_dir(cwd: Path | None = None) -> Path | None:
    env = os.environ.get(SPECS_DIR_ENV)
    if env:
        return Path(env)
    start = (cwd or Path.cwd()).resolve()
    for directory in [start, *start.parents]:
        if directory.name == "pipelines" and any(directory.glob("*.json")):
            return directory
        candidate = directory / "pipelines"
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    return None
