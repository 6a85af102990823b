"""train's data in this process (the Arrow engine): etl's partials merged with pyarrow,
held out, surveyed and sampled with numpy, so Spark sees only the rows the fit uses and
the evaluation scores the saved tree here (pachflow_features.saved_trees).

The same rules as the Spark engine (pachflow_train.data), on arrays: the held-out side
and the digest are Spark's xxhash64 (pachflow_features.hashing, bit for bit), the fit's
sample is the same hash rule (data.sampled_mask), so both engines hold out, survey and
fit on the same customers; tests assert it.
"""

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from pachflow_contracts import ID_COLUMN, LABEL_COLUMN, MODEL_INPUTS
from pachflow_spark.object_store import open_input
from pachflow_train import data

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from pachflow_train.classifier import Evaluated

#: The fit's rows per Spark partition (tasks big enough to outweigh a task's overhead).
FIT_ROWS_PER_PARTITION = 200_000
#: Rows scored per call of the scorer (views of the input matrix: no copy).
SCORE_BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class Customers:
    """One row per customer, as arrays: what `data.prepare` makes as Spark columns."""

    ids: pa.ChunkedArray  # nameOrig
    inputs: np.ndarray  # float64, one column per MODEL_INPUTS (what VectorAssembler makes)
    label: np.ndarray  # float64 0.0/1.0, as Spark ML wants it (data.LABEL)
    is_test: np.ndarray  # bool: held out (data.HOLDOUT_RULE)
    customer_hash: np.ndarray  # uint64: xxhash64(nameOrig), the held-out set's digest

    def __len__(self) -> int:
        return len(self.label)


def load_split(files: list[Path | str], test_fraction: float, seed: int) -> Customers:
    """etl's partials files merged into one row per customer (pachflow_features), with
    each customer's side of the split: data.HOLDOUT_RULE, computed as Spark does.

    Merged shard by shard (split keeps a customer's rows in one shard, so each shard
    directory merges alone) straight into one float64 matrix: peak memory is the matrix
    and one shard's tables, not every shard's tables and a copy of them."""
    from pachflow_features.arrow import read_features_table
    from pachflow_features.hashing import fold_ints, xxhash64

    shards = _by_directory(files)
    rows_at_most = sum(_rows(f) for f in files)  # >= customers: a merge only removes rows
    inputs = np.empty((rows_at_most, len(MODEL_INPUTS)))
    ids, labels, n = [], [], 0
    for shard in shards:
        table = read_features_table(shard)
        rows = slice(n, n + table.num_rows)
        for j, column in enumerate(MODEL_INPUTS):
            inputs[rows, j] = table[column].to_numpy()
        ids.extend(table[ID_COLUMN].chunks)
        labels.append(table[LABEL_COLUMN].to_numpy())
        n += table.num_rows
    id_column = pa.chunked_array(ids, pa.string())
    customer_hash = xxhash64(id_column)
    bucket = fold_ints(customer_hash, seed) & np.uint64(data.HOLDOUT_BUCKETS - 1)  # pmod 2^32
    return Customers(
        ids=id_column,
        inputs=inputs[:n],
        label=np.concatenate(labels).astype(np.float64) if labels else np.empty(0),
        is_test=bucket < test_fraction * data.HOLDOUT_BUCKETS,
        customer_hash=customer_hash,
    )


def _by_directory(files: list[Path | str]) -> list[list[Path | str]]:
    """The files grouped by their directory (a shard's), in order."""
    groups: dict[str, list[Path | str]] = {}
    for file in files:
        groups.setdefault(posixpath.dirname(str(file)), []).append(file)
    return list(groups.values())


def _rows(file: Path | str) -> int:
    import pyarrow.parquet as pq

    with open_input(file) as source:
        return int(pq.read_metadata(source).num_rows)


def survey(customers: Customers) -> data.Survey:
    """data.survey's counts, digest and training ranges per class, from the arrays."""
    label, is_test = customers.label, customers.is_test
    positive = label == 1.0
    digest = int(np.bitwise_xor.reduce(customers.customer_hash[is_test], initial=np.uint64(0)))
    counts = data.ClassCounts(
        train_pos=int(np.count_nonzero(~is_test & positive)),
        train_neg=int(np.count_nonzero(~is_test & ~positive)),
        test_pos=int(np.count_nonzero(is_test & positive)),
        test_neg=int(np.count_nonzero(is_test & ~positive)),
        test_digest=f"{digest:016x}",
    )
    ranges: dict[int, tuple[list[float], list[float]]] = {}
    for value in np.unique(label[~is_test]):
        rows = ~is_test & (label == value)
        lows, highs = [], []
        for j in range(len(MODEL_INPUTS)):  # a column at a time: no copy of every row
            column = customers.inputs[:, j][rows]
            lows.append(float(column.min()))
            highs.append(float(column.max()))
        ranges[int(value)] = (lows, highs)
    return data.Survey(counts, ranges)


def training_rows(
    spark: SparkSession,
    customers: Customers,
    counts: data.ClassCounts,
    class_weight: str,
    negative_fraction: float,
    seed: int,
    partitions: int | None = None,
    min_negatives: int = data.MIN_SAMPLED_NEGATIVES,
) -> data.TrainingRows:
    """data.training_rows's rows (every training fraud row, the hash-sampled share of the
    others, their weights), chosen here and handed to Spark as one Arrow table: the only
    rows Spark holds. With `partitions`, laid out as the Spark engine lays them out
    (by customer, sorted), so the same seed gives the same model on every Spark."""
    share = data.negative_share(counts.train_neg, negative_fraction, min_negatives)
    pos_weight, neg_weight = data.positive_weight(counts, class_weight), 1.0 / share
    training = ~customers.is_test
    label = customers.label
    keep = training & data.sampled_mask_of_hashes(customers.customer_hash, label, share, seed)
    rows = np.flatnonzero(keep)
    sample = customers.inputs[rows]
    columns: dict[str, Any] = {c: sample[:, j] for j, c in enumerate(MODEL_INPUTS)}
    columns[data.LABEL] = label[rows]
    if (pos_weight, neg_weight) != (1.0, 1.0):
        columns[data.WEIGHT] = np.where(label[rows] == 1.0, pos_weight, neg_weight)
    if partitions is not None:
        columns[ID_COLUMN] = customers.ids.take(pa.array(rows))
    df = spark.createDataFrame(pa.table(columns))
    if partitions is not None:
        df = df.repartition(partitions, ID_COLUMN).sortWithinPartitions(ID_COLUMN)
    else:  # createDataFrame slices by the default parallelism (64 on local[2]): every
        # pass of the fit would run that many tasks of a few thousand rows each
        df = df.coalesce(math.ceil(max(len(rows), 1) / FIT_ROWS_PER_PARTITION))
    return data.TrainingRows(data.assembled(df).cache(), pos_weight, share, neg_weight)


def evaluate(model_dir: Path, customers: Customers) -> Evaluated:
    """classifier.evaluate's result, scored here by the saved tree(s) in `model_dir` (the
    fitted model as `model.write().save` wrote it), in batches of SCORE_BATCH_ROWS."""
    from pachflow_features.saved_trees import SavedTrees
    from pachflow_train.classifier import evaluate_arrays

    trees = SavedTrees.load(model_dir)
    n = len(customers)
    score, prediction = np.empty(n), np.empty(n)
    for start in range(0, n, SCORE_BATCH_ROWS):
        batch = slice(start, min(start + SCORE_BATCH_ROWS, n))
        score[batch], prediction[batch] = trees.score(customers.inputs[batch])
    held_out_ids = customers.ids.filter(pa.array(customers.is_test))
    return evaluate_arrays(score, customers.label, customers.is_test, held_out_ids, prediction)
