"""Progress of long Spark actions: a line every few seconds with the running stages' tasks,
so a person (or Pachyderm's job log) sees a 20 s write moving instead of silence.

Spark's console progress bar is off in the stages (it redraws one terminal line, which
turns into noise in logs); this reads the same counters: from the status tracker on a
classic session, and on a Spark Connect session (no SparkContext on the client) from the
progress the server streams with each running query (`registerProgressHandler`), which
carries the same stage ids and task counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pachflow_stagekit.ticking import ticking

if TYPE_CHECKING:
    from pyspark import StatusTracker
    from pyspark.sql import SparkSession

#: Seconds between progress lines.
EVERY = 5.0


def format_stages(stages: list[tuple[int, int, int]]) -> str:
    """(stage id, completed tasks, tasks) -> `stage 2: 3/6 tasks, stage 3: 0/6 tasks`."""
    return ", ".join(f"stage {i}: {done}/{total} tasks" for i, done, total in sorted(stages))


def running_stages(tracker: StatusTracker) -> str:
    """`stage 2: 3/6 tasks, stage 3: 0/6 tasks` for the active stages, "" when none."""
    stages = []
    for stage_id in tracker.getActiveStageIds():
        info = tracker.getStageInfo(stage_id)
        if info is not None:
            stages.append((stage_id, info.numCompletedTasks, info.numTasks))
    return format_stages(stages)


class ConnectStages:
    """A Spark Connect progress handler that keeps the stages of the latest update."""

    def __init__(self) -> None:
        self.current = ""

    def __call__(self, stages: Any, inflight_tasks: int, operation_id: Any, done: bool) -> None:
        running = [
            (s.stage_id, s.num_completed_tasks, s.num_tasks) for s in stages or () if not s.done
        ]
        self.current = "" if done else format_stages(running)

    def __str__(self) -> str:
        return self.current


@contextmanager
def spark_progress(
    spark: SparkSession, report: Callable[[str], None], every: float = EVERY
) -> Iterator[None]:
    """While the block runs, call `report` every `every` seconds with what Spark is doing
    (nothing while no stage is active, and nothing at all for a block shorter than that)."""
    from pachflow_spark.session import is_connect

    connect = is_connect(spark)
    if connect:
        handler = ConnectStages()
        # pyspark annotates its ProgressHandler base; any callable handler works
        spark.registerProgressHandler(handler)  # type: ignore[arg-type]
        read: Callable[[], str] = handler.__str__
    else:
        tracker = spark.sparkContext.statusTracker()
        read = lambda: running_stages(tracker)  # noqa: E731
    start = time.monotonic()

    def watch() -> bool:
        try:
            stages = read()
        except Exception:  # the JVM is gone: the block itself will say why
            return False
        if stages:
            report(f"Spark running for {time.monotonic() - start:.0f} s: {stages}")
        return True

    try:
        with ticking(every, watch, "spark-progress", wait_s=every):
            yield
    finally:
        if connect:
            spark.removeProgressHandler(handler)  # type: ignore[arg-type]
