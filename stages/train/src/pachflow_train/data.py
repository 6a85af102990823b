"""Reading etl's partials merged into features (pachflow_features), checking them, the
train/test split by customer (a seeded hash of the customer id), and the rows (and
instance weights) the classifier is fitted on."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow_contracts import ID_COLUMN, LABEL_COLUMN, MODEL_INPUTS, PARTIALS, ContractError
from pachflow_contracts.run_tags import TAG_HOLDOUT_DIGEST, TAG_HOLDOUT_RULE
from pachflow_contracts.worker_context import PachydermContext, fingerprint_entries
from pachflow_spark import SparkSettings
from pachflow_spark.object_store import (
    HADOOP_AWS,
    S3A_CLASS,
    classic_session_has_s3a,
    filesystem_of,
    hadoop_aws_package,
    list_objects,
    object_store_url,
    open_input,
    s3a_missing,
)
from pachflow_stagekit import BadInput, as_bad_input, find_files

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import Column, DataFrame, SparkSession

LABEL = "label"  # the label as double, as Spark ML wants it
WEIGHT = "weight"
IS_TEST = "is_test"
HELD_OUT = "held_out_customer"  # nameOrig of a held-out row, else null
CUSTOMER_HASH = "customer_hash"  # xxhash64 of the customer id: the held-out set's digest
#: The held-out side of a customer is xxhash64(nameOrig, seed) (Spark's, stable across
#: versions and machines) taken modulo HOLDOUT_BUCKETS, below test_fraction of them.
HOLDOUT_BUCKETS = 1 << 32
HOLDOUT_RULE = "xxhash64(nameOrig, {seed}) mod 2^32 < {fraction} * 2^32"
#: The fit's negative sample (`sampled_column`, `sampled_mask`): `sample_rule` fills it in.
SAMPLE_RULE = "label = 1 or (xxhash64(nameOrig, {seed}) >>> 11) / 2^53 < {share}"
FEATURES_VECTOR = "features"  # MODEL_INPUTS assembled into one vector, as Spark ML wants
MIN_POSITIVES_PER_PART = 1
#: Negative sampling never fits on fewer non-fraud rows than this: small data sets (tests,
#: the demo) train on every row, and a depth-5 tree has plenty to choose splits from.
MIN_SAMPLED_NEGATIVES = 100_000


@dataclass(frozen=True)
class ClassCounts:
    """Rows per class in each part of the split."""

    train_pos: int
    train_neg: int
    test_pos: int
    test_neg: int
    #: The held-out customers as a set: XOR of their ids' xxhash64, 16 hex digits (equal
    #: digests: the same test customers, whatever the order or partitioning).
    test_digest: str = ""

    @property
    def rows(self) -> int:
        return self.train_pos + self.train_neg + self.test_pos + self.test_neg

    @property
    def positives(self) -> int:
        return self.train_pos + self.test_pos


def check_input(input_dir: str | Path, spark: SparkSettings) -> None:
    """An object-store INPUT_DIR (the S3-gateway variant's `s3a://etl`) needs a Spark that
    reads s3a://: when the Spark train would use is a classic session from pyspark's jars
    without hadoop-aws, exit 2 at once naming the jar and how to add it (a Connect server
    reads with its own classpath: `s3a_errors` names it when it cannot)."""
    url = object_store_url(input_dir)
    if url is None or spark.endpoint.is_connect or classic_session_has_s3a(spark.conf):
        return
    package = hadoop_aws_package()
    raise BadInput(
        f"INPUT_DIR {url}: this Spark ({spark.endpoint.public_url}, pyspark's jars) cannot "
        f"read s3a://: the hadoop-aws jar ({package}, pyspark's Hadoop) is missing: add it "
        f"with --spark-conf spark.jars.packages={package} (from Maven Central) or "
        "spark.jars=<hadoop-aws and AWS SDK bundle jars>, or use a Spark Connect server that "
        "has it (--master sc://...)"
    )


@contextmanager
def s3a_errors(input_dir: str | Path, spark: SparkSettings) -> Iterator[None]:
    """A Spark that cannot read s3a:// (no hadoop-aws on its classpath: a Connect server
    started without it) is one exit-2 line naming it, not a JVM stack trace."""
    try:
        yield
    except Exception as exc:
        url = object_store_url(input_dir)
        if url is None or not s3a_missing(exc):
            raise
        raise BadInput(
            f"INPUT_DIR {url}: the Spark at {spark.endpoint.public_url} cannot read s3a:// "
            f"({S3A_CLASS} not found): its classpath needs the hadoop-aws jar "
            f"({hadoop_aws_package()}, the server's Hadoop) and the AWS SDK bundle: start "
            f"it with spark.jars.packages={HADOOP_AWS}:<its Hadoop version> "
            "(infra/spark/spark-connect.yaml does)"
        ) from None


def shown(input_dir: str | Path) -> str:
    """INPUT_DIR as the user gave it (click's Path turns `s3a://etl` into `s3a:/etl`)."""
    return object_store_url(input_dir) or str(input_dir)


def input_name(input_dir: str | Path) -> str:
    """The input's name: a directory's own (`etl` for /pfs/etl), an object-store URL's last
    part (the bucket of `s3a://etl`: Pachyderm's S3 gateway names a bucket after its input)."""
    url = object_store_url(input_dir)
    return Path(input_dir).resolve().name if url is None else url.rstrip("/").rsplit("/", 1)[-1]


def object_store_inputs(input_dir: str | Path) -> dict[str, str]:
    """{input name: URL} when INPUT_DIR is an object-store URL (a dataset input tag says
    the data was read from there), else {}."""
    url = object_store_url(input_dir)
    return {} if url is None else {input_name(url): url}


def job_context(stage: str, input_dir: str | Path, files: list[Path | str]) -> PachydermContext:
    """The Pachyderm job context (from the worker's env), or a local one whose input
    "commit" fingerprints what was read: a directory's files, or an object store's
    listing (key, size, mtime of every file read)."""
    name, url = input_name(input_dir), object_store_url(input_dir)
    if url is None:
        return PachydermContext.from_env(default_pipeline=stage, local_inputs={name: input_dir})
    filesystem, root = filesystem_of(url)
    infos = filesystem.get_file_info([filesystem_of(f)[1] for f in files])
    listing = ((i.path[len(root) :].lstrip("/"), i.size or 0, i.mtime_ns or 0) for i in infos)
    return PachydermContext.from_env(
        default_pipeline=stage,
        local_inputs={name: url},
        local_commits={name: fingerprint_entries(listing)},
    )


def feature_files(input_dir: str | Path) -> list[Path | str]:
    """Every Parquet file under INPUT_DIR (a directory, or an object-store URL read through
    pyarrow's S3 client: pachflow_spark.object_store), each footer checked against
    `partials` v1 (exit 2; a `features` v1 file of an etl before 0.2 is named as such).
    The values are checked where they are read: `check_values` before the Spark engine
    reads them, or as the Arrow engine reads them (arrow_data.load_split)."""
    what = "partials Parquet files (etl's output)"
    url = object_store_url(input_dir)
    files: list[Path | str] = []
    if url is None:
        files.extend(find_files(input_dir, [".parquet"], what))
    else:
        files.extend(list_objects(url, [".parquet"], what))
    with as_bad_input(ContractError):
        for file in files:
            PARTIALS.check_file(file, open_input)
    return files


def check_values(files: list[Path | str]) -> None:
    """Every file's values against `partials` v1, batch by batch (exit 2 naming file,
    column and row), before Spark reads them."""
    with as_bad_input(ContractError):
        PARTIALS.check_files(files, open_input)


def assembler() -> VectorAssembler:
    """MODEL_INPUTS -> FEATURES_VECTOR: the first stage of every fitted model."""
    from pyspark.ml.feature import VectorAssembler

    return VectorAssembler(inputCols=list(MODEL_INPUTS), outputCol=FEATURES_VECTOR)


def holdout_rule(test_fraction: float, seed: int) -> str:
    """The assignment rule in words, logged with every run: two runs with the same rule
    hold out the same customers of the data they share."""
    return HOLDOUT_RULE.format(seed=seed, fraction=test_fraction)


def holdout_record(counts: ClassCounts, test_fraction: float, seed: int) -> dict[str, str]:
    """What run.json says about the held-out customers (their count is `test_rows`)."""
    return {"rule": holdout_rule(test_fraction, seed), "digest": counts.test_digest}


def holdout_tags(holdout: dict[str, str]) -> dict[str, str]:
    return {TAG_HOLDOUT_RULE: holdout["rule"], TAG_HOLDOUT_DIGEST: holdout["digest"]}


def holdout_of_tags(tags: dict[str, str]) -> dict[str, str]:
    """The run's holdout record back from its tags (a reused run)."""
    return {"rule": tags.get(TAG_HOLDOUT_RULE, ""), "digest": tags.get(TAG_HOLDOUT_DIGEST, "")}


def prepare(features: DataFrame, test_fraction: float, seed: int) -> DataFrame:
    """FEATURES rows -> (ID_COLUMN, MODEL_INPUTS, LABEL as double, IS_TEST, CUSTOMER_HASH,
    HELD_OUT): HELD_OUT is nameOrig on held-out rows, null on the others (what train's
    held-out scores file names; the evaluation groups the training rows on it), and
    ID_COLUMN is kept for the negative sample's draw (`training_rows`). The inputs stay
    columns: the model assembles them itself (its first stage), and only the rows the fit
    uses are assembled for it (`training_rows`).

    IS_TEST is a function of the customer alone (a seeded hash of nameOrig), so a
    customer's side never changes as data grows or shrinks: a customer held out by one
    model version is held out by every later one with the same seed and fraction, and
    their metrics are made on comparable customers. Both classes are split by the same
    rule: a stratified split in expectation.
    """
    from pyspark.sql import functions as F

    bucket = F.pmod(F.xxhash64(F.col(ID_COLUMN), F.lit(seed)), F.lit(HOLDOUT_BUCKETS))
    is_test = bucket < F.lit(test_fraction * HOLDOUT_BUCKETS)
    return features.select(
        ID_COLUMN,
        *MODEL_INPUTS,
        F.col(LABEL_COLUMN).cast("double").alias(LABEL),
        is_test.alias(IS_TEST),
        F.xxhash64(F.col(ID_COLUMN)).alias(CUSTOMER_HASH),
        F.when(is_test, F.col(ID_COLUMN)).alias(HELD_OUT),
    )


def load_split(
    spark: SparkSession,
    files: list[Path | str],
    test_fraction: float,
    seed: int,
    partitions: int | None = None,
) -> DataFrame:
    """`prepare`d features of the partials files (merged: one row per customer), not
    cached: each pass (the survey, the training sample, the evaluation) reads the files
    again, and only the rows the fit passes over many times are cached
    (`training_rows`). Caching all of them held every customer's assembled vector in the
    driver (~1.3 GB more peak memory at PaySim's size) for three passes that each read
    them once.
    """
    from pachflow_contracts.features import ID_COLUMN
    from pachflow_features import read_features

    features = read_features(spark, files)
    # Parquet splits (128 MB) already give every core work on full-size data; a repartition
    # would shuffle every row once more, so it is done only when asked for. Then it is by
    # customer and sorted: every Spark (local, a cluster, a Connect server) lays the rows
    # out alike, so Spark's own sampling of split candidates (trees on more than 10,000
    # rows) gives the same model everywhere. The hold-out and the negative sample are
    # hashes of the customer: the same whatever the layout.
    if partitions is not None:
        features = features.repartition(partitions, ID_COLUMN).sortWithinPartitions(ID_COLUMN)
    return prepare(features, test_fraction, seed)


def example_rows(files: list[Path | str], n: int = 5) -> pd.DataFrame:
    """MODEL_INPUTS of the first `n` partial rows, read with pyarrow from the first files
    that have rows, as features (each row one file's part of a customer): the logged
    model's input example, without a second Spark read."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pachflow_features import features_of_partials

    frames, rows = [], 0
    for path in files:
        with open_input(path) as source:
            batches = pq.ParquetFile(source).iter_batches(batch_size=n, columns=PARTIALS.columns)
            for batch in batches:
                features = features_of_partials(pa.Table.from_batches([batch]))
                frames.append(features.select(list(MODEL_INPUTS)).to_pandas())
                rows += batch.num_rows
                break
        if rows >= n:
            break
    return pd.concat(frames).head(n).reset_index(drop=True)


@dataclass(frozen=True)
class Survey:
    """What one pass over every row finds: the class counts of both parts and, for the
    leakage check, each model input's range per class in the training part."""

    counts: ClassCounts
    #: {label: (lowest, highest) value of each MODEL_INPUTS column} over the training part
    train_ranges: dict[int, tuple[list[float], list[float]]]


def survey(df: DataFrame, ranges: bool = True) -> Survey:
    """One pass: rows per (part, class), the held-out set's digest and (unless `ranges`
    is False) the training part's value ranges per class for the leakage check, grouped
    together so the files are read once for all of them."""
    from pyspark.sql import functions as F

    aggregates = [F.count(F.lit(1)).alias("count"), F.bit_xor(CUSTOMER_HASH).alias("xor")]
    if ranges:
        aggregates += [F.min(c).alias(f"min_{c}") for c in MODEL_INPUTS]
        aggregates += [F.max(c).alias(f"max_{c}") for c in MODEL_INPUTS]
    collected = df.groupBy(IS_TEST, LABEL).agg(*aggregates).collect()
    got = {(r[IS_TEST], int(r[LABEL])): (r["count"], r["xor"]) for r in collected}
    digest = 0
    for (is_test, _), (_, xor) in got.items():
        if is_test:
            digest ^= xor

    def count(key: tuple[bool, int]) -> int:
        return int(got.get(key, (0, 0))[0])

    counts = ClassCounts(
        train_pos=count((False, 1)),
        train_neg=sum(v for (t, y), (v, _) in got.items() if not t and y != 1),
        test_pos=count((True, 1)),
        test_neg=sum(v for (t, y), (v, _) in got.items() if t and y != 1),
        test_digest=f"{digest & (1 << 64) - 1:016x}",
    )
    train_ranges = {
        int(r[LABEL]): (
            [float(r[f"min_{c}"]) for c in MODEL_INPUTS],
            [float(r[f"max_{c}"]) for c in MODEL_INPUTS],
        )
        for r in collected
        if ranges and not r[IS_TEST]
    }
    return Survey(counts, train_ranges)


def check_learnable(counts: ClassCounts, where: str, test_fraction: float) -> None:
    """Refuse (exit 2) data a classifier cannot be fitted and evaluated on."""
    if counts.rows == 0:
        raise BadInput(f"{where}: no rows in the features files (expected customers to learn from)")
    negatives = counts.rows - counts.positives
    if counts.positives == 0 or negatives == 0:
        only = "non-fraud (0)" if counts.positives == 0 else "fraud (1)"
        raise BadInput(
            f"{where}: all {counts.rows} rows have {LABEL_COLUMN} = {only}; "
            "expected both classes to learn from"
        )
    if min(counts.train_pos, counts.test_pos) < MIN_POSITIVES_PER_PART:
        needed = math.ceil(MIN_POSITIVES_PER_PART / min(test_fraction, 1 - test_fraction))
        raise BadInput(
            f"{where}: too few fraud rows for a train/test split: {counts.positives} in total, "
            f"{counts.train_pos} in train and {counts.test_pos} in test with --test-fraction "
            f"{test_fraction}; expected at least one in each part (about {needed}+ in total)"
        )


def negative_share(train_negatives: int, fraction: float, minimum: int) -> float:
    """The share of training non-fraud rows to fit on: `fraction`, raised so that at least
    `minimum` rows are kept; 1.0 keeps all."""
    if fraction >= 1 or train_negatives <= minimum:
        return 1.0
    return min(1.0, max(fraction, minimum / train_negatives))


def positive_weight(counts: ClassCounts, mode: str) -> float:
    """`balanced`: negatives/positives of the training part (both classes then carry equal
    total weight); `none`: 1; a number: that number."""
    if mode == "none":
        return 1.0
    if mode == "balanced":
        return counts.train_neg / max(counts.train_pos, 1)
    return float(mode)


@dataclass(frozen=True)
class TrainingRows:
    """What the classifier is fitted on, and how its rows are weighted."""

    rows: DataFrame
    positive_weight: float
    negative_share: float  # of the training part's non-fraud rows
    negative_weight: float  # 1 / negative_share: the sample stands for all negatives


def training_rows(
    df: DataFrame,
    counts: ClassCounts,
    class_weight: str,
    negative_fraction: float,
    seed: int,
    min_negatives: int = MIN_SAMPLED_NEGATIVES,
) -> TrainingRows:
    """The training part: every fraud row and a seeded sample of the others, cached
    (the caller unpersists them after the fit). The sample is drawn by a hash of the
    customer (`sampled_column`: the same customers on every engine and layout, and as
    data grows).

    Fraud is ~0.1 % of PaySim customers, so nearly all rows are negatives that tell the
    tree the same thing; fitting on a share of them, each weighted 1/share, keeps class
    totals (so leaf probabilities stay calibrated) and cuts every pass of the fit by that
    share. Evaluation still scores every row. The cache holds the assembled vectors of
    these rows only: every pass Spark's tree makes over its input (metadata, split
    candidates, binning) starts from them instead of reading and assembling the files
    again.
    """
    from pyspark.sql import functions as F

    share = negative_share(counts.train_neg, negative_fraction, min_negatives)
    rows = df.filter(~F.col(IS_TEST))
    if share < 1:
        rows = rows.filter(sampled_column(share, seed))
    pos_weight, neg_weight = positive_weight(counts, class_weight), 1.0 / share
    if (pos_weight, neg_weight) != (1.0, 1.0):
        weight = F.when(F.col(LABEL) == 1.0, F.lit(pos_weight)).otherwise(F.lit(neg_weight))
        rows = rows.withColumn(WEIGHT, weight)
    return TrainingRows(assembled(rows).cache(), pos_weight, share, neg_weight)


def sample_rule(share: float, seed: int) -> str:
    """The negative sample's rule in words, as run with train's `seed` (the hash's literal
    is seed + 1), for run.json and MLflow."""
    return SAMPLE_RULE.format(seed=seed + 1, share=share)


def sampled_column(share: float, seed: int) -> Column:
    """True on the `prepare`d rows the fit keeps: every fraud row, and a non-fraud row when

        uniform = (xxhash64(nameOrig, seed + 1) as unsigned 64 bits >>> 11) / 2^53 < share

    (Spark's xxhash64, the literal seed + 1 folded in: a draw independent of the
    hold-out's xxhash64(nameOrig, seed); its top 53 bits make an exact double in [0, 1)).
    Spark's xxhash64 is a signed long: shifted as unsigned (`shiftrightunsigned`).

    Why a hash of the customer and not `rand(seed + 1)` (which drew per Spark partition,
    so its rows depended on the layout): the draw depends only on the customer, so every
    engine and partition layout (in-process Spark, Spark Connect, a cluster, an Arrow path
    sampling in numpy with `sampled_mask`) keeps the same customers, and a customer's
    membership never changes as data grows: after a +1 % raw file the old customers'
    sample is as it was, so a fit sample can be reused and only new customers drawn
    (issue 26, item 5)."""
    from pyspark.sql import functions as F

    if share >= 1:
        return F.lit(True)
    bits = F.shiftrightunsigned(F.xxhash64(F.col(ID_COLUMN), F.lit(seed + 1)), _SAMPLE_SHIFT)
    uniform = bits.cast("double") / F.lit(_SAMPLE_SCALE)
    return (F.col(LABEL) == 1.0) | (uniform < F.lit(share))


def sampled_mask(
    ids: pa.Array | pa.ChunkedArray, labels: np.ndarray, share: float, seed: int
) -> np.ndarray:
    """`sampled_column`'s rule in numpy: True where the fit keeps the row (`labels`: 1 =
    fraud; `ids`: the customers, as pyarrow strings)."""
    from pachflow_features.hashing import xxhash64

    return sampled_mask_of_hashes(xxhash64(ids), labels, share, seed)


def sampled_mask_of_hashes(
    customer_hashes: np.ndarray, labels: np.ndarray, share: float, seed: int
) -> np.ndarray:
    """`sampled_mask` from the customers' xxhash64(nameOrig) (CUSTOMER_HASH), already
    computed: the seeded draw folds seed + 1 into it as Spark's xxhash64 does."""
    import numpy as np

    from pachflow_features.hashing import fold_ints

    labels = np.asarray(labels)
    if share >= 1:
        return np.ones(len(labels), bool)
    bits = fold_ints(customer_hashes, seed + 1) >> np.uint64(_SAMPLE_SHIFT)
    mask: np.ndarray = (labels == 1) | (bits.astype(np.float64) / _SAMPLE_SCALE < share)
    return mask


#: The draw's 53 bits: uniform = (hash >>> 11) / 2^53, exact as a double.
_SAMPLE_SHIFT = 11
_SAMPLE_SCALE = float(1 << 53)


#: LABEL's Spark ML metadata: a nominal attribute with the two classes (0.0, 1.0). A tree
#: classifier reads its number of classes from it; without it, the fit's first job is a
#: pass over every training row for max(label) (~0.4 s of the full-size fit).
LABEL_ATTRIBUTE = {"ml_attr": {"type": "nominal", "num_vals": 2, "name": LABEL}}


def assembled(rows: DataFrame) -> DataFrame:
    """`prepare`d rows as the classifier is fitted on them: (FEATURES_VECTOR, LABEL with
    its two classes declared (LABEL_ATTRIBUTE), and WEIGHT when they have one)."""
    from pyspark.sql import functions as F

    weight = [WEIGHT] if WEIGHT in rows.columns else []
    label = F.col(LABEL).alias(LABEL, metadata=LABEL_ATTRIBUTE)
    return assembler().transform(rows).select(FEATURES_VECTOR, label, *weight)
