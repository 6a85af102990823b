"""Where train's data lives: in this process (Arrow: pachflow_train.arrow_data) when etl's
partials fit the memory budget, else in Spark (pachflow_train.data). Decided from the
files' sizes (footers and listings, no rows read) before Spark starts.

Either way Spark MLlib fits the model; the Arrow engine hands it only the sampled fit
rows and scores the saved tree here, so no Spark pass reads every customer.
"""

from __future__ import annotations

from pathlib import Path

from pachflow_spark.object_store import filesystem_of
from pachflow_stagekit.engine_choice import ARROW, MB, SPARK, EngineChoice, MemoryBound, choose

__all__ = ["ARROW", "ARROW_BOUND", "ARROW_MAX_BYTES", "SPARK", "choose_engine", "total_bytes"]

#: The measured bound (bench/RESULTS.md "## train engines"): train's Python process on
#: the Arrow engine peaked at 668 MB on 76 MB of partials (1 M PaySim rows) and 2,242 MB
#: on 412.5 MB (6.36 M rows), ~4.7 bytes per partials byte (the merged features as one
#: float64 matrix, the ids, hashes and masks) over ~310 MB of interpreter and imports;
#: both rounded up here. The budget: pipelines/train.json requests 4Gi for train; its Spark
#: driver (1536m), holding only the fit's sampled rows, stays under ~1.6 GB resident.
ARROW_BOUND = MemoryBound(fixed=400 * MB, per_byte=5, budget=2560 * MB)
#: Largest total partials size (bytes) the Arrow engine takes by default
#: (`--arrow-max-bytes`): 432 MB; full-size PaySim's partials are 412.5 MB.
ARROW_MAX_BYTES = ARROW_BOUND.max_bytes
#: The classifiers whose saved model pachflow_features.saved_trees scores; Spark scores GBT.
ARROW_CLASSIFIERS = ("decision_tree", "random_forest")


def total_bytes(files: list[Path | str]) -> int:
    """The files' summed sizes: local paths or object-store URLs (one listing call each)."""
    total = 0
    for file in files:
        filesystem, path = filesystem_of(file)
        total += filesystem.get_file_info(path).size or 0
    return total


def choose_engine(
    size: int, arrow_max_bytes: int, classifier: str = "decision_tree"
) -> EngineChoice:
    """Arrow for partials of at most `arrow_max_bytes` bytes in all, else Spark (0: Spark);
    Spark for a classifier only Spark scores."""
    if arrow_max_bytes and classifier not in ARROW_CLASSIFIERS:
        return EngineChoice(SPARK, f"{classifier} models are scored by Spark")
    return choose(size, arrow_max_bytes, ARROW_BOUND, what="partials ")
