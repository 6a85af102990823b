"""SIGTERM (what Pachyderm's datumTimeout and a pod's deletion send, and what the local
runner's death sends its datums) ends a stage the way Ctrl-C does: the exception unwinds
through every `finally`, so the staging folder is removed and an MLflow run is marked
failed instead of the process vanishing mid-write."""

from __future__ import annotations

import signal
import sys
from types import FrameType

EXIT_TERMINATED = 128 + signal.SIGTERM


def _terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    print("terminated (SIGTERM): cleaning up", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_TERMINATED)


def terminate_cleanly() -> None:
    """From now on SIGTERM raises SystemExit(143) in the main thread (call it there)."""
    signal.signal(signal.SIGTERM, _terminated)
