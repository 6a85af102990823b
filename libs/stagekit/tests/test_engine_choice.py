"""The Arrow-or-Spark choice etl and train share: a measured bound sets the limit."""

from __future__ import annotations

from pachflow_stagekit.engine_choice import ARROW, MB, SPARK, MemoryBound, choose

BOUND = MemoryBound(fixed=100 * MB, per_byte=4, budget=500 * MB)


def test_the_default_limit_is_the_largest_input_within_the_budget() -> None:
    assert BOUND.max_bytes == 100 * MB
    assert BOUND.peak(BOUND.max_bytes) == BOUND.budget
    assert BOUND.peak(BOUND.max_bytes + 1) > BOUND.budget


def test_arrow_up_to_the_limit_spark_beyond_and_when_off() -> None:
    fits = choose(100 * MB, BOUND.max_bytes, BOUND, what="partials ")
    assert fits.engine == ARROW
    assert fits.reason == "partials 100.0 MB <= 100.0 MB: fits in memory, peak <= 500.0 MB"
    beyond = choose(100 * MB + 1, BOUND.max_bytes, BOUND)
    assert beyond.engine == SPARK and "too large for the Arrow engine's memory" in beyond.reason
    off = choose(0, 0, BOUND)
    assert off.engine == SPARK and off.reason == "Arrow is off (--arrow-max-bytes 0)"
