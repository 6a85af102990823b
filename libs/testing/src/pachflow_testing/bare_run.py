"""A stage's console script run the way a user first tries it: from a fresh working
directory, with no MLFLOW_* (or PACHFLOW_HOME) in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_without_mlflow(
    script: str, args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `script` (a console script of this venv) in `cwd` with no MLflow settings (and
    no PACHFLOW_HOME, unless `env` sets it)."""
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PACHFLOW_HOME"))}
    exe = str(Path(sys.executable).with_name(script))
    return subprocess.run(
        [exe, *args],
        cwd=cwd,
        env={**bare, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr's `Error: ...` lines (click's one-line errors)."""
    return [line for line in done.stderr.splitlines() if line.startswith("Error:")]
