"""Do two local stores' etl@master give the same features, row for row? (The merge every
reader runs, pachflow_features.read_features, over each store's partials files.)"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def _partials_tree(home: Path, into: Path) -> list[Path]:
    """etl@master's Parquet files, hard-linked under their repo paths (the merge plans by
    shard directory)."""
    from pachflow_store import Store

    files = []
    with Store(home) as store:
        ref = store.resolve("etl")
        for info in store.walk_files(ref):
            if info.path.endswith(".parquet"):
                dest = into / info.path.lstrip("/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.link(store.file_blob(ref, info.path), dest)
                files.append(dest)
    return files


def same_features(home_a: Path, home_b: Path) -> dict[str, Any]:
    from pachflow_features import read_features
    from pachflow_spark import SparkSettings, build_session

    spark = build_session("bench-features-check", SparkSettings("local[2]", "4g", None))
    with tempfile.TemporaryDirectory(dir=home_a.parent) as tmp:
        a = read_features(spark, _partials_tree(home_a, Path(tmp) / "a")).cache()
        b = read_features(spark, _partials_tree(home_b, Path(tmp) / "b")).cache()
        only_a, only_b = a.exceptAll(b).count(), b.exceptAll(a).count()
        rows = a.count()
        result = {
            "rows": rows,
            "rows_cold": b.count(),
            "only_incremental": only_a,
            "only_cold": only_b,
        }
        spark.stop()
    result["equal"] = only_a == only_b == 0 and result["rows"] == result["rows_cold"]
    return result
