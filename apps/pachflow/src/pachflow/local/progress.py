"""Progress on stderr: one line per pipeline (datums done/skipped/failed of total, elapsed),
rewritten in place on a terminal, printed at every tenth otherwise; a summary at the end."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

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

    def line(self) -> str:
        return (
            f"{self.pipeline:<12} job {self.job_id[:12]}  {self.done} done, {self.skipped} skipped,"
            f" {self.failed} failed of {self.total} datums  {self.elapsed:.1f}s"
        )


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
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
        tenth = (10 * finished) // p.total if p.total else 10
        if tenth != self._last_tenth and finished < p.total:
            self._last_tenth = tenth
            print(p.line(), file=self.stream, flush=True)

    def finish(self, p: PipelineProgress, state: str) -> None:
        if self.quiet:
            return
        if self.tty:
            print(f"\r{p.line()}  {state}{CLEAR_EOL}", file=self.stream, flush=True)
        else:
            print(f"{p.line()}  {state}", file=self.stream, flush=True)
