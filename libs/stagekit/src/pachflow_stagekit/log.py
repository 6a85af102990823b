"""Progress lines on stderr (stdout stays free for data a caller may parse)."""

from __future__ import annotations

import sys
import time

_START = time.monotonic()


def progress(stage: str, message: str) -> None:
    """Print `[stage +12.3s] message` to stderr, flushed (Pachyderm collects it as logs)."""
    elapsed = time.monotonic() - _START
    print(f"[{stage} +{elapsed:.1f}s] {message}", file=sys.stderr, flush=True)
