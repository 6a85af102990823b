"""Arrow in the stage's own process, or Spark: the choice etl (per source file) and train
(per run) make from their input's size and a measured memory bound, before a row is read.

Each stage measures its Arrow engine's peak RSS against its input's size (bench/, the
sections its engine module names) and keeps the line above every point as its
MemoryBound; the largest input whose bound stays within the stage's budget is the default
of its `--arrow-max-bytes`."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1 << 20
ARROW, SPARK = "Arrow", "Spark"


@dataclass(frozen=True)
class MemoryBound:
    """A process's peak RSS on the Arrow engine is at most `fixed` + `per_byte` x the
    input's bytes; `budget` is the peak the stage allows itself."""

    fixed: int
    per_byte: int
    budget: int

    def peak(self, size: int) -> int:
        return self.fixed + size * self.per_byte

    @property
    def max_bytes(self) -> int:
        """The largest input whose bound stays within the budget."""
        return (self.budget - self.fixed) // self.per_byte


@dataclass(frozen=True)
class EngineChoice:
    """The engine for an input and why, as the stage's progress line says."""

    engine: str
    reason: str


def choose(size: int, arrow_max_bytes: int, bound: MemoryBound, what: str = "") -> EngineChoice:
    """Arrow for an input of at most `arrow_max_bytes` bytes, else Spark (0: always Spark);
    `what` names the input in the reason (e.g. "partials ")."""
    shown, limit = mb(size), mb(arrow_max_bytes)
    if arrow_max_bytes == 0:
        return EngineChoice(SPARK, "Arrow is off (--arrow-max-bytes 0)")
    if size <= arrow_max_bytes:
        peak = mb(bound.peak(size))
        return EngineChoice(ARROW, f"{what}{shown} <= {limit}: fits in memory, peak <= {peak}")
    return EngineChoice(SPARK, f"{what}{shown} > {limit}: too large for the Arrow engine's memory")


def mb(n: float) -> str:
    return f"{n / MB:,.1f} MB"
