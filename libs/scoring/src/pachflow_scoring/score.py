"""One PaySim CSV file scored: the rows checked as split checks them, one partials row per
customer as etl computes it, the features as train reads them, then the model.

Predictions are per customer, because that is what the model's features describe (each
customer's transactions summarised: counts, means, maxima, steps); a customer's score
covers all of their transactions in the file, and `n_tx` says how many that is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pachflow_contracts import (
    DECISION_COLUMN,
    ID_COLUMN,
    LABEL_COLUMN,
    PREDICTIONS,
    SCORE_COLUMN,
    TRANSACTIONS,
)
from pachflow_features import read_features
from pachflow_features.partials import arrow_partials
from pachflow_features.scores import fraud_score
from pachflow_paysim.checked import Counts, checked_batches
from pachflow_paysim.reader import DEFAULT_BLOCK_BYTES
from pachflow_scoring.registry import ScoringModel
from pachflow_stagekit import progress

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import SparkSession

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


def score_file(
    path: Path,
    model: ScoringModel,
    get_spark: Callable[[], SparkSession],
    get_model: Callable[[], PipelineModel],
    workdir: Path,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> Scored:
    """Score every customer of `path`. `get_spark`/`get_model` are only called when the file
    has rows (a header-only file needs no JVM); `workdir` holds the partials file Spark
    reads (the same reader train uses) and is left for the caller to remove."""
    started = time.monotonic()
    transactions, counts = read_transactions(path, block_bytes)
    if not transactions.num_rows:
        predictions = PREDICTIONS.stamped_schema().empty_table()
    else:
        partials = workdir / f"{path.name}.partials.parquet"
        pq.write_table(arrow_partials(transactions), partials)
        del transactions
        features = read_features(get_spark(), [partials])
        predictions = _predict(get_model(), features, model)
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


def _predict(pipeline: PipelineModel, features: Any, model: ScoringModel) -> pa.Table:
    """The model's score per customer, decided at the model's threshold, sorted by
    customer (the same rows always give the same file)."""
    scored = pipeline.transform(features).select(
        ID_COLUMN, "n_tx", fraud_score().alias(SCORE_COLUMN), LABEL_COLUMN
    )
    table = scored.toArrow().sort_by(ID_COLUMN)
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
    return pa.Table.from_arrays([pc.cast(columns[f.name], f.type) for f in schema], schema=schema)
