"""Which way a model is scored: a decision tree with numpy (no JVM), the same predictions
file as Spark's, byte for byte; a GBT through Spark."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pachflow_contracts import PREDICTIONS
from pachflow_scoring.score import read_transactions
from pachflow_testing.scoring_model import register_tree_model

pytestmark = pytest.mark.spark

FILES = ("day-1.csv", "day-2.csv.gz")


def test_a_tree_scored_with_numpy_writes_sparks_predictions_file(
    paysim_dir: Path, registered: Any, run_score: Any, tmp_path: Path
) -> None:
    model = f"{registered.name}@candidate"
    numpy = run_score(paysim_dir, tmp_path / "numpy", model)
    assert numpy.exit_code == 0, numpy.result.output + repr(numpy.result.exception)
    assert "scored with numpy: DecisionTreeClassificationModel" in numpy.result.output
    spark = run_score(paysim_dir, tmp_path / "spark", model, env={"PACHFLOW_SCORE_SPARK_ONLY": "1"})
    assert spark.exit_code == 0, spark.result.output + repr(spark.result.exception)
    assert "Spark: --spark-only" in spark.result.output
    for name in FILES:
        ours = tmp_path / "numpy" / name / "predictions.parquet"
        theirs = tmp_path / "spark" / name / "predictions.parquet"
        assert pq.read_table(ours).equals(pq.read_table(theirs))
        assert ours.read_bytes() == theirs.read_bytes()
        assert pq.read_table(ours).num_rows > 0


NO_JVM = """
import sys
from pachflow_score.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
from pyspark import SparkContext  # MLflow imports pyspark when installed: check the JVM
assert SparkContext._gateway is None and SparkContext._active_spark_context is None
"""


def test_a_tree_is_scored_without_a_jvm(
    paysim_dir: Path, registered: Any, mlflow_tracking_uri: str, tmp_path: Path
) -> None:
    """The stage as a process of its own: it scores both files and never launches
    Spark's JVM (no py4j gateway, no SparkContext)."""
    out = tmp_path / "out"
    args = ["--model", f"{registered.name}@candidate", str(paysim_dir), str(out)]
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_tracking_uri}
    done = subprocess.run(
        [sys.executable, "-c", NO_JVM, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "scored with numpy: DecisionTreeClassificationModel" in done.stderr
    for name in FILES:
        assert pq.read_table(out / name / "predictions.parquet").num_rows > 0


def test_a_gbt_is_scored_by_spark(
    spark: Any, paysim_dir: Path, mlflow_tracking_uri: str, run_score: Any, tmp_path: Path
) -> None:
    name = f"score-tests-gbt-{uuid.uuid4().hex[:8]}"
    gbt = register_tree_model(spark, paysim_dir / "day-1.csv", mlflow_tracking_uri, name, gbt=True)
    inv = run_score(paysim_dir, tmp_path / "out", f"{gbt.name}@candidate")
    assert inv.exit_code == 0, inv.result.output + repr(inv.result.exception)
    assert "Spark: GBTClassificationModel: not scored with numpy" in inv.result.output
    for file in FILES:
        predictions = tmp_path / "out" / file / "predictions.parquet"
        PREDICTIONS.check_file(predictions)
        transactions, _ = read_transactions(paysim_dir / file)
        assert pq.read_table(predictions)["n_tx"].to_numpy().sum() == transactions.num_rows
