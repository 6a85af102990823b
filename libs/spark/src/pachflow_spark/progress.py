"""Progress of long Spark actions: a line every few seconds with the running stages' tasks,
so a person (or Pachyderm's job log) sees a 20 s write moving instead of silence.

Spark's console progress bar is off in the stages (it redraws one terminal line, which
turns into noise in logs); this reads the same counters from the status tracker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark import StatusTracker
    from pyspark.sql import SparkSession

#: Seconds between progress lines.
EVERY = 5.0


def running_stages(tracker: StatusTracker) -> str:
    """`stage 2: 3/6 tasks, stage 3: 0/6 tasks` for the active stages, "" when none."""
    parts = []
    for stage_id in sorted(tracker.getActiveStageIds()):
        info = tracker.getStageInfo(stage_id)
        if info is not None:
            parts.append(f"stage {stage_id}: {info.numCompletedTasks}/{info.numTasks} tasks")
    return ", ".join(parts)


@contextmanager
def spark_progress(
    spark: SparkSession, report: Callable[[str], None], every: float = EVERY
) -> Iterator[None]:
    """While the block runs, call `report` every `every` seconds with what Spark is doing
    (nothing while no stage is active, and nothing at all for a block shorter than that)."""
    tracker = spark.sparkContext.statusTracker()
    stop = threading.Event()
    start = time.monotonic()

    def watch() -> None:
        while not stop.wait(every):
            try:
                stages = running_stages(tracker)
            except Exception:  # the JVM is gone: the block itself will say why
                return
            if stages:
                report(f"Spark running for {time.monotonic() - start:.0f} s: {stages}")

    watcher = threading.Thread(target=watch, name="spark-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=every)
