"""train's data in this process (the Arrow engine): etl's partials merged with pyarrow,
held out, surveyed and sampled with numpy, so Spark sees only the rows the fit uses and
the evaluation scores the saved tree here (pachflow_features.saved_trees).

The same rules as the Spark engine (pachflow_train.data), on arrays: the held-out side
and the digest are Spark's xxhash64 (pachflow_features.hashing, bit for bit), the fit's
sample is the same hash rule (data.sampled_mask), so both engines hold out, survey and
fit on the same customers; tests assert it.
"""

from __future__ import annotations

import itertools
import math
import posixpath
from dataclasses import dataclass, replace
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
#: The fit's partitions are cut between runs of this many rows (`FitSample.slices`):
#: Spark's default spark.sql.execution.arrow.maxRecordsPerBatch.
ARROW_BATCH_ROWS = 10_000
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


@dataclass(frozen=True)
class FitSample:
    """data.training_rows's rows (every training fraud row, the hash-sampled share of the
    others, their weights), chosen here: no Spark needed, so they are drawn (and written,
    `written`) while the JVM boots. Held as an Arrow table, or once written as Parquet
    files, one per partition of the fit (then the table is let go)."""

    table: pa.Table | None  # MODEL_INPUTS, LABEL, [WEIGHT], [ID_COLUMN with `partitions`]
    schema: pa.Schema
    slices: tuple[tuple[int, int], ...]  # the fit's partitions as row ranges (fit_layout)
    positive_weight: float
    negative_share: float
    negative_weight: float
    files: tuple[Path, ...] = ()  # `written`: file i holds slices[i]

    @property
    def rows(self) -> int:
        return self.slices[-1][1]


def fit_layout(rows: int) -> tuple[tuple[int, int], ...]:
    """The fit's partitions as row ranges: ceil(rows / FIT_ROWS_PER_PARTITION) runs of
    consecutive rows, cut between whole ARROW_BATCH_ROWS batches (runs [i * b // k,
    (i + 1) * b // k) of the b batches). MLlib draws its split candidates per partition,
    so the layout decides the tree above 10,000 rows. This is the layout train 0.6.4's
    createDataFrame gave the fit in-process (one partition per Arrow batch, coalesced)
    for samples of up to 200,000 rows (one partition) and of more than Spark's 48 MB
    spark.sql.execution.arrow.localRelationThreshold (~270,000 rows; full-size PaySim's
    are ~514,000); between, 0.6.4's were two halves (a local relation, one slice per
    core), so those fits may draw other split candidates now."""
    batches = math.ceil(rows / ARROW_BATCH_ROWS)
    k = math.ceil(max(rows, 1) / FIT_ROWS_PER_PARTITION)
    cuts = [min(rows, (i * batches // k) * ARROW_BATCH_ROWS) for i in range(k)] + [rows]
    return tuple(itertools.pairwise(cuts))


def fit_sample(
    customers: Customers,
    counts: data.ClassCounts,
    class_weight: str,
    negative_fraction: float,
    seed: int,
    partitions: int | None = None,
    min_negatives: int = data.MIN_SAMPLED_NEGATIVES,
) -> FitSample:
    """The fit's rows, drawn by data.sampled_mask_of_hashes (the Spark engine's rule), in
    customer order; with `partitions`, with their ids (`training_rows` lays them out by
    customer, as the Spark engine does)."""
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
    table = pa.table(columns)
    return FitSample(table, table.schema, fit_layout(len(rows)), pos_weight, share, neg_weight)


def written(sample: FitSample, folder: Path) -> FitSample:
    """The sample as Parquet files in `folder`, one per partition of the fit, each one
    row group (what `training_rows` reads back in order), without its table."""
    import pyarrow.parquet as pq

    assert sample.table is not None, "written already"
    folder.mkdir()  # in a scratch folder that exists: never re-made after its removal
    files = []
    for i, (start, stop) in enumerate(sample.slices):
        file = folder / f"part-{i:05d}.parquet"
        part = sample.table.slice(start, stop - start)
        # uncompressed: written and read at disk speed; the folder is removed after the run
        pq.write_table(part, file, row_group_size=max(part.num_rows, 1), compression="none")
        files.append(file)
    return replace(sample, table=None, files=tuple(files))


def training_rows(
    spark: SparkSession, sample: FitSample, partitions: int | None = None
) -> data.TrainingRows:
    """The sample in Spark, assembled and cached: the only rows Spark holds.

    Written (`written`: for a Spark that reads this machine's files: in-process, or a
    Spark Connect server on loopback), file i is read as partition i: the fit's layout
    is `fit_layout` on either. Else the table crosses to Spark as Arrow (createDataFrame):
    in-process its partitions coalesce into the same slices; a Connect server (an
    upload) lays the rows out its own way. With `partitions`, the rows are laid out as
    the Spark engine lays them out (by customer, sorted), so the same seed gives the
    same model on every Spark."""
    if sample.files:
        df = _read_in_order(spark, sample.schema, sample.files)
    else:
        assert sample.table is not None
        # one partition per ARROW_BATCH_ROWS rows (Spark's default batch size), coalesced
        df = spark.createDataFrame(sample.table).coalesce(len(sample.slices))
    if partitions is not None:
        df = df.repartition(partitions, ID_COLUMN).sortWithinPartitions(ID_COLUMN)
    return data.TrainingRows(
        data.assembled(df).cache(),
        sample.positive_weight,
        sample.negative_share,
        sample.negative_weight,
    )


#: Spark 4 zips the partitions of a union whose inputs are partitioned alike (here: one
#: partition each) into one partition; off, a union's partitions are its inputs' in order.
UNION_OUTPUT_PARTITIONING = "spark.sql.unionOutputPartitioning"


def _read_in_order(spark: SparkSession, schema: pa.Schema, files: tuple[Path, ...]) -> Any:
    """The files as one DataFrame with partition i = file i's rows in file order (a
    Parquet scan packs files into partitions by size); the schema given, so no job
    reads their footers."""
    from functools import reduce

    from pyspark.sql.pandas.types import from_arrow_schema

    spark.conf.set(UNION_OUTPUT_PARTITIONING, "false")
    struct = from_arrow_schema(schema)
    parts = [spark.read.schema(struct).parquet(str(file)).coalesce(1) for file in files]
    return reduce(lambda a, b: a.union(b), parts)


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
