"""bench/reference_polars_sklearn.py computes what the pipeline computes: on a generated
PaySim file, its polars features equal etl's (Spark: the partials of all rows, then the
formulas train's reader applies), and it holds out the same customers as train's `prepare`
(Spark's xxhash64), with the same digest. Otherwise "ours / reference" would compare
different work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pachflow_contracts import FEATURES, ID_COLUMN
from pachflow_spark import SparkSettings, build_session

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import etl_features  # noqa: E402  (bench/, etl's definitions)
import monolithic  # noqa: E402
import reference_polars_sklearn as reference  # noqa: E402


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    yield build_session("reference-tests", SparkSettings("local[2]", "1g", 2))


@pytest.fixture(scope="module")
def raw_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6,000 rows over 700 customers (several transactions each: sums, means, min/max
    steps are exercised), values >= 1e7 in Java notation as in the real file."""
    out = tmp_path_factory.mktemp("raw") / "paysim.csv"
    pachflow = Path(sys.executable).parent / "pachflow"
    options = ["--rows", "6000", "--seed", "3", "--customers", "700", "--java-notation"]
    subprocess.run(
        [pachflow, "gen-paysim", *options, "--out", out],
        check=True,
        capture_output=True,
    )
    assert b"E7" in out.read_bytes()
    return out


@pytest.fixture(scope="module")
def pipeline_features(spark: Any, raw_csv: Path) -> Any:
    raw = spark.read.csv(str(raw_csv), header=True, schema=monolithic.spark_schema())
    return etl_features.customer_features(raw)


def test_features_equal_the_pipelines(raw_csv: Path, pipeline_features: Any) -> None:
    ours = reference.customer_features(reference.read_transactions(raw_csv)).collect()
    theirs = pipeline_features.toArrow().sort_by(ID_COLUMN)
    mine = ours.sort(ID_COLUMN).to_arrow()

    assert mine.column_names == FEATURES.schema.names
    assert mine.num_rows == theirs.num_rows == len(set(theirs[ID_COLUMN].to_pylist()))
    assert mine.num_rows <= 700 and max(theirs["n_tx"].to_pylist()) > 1
    for field in FEATURES.schema:
        a, b = mine[field.name], theirs[field.name]
        assert a.type == field.type or (
            pa.types.is_string(field.type) and a.type in (pa.large_string(), pa.string_view())
        ), field.name
        if pa.types.is_floating(field.type):  # sums in another order: last bits only
            np.testing.assert_allclose(
                a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-6, err_msg=field.name
            )
        else:
            assert a.to_pylist() == b.to_pylist(), field.name


def test_holds_out_the_customers_train_holds_out(spark: Any, pipeline_features: Any) -> None:
    from pachflow_train.data import HELD_OUT, prepare, survey

    prepared = prepare(pipeline_features, 0.2, 42)
    spark_held = {r[HELD_OUT] for r in prepared.select(HELD_OUT).collect()} - {None}
    ids = pipeline_features.toArrow()[ID_COLUMN]
    import polars as pl

    series = pl.Series(ids)
    mask = reference.held_out(series, 0.2, 42)
    assert 0 < mask.sum() < len(mask)
    assert set(series.filter(mask).to_list()) == spark_held
    counts = survey(prepared, ranges=False).counts
    assert reference.holdout_digest(series, mask) == counts.test_digest
