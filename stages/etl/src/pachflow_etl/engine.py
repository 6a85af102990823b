"""Which engine computes a source file's partials: Arrow in this process when the file
fits the memory budget, Spark otherwise. Decided from the file's size on disk, known
before a byte of data is read.

Measured (bench/bench_etl_memory.py, bench/RESULTS.md "## etl engine memory", split's
PaySim Parquet files of 0.1 M to 3 M rows): the etl process's peak RSS on the Arrow
engine is at most 528 MB + 17.5 x the input file's bytes, and Arrow computes a file in a
fraction of a Spark job's time (1 M rows: 3.0 s for the whole process against 22.6 s with
Spark, JVM start included). So every file whose bound (ARROW_BOUND) fits its budget goes to
Arrow; only larger ones start Spark.
"""

from __future__ import annotations

from pachflow_etl.inputs import Source
from pachflow_stagekit.engine_choice import ARROW, MB, SPARK, EngineChoice, MemoryBound, choose

__all__ = ["ARROW", "ARROW_BOUND", "ARROW_MAX_BYTES", "SPARK", "EngineChoice", "choose_engine"]

#: The measured bound, rounded up: the process's peak RSS on the Arrow engine is at most
#: 530 MB (interpreter, imports, what the first datum loads) + 18 bytes per byte of input
#: file (the peaks are concave in the size: small files cost more per byte). The budget:
#: pipelines/etl.json requests 1536Mi per worker; a worker whose datums all fit Arrow
#: stays within it with room to spare (one that also ran a too-large datum keeps Spark's
#: JVM too: 1g driver).
ARROW_BOUND = MemoryBound(fixed=530 * MB, per_byte=18, budget=1024 * MB)
#: Largest source file (bytes) the Arrow engine takes by default (`--arrow-max-bytes`):
#: 28,777,585 bytes, ~650,000 PaySim rows; a full-size PaySim shard (16 of 6.36 M rows)
#: is ~400,000 rows, 17.8-17.9 MB.
ARROW_MAX_BYTES = ARROW_BOUND.max_bytes


def choose_engine(source: Source, arrow_max_bytes: int) -> EngineChoice:
    """Arrow for a file of at most `arrow_max_bytes` bytes, else Spark (0: always Spark)."""
    return choose(source.size, arrow_max_bytes, ARROW_BOUND)
