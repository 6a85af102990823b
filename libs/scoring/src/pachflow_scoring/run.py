"""What the score stage and `pachflow score` share around score_file: one loaded model (and,
for a model numpy does not score, one Spark session) for any number of files, and the
`scoring.json` record of a scored file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from pachflow_contracts.worker_context import PachydermContext
from pachflow_paysim.reader import DEFAULT_BLOCK_BYTES
from pachflow_scoring.registry import (
    ScoringModel,
    download_model,
    load_spark_model,
    load_trees,
)
from pachflow_scoring.score import (
    CustomerScores,
    Scored,
    numpy_scores,
    score_file,
    spark_scores,
)
from pachflow_spark import SparkSettings
from pachflow_stagekit import progress

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SCORING_JSON = "scoring.json"
PREDICTIONS_FILE = "predictions.parquet"
RECORD_VERSION = 1


class Scorer:
    """Scores files with one model, loaded once at the first file with rows: with numpy
    when pachflow_features.saved_trees reads it (a decision tree or random forest: no
    JVM), else (a GBT, or `spark_only`) in a Spark session started then."""

    def __init__(
        self,
        model: ScoringModel,
        spark_settings: SparkSettings | None = None,
        spark_only: bool = False,
    ):
        self.model = model
        self.spark_settings = spark_settings or SparkSettings()
        self.spark_only = spark_only  # the Spark path for any model (e.g. to compare)
        self._spark: SparkSession | None = None
        self._scores: CustomerScores | None = None

    def spark(self) -> SparkSession:
        if self._spark is None:
            from pachflow_spark import build_session

            self._spark = build_session("pachflow-score", self.spark_settings)
        return self._spark

    def scores(self) -> CustomerScores:
        """What scores each customer: the model downloaded once, read with numpy or Spark."""
        if self._scores is None:
            self._scores = self._load()
        return self._scores

    def _load(self) -> CustomerScores:
        model = self.model
        with tempfile.TemporaryDirectory(prefix="pachflow-model-") as tmp:
            spark_dir = download_model(model, Path(tmp))
            trees, why = (None, "--spark-only") if self.spark_only else load_trees(model, spark_dir)
            if trees is not None:
                scores = numpy_scores(trees)
                how = f"scored with numpy: {trees.classifier}"
            else:
                spark = self.spark()
                scores = spark_scores(spark, load_spark_model(model, spark_dir))
                how = f"Spark: {why}"
        progress(
            "score", f"loaded model {model.label} ({model.requested}), run {model.run_id}; {how}"
        )
        return scores

    def score(self, path: Path, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Scored:
        with tempfile.TemporaryDirectory(prefix="pachflow-score-") as tmp:
            return score_file(path, self.model, self.scores, Path(tmp), block_bytes)


def scoring_record(scored: Scored, model: ScoringModel, ctx: PachydermContext) -> dict[str, Any]:
    """What `scoring.json` holds: the model version, its run, the input commit(s), counts."""
    return {
        "record_version": RECORD_VERSION,
        "source": scored.source,
        "model": model.to_dict(),
        "input_commits": [
            {"name": i.name, "repo": i.repo, "commit": i.commit, "path": i.path} for i in ctx.inputs
        ],
        "pachyderm": ctx.tags(),
        "counts": scored.counts(),
        "predictions": PREDICTIONS_FILE,
    }


def write_scored(folder: Path, scored: Scored, record: dict[str, Any]) -> None:
    """`<folder>/predictions.parquet` and `<folder>/scoring.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(scored.predictions, folder / PREDICTIONS_FILE)
    (folder / SCORING_JSON).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
