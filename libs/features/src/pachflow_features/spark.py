"""The merge in Spark (DataFrame API only, so it also runs on a Spark Connect session).

split puts every row of a customer in one shard, so a customer's partial rows are all in
one shard directory. In each shard directory the file with the most rows is the *base*,
the others are *deltas* (files added since, e.g. a +1 % raw file). Only customers that
appear in a delta need reducing: their ids (few) are broadcast, base rows of other
customers pass straight through (no shuffle of the base), and the touched customers'
rows are grouped and reduced. When the deltas are a large share of the rows, one plain
groupBy over everything is cheaper, and gives the same rows.

Files are local paths or object-store URLs (`s3a://bucket/key`): footers are read through
pachflow_spark.object_store.open_input, and Spark gets the S3A settings as read options.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from pachflow_contracts import FEATURE_FORMULAS, FEATURES, ID_COLUMN, PARTIAL_REDUCTIONS, PARTIALS
from pachflow_spark import spark_schema
from pachflow_spark.object_store import open_input, read_options
from pachflow_spark.paths import spark_path

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

#: Above this share of delta rows (of base rows) the merge is one groupBy over all rows.
FULL_REDUCE_SHARE = 0.25


@dataclass(frozen=True)
class MergePlan:
    """Which partials files pass through and which are reduced with the base rows."""

    base: list[Path | str]  # the largest file of each shard directory
    deltas: list[Path | str]  # every other non-empty file
    base_rows: int
    delta_rows: int

    @property
    def how(self) -> str:
        if not self.deltas:
            return "none"  # one file per shard: every customer has one partial row
        return "full" if self.delta_rows > FULL_REDUCE_SHARE * self.base_rows else "touched"


def plan_merge(files: Sequence[Path | str]) -> MergePlan:
    """Group `files` by directory (shard) and pick each shard's base, from the footers."""
    by_dir: dict[str, list[tuple[int, str, Path | str]]] = defaultdict(list)
    for path in files:
        with open_input(path) as source:
            rows = pq.read_metadata(source).num_rows
        if rows:
            folder, name = posixpath.split(str(path))
            by_dir[folder].append((rows, name, path))
    base, deltas, base_rows, delta_rows = [], [], 0, 0
    for entries in by_dir.values():
        # Most rows first, ties by name: the same files always give the same plan.
        entries.sort(key=lambda e: (-e[0], e[1]))
        base.append(entries[0][2])
        base_rows += entries[0][0]
        deltas += [p for _, _, p in entries[1:]]
        delta_rows += sum(r for r, _, _ in entries[1:])
    return MergePlan(sorted(base, key=_parts), sorted(deltas, key=_parts), base_rows, delta_rows)


def _parts(path: Path | str) -> tuple[str, ...]:
    """How Path sorts (by part), for paths and URLs alike."""
    return PurePosixPath(str(path)).parts


def read_features(spark: SparkSession, files: Sequence[Path | str]) -> DataFrame:
    """One FEATURES row per customer from `partials` v1 files (checked by the caller):
    local paths or object-store URLs."""
    from pyspark.sql import functions as F

    plan = plan_merge(files)
    if not plan.base:
        return spark.createDataFrame([], spark_schema(FEATURES.schema))
    if plan.how == "none":
        return derive_features(_read(spark, plan.base))
    if plan.how == "full":
        return derive_features(_reduce(_read(spark, plan.base + plan.deltas)))
    deltas = _read(spark, plan.deltas)
    touched = F.broadcast(deltas.select(ID_COLUMN).distinct())
    base = _read(spark, plan.base)
    untouched = base.join(touched, ID_COLUMN, "left_anti")
    merged = _reduce(base.join(touched, ID_COLUMN, "left_semi").unionByName(deltas))
    return derive_features(untouched.unionByName(merged))


def _read(spark: SparkSession, paths: list[Path | str]) -> DataFrame:
    reader = spark.read.options(**read_options(paths)).schema(spark_schema(PARTIALS.schema))
    return reader.parquet(*(spark_path(p) for p in paths))


def _reduce(partials: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    ops = {"sum": F.sum, "min": F.min, "max": F.max}
    return partials.groupBy(ID_COLUMN).agg(
        *[ops[op](col).alias(col) for col, op in PARTIAL_REDUCTIONS.items()]
    )


def derive_features(partials: DataFrame) -> DataFrame:
    """FEATURE_FORMULAS on one reduced row per customer, typed as FEATURES."""
    types = {f.name: f.dataType for f in spark_schema(FEATURES.schema).fields}
    return partials.select(
        *[
            _formula(op, col).cast(types[name]).alias(name)
            for name, (op, col) in FEATURE_FORMULAS.items()
        ]
    )


def _formula(op: str, col: str) -> Column:
    from pyspark.sql import functions as F

    if op == "per_tx":
        return F.col(col) / F.col("n_tx")
    if op == "any":
        return (F.col(col) > 0).cast("int")
    return F.col(col)
