"""One PaySim CSV file scored: the rows checked as split checks them, one partials row per
customer as etl computes it, the features as train reads them, then the model: walked with
numpy for a tree model pachflow_features.saved_trees reads (no JVM), Spark's transform
otherwise; both give the same predictions file.

Predictions are per customer, because that is what the model's features describe (each
customer's transactions summarised: counts, means, maxima, steps); a customer's score
covers all of their transactions in the file, and `n_tx` says how many that is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pachflow_contracts import (
    DECISION_COLUMN,
    ID_COLUMN,
    LABEL_COLUMN,
    MODEL_INPUTS,
    PREDICTIONS,
    SCORE_COLUMN,
    TRANSACTIONS,
)
from pachflow_features.arrow import features_of_partials
from pachflow_features.partials import arrow_partials
from pachflow_paysim.checked import Counts, checked_batches
from pachflow_paysim.reader import DEFAULT_BLOCK_BYTES
from pachflow_scoring.registry import ScoringModel
from pachflow_stagekit import progress

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import SparkSession

    from pachflow_features.saved_trees import SavedTrees

STAGE = "score"


@dataclass(frozen=True)
class Scored:
    """One file's predictions (contract `predictions` v1) and its counts."""

    source: str
    predictions: pa.Table
    rows_read: int
    blank_lines: int
    seconds: float

    @property
    def customers(self) -> int:
        return int(self.predictions.num_rows)

    @property
    def flagged(self) -> int:
        return int(pc.sum(pc.cast(self.predictions[DECISION_COLUMN], pa.int64())).as_py() or 0)

    @property
    def labelled_fraud(self) -> int:
        return int(
            pc.sum(pc.greater(self.predictions[LABEL_COLUMN], 0).cast(pa.int64())).as_py() or 0
        )

    @property
    def flagged_labelled_fraud(self) -> int:
        both = pc.and_(
            self.predictions[DECISION_COLUMN], pc.greater(self.predictions[LABEL_COLUMN], 0)
        )
        return int(pc.sum(both.cast(pa.int64())).as_py() or 0)

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "blank_lines": self.blank_lines,
            "customers": self.customers,
            "flagged": self.flagged,
            "labelled_fraud": self.labelled_fraud,
            "flagged_labelled_fraud": self.flagged_labelled_fraud,
        }


def read_transactions(
    path: Path, block_bytes: int = DEFAULT_BLOCK_BYTES
) -> tuple[pa.Table, Counts]:
    """Every row of one PaySim CSV (plain or .gz), checked strictly: BadInput (exit 2) names
    file, line, column and value of the first bad one, before anything is written."""
    counts = Counts()
    batches = [c.typed for c in checked_batches(path, block_bytes, counts, strict=True)]
    schema = TRANSACTIONS.stamped_schema()
    return pa.Table.from_batches(batches, schema=schema), counts


#: (a file's partials, one row per customer; a folder for what Spark reads) -> each
#: customer's ID_COLUMN, n_tx, SCORE_COLUMN (the model's fraud score) and LABEL_COLUMN.
CustomerScores = Callable[[pa.Table, Path], pa.Table]


def numpy_scores(trees: SavedTrees) -> CustomerScores:
    """Scores with numpy (no JVM): the features merged with pyarrow (as
    `read_features_table` merges one file's partials) and the saved trees walked
    (`SavedTrees.score_columns`): Spark's fraud score, bit for bit."""

    def scores(partials: pa.Table, workdir: Path) -> pa.Table:
        features = features_of_partials(partials)
        score, _ = trees.score_columns([features[c].to_numpy() for c in MODEL_INPUTS])
        return pa.table(
            {
                ID_COLUMN: features[ID_COLUMN],
                "n_tx": features["n_tx"],
                SCORE_COLUMN: score,
                LABEL_COLUMN: features[LABEL_COLUMN],
            }
        )

    return scores


def spark_scores(spark: SparkSession, pipeline: PipelineModel) -> CustomerScores:
    """Scores with Spark: the partials written to `workdir`, read as train reads
    features (`read_features`), the PipelineModel's transform and `fraud_score`."""

    def scores(partials: pa.Table, workdir: Path) -> pa.Table:
        from pachflow_features import read_features
        from pachflow_features.scores import fraud_score

        path = workdir / "partials.parquet"
        pq.write_table(partials, path)
        features = read_features(spark, [path])
        scored = pipeline.transform(features).select(
            ID_COLUMN, "n_tx", fraud_score().alias(SCORE_COLUMN), LABEL_COLUMN
        )
        return scored.toArrow()

    return scores


def score_file(
    path: Path,
    model: ScoringModel,
    get_scores: Callable[[], CustomerScores],
    workdir: Path,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> Scored:
    """Score every customer of `path`. `get_scores` is only called when the file has rows
    (a header-only file needs no model); `workdir` may hold what Spark reads and is left
    for the caller to remove."""
    started = time.monotonic()
    transactions, counts = read_transactions(path, block_bytes)
    if not transactions.num_rows:
        predictions = PREDICTIONS.stamped_schema().empty_table()
    else:
        partials = arrow_partials(transactions)
        del transactions
        predictions = _predictions(get_scores()(partials, workdir), model)
    scored = Scored(
        source=path.name,
        predictions=predictions,
        rows_read=counts.rows_read,
        blank_lines=counts.blank_lines,
        seconds=time.monotonic() - started,
    )
    progress(
        STAGE,
        f"{path.name}: {scored.rows_read:,} transactions, {scored.customers:,} customers, "
        f"{scored.flagged:,} flagged at {model.threshold:g} by {model.label} "
        f"in {scored.seconds:.1f} s",
    )
    return scored


def _predictions(scored: pa.Table, model: ScoringModel) -> pa.Table:
    """Each customer's score decided at the model's threshold, sorted by customer (the
    same rows always give the same file)."""
    table = scored.sort_by(ID_COLUMN)
    n = table.num_rows
    score = table[SCORE_COLUMN]
    columns = {
        ID_COLUMN: table[ID_COLUMN],
        "n_tx": table["n_tx"],
        SCORE_COLUMN: score,
        DECISION_COLUMN: pc.greater_equal(score, model.threshold),
        LABEL_COLUMN: table[LABEL_COLUMN],
        "model_name": pa.chunked_array([pa.repeat(pa.scalar(model.name), n)]),
        "model_version": pa.chunked_array([pa.repeat(pa.scalar(model.version), n)]),
    }
    schema = PREDICTIONS.stamped_schema()
    arrays = [pc.cast(columns[f.name], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema).combine_chunks()
