"""Progress on stderr, one line per pipeline job: on a terminal a live counter (datums done,
skipped, failed of total, elapsed) rewritten in place; elsewhere (logs, CI) only the final
line, or also a line at every tenth with `verbose`."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from pachflow_store import short_id

CLEAR_EOL = "\033[K"  # erase what a longer previous line left


@dataclass
class PipelineProgress:
    pipeline: str
    job_id: str
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    start: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def line(self, state: str = "running") -> str:
        counts = f"{self.done + self.skipped + self.failed}/{self.total} datums"
        extra = [f"{n} {what}" for n, what in ((self.skipped, "skipped"), (self.failed, "failed"))]
        extra = [e for e in extra if not e.startswith("0 ")]
        return (
            f"{self.pipeline:<12} {state:<8} {counts}"
            + (f" ({', '.join(extra)})" if extra else "")
            + f"  {self.elapsed:.1f}s  job {short_id(self.job_id)}"
        )


class Progress:
    def __init__(
        self, stream: TextIO | None = None, quiet: bool = False, verbose: bool = False
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self.tty = self.stream.isatty()
        self._last_tenth = -1

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def start(self, p: PipelineProgress) -> None:
        self._last_tenth = -1
        self.update(p)

    def update(self, p: PipelineProgress) -> None:
        if self.quiet:
            return
        finished = p.done + p.skipped + p.failed
        if self.tty:
            print("\r" + p.line() + CLEAR_EOL, end="", file=self.stream, flush=True)
            return
        if not self.verbose:
            return
        tenth = (10 * finished) // p.total if p.total else 10
        if tenth != self._last_tenth and finished < p.total:
            self._last_tenth = tenth
            print(p.line(), file=self.stream, flush=True)

    def finish(self, p: PipelineProgress, state: str, reason: str = "") -> None:
        if self.quiet:
            return
        line = p.line(state) + (f"\n{'':<13}{reason}" if reason else "")
        print(
            ("\r" if self.tty else "") + line + (CLEAR_EOL if self.tty else ""),
            file=self.stream,
            flush=True,
        )
