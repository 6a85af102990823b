"""Settings from the environment: where the specs are when the user names none
($PACHFLOW_SPECS_DIR, else the nearest pipelines/ with *.json at or above the working
directory) and which repos are input repos ($PACHFLOW_INPUT_REPOS, default raw_data and
transactions)."""

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


DEFAULT_INPUT_REPOS = ("raw_data", "transactions")
INPUT_REPOS_ENV = "PACHFLOW_INPUT_REPOS"


def input_repos_from_env() -> tuple[str, ...]:
    """Input repos users put data in (not made by a pipeline): $PACHFLOW_INPUT_REPOS, comma
    separated, default raw_data and transactions."""
    value = os.environ.get(INPUT_REPOS_ENV, "")
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    return names or DEFAULT_INPUT_REPOS
