"""What the score stage and `pachflow score` share around score_file: one Spark session and
one loaded model for any number of files, and the `scoring.json` record of a scored file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from pachflow_contracts.worker_context import PachydermContext
from pachflow_paysim.reader import DEFAULT_BLOCK_BYTES
from pachflow_scoring.registry import ScoringModel, load_model
from pachflow_scoring.score import Scored, score_file
from pachflow_spark import SparkSettings, build_session

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import SparkSession

SCORING_JSON = "scoring.json"
PREDICTIONS_FILE = "predictions.parquet"
RECORD_VERSION = 1


class Scorer:
    """Scores files with one model; Spark starts and the model loads at the first file
    with rows, once."""

    def __init__(self, model: ScoringModel, spark_settings: SparkSettings | None = None):
        self.model = model
        self.spark_settings = spark_settings or SparkSettings()
        self._spark: SparkSession | None = None
        self._pipeline: PipelineModel | None = None

    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = build_session("pachflow-score", self.spark_settings)
        return self._spark

    def pipeline(self) -> PipelineModel:
        if self._pipeline is None:
            self._pipeline = load_model(self.spark(), self.model)
        return self._pipeline

    def score(self, path: Path, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Scored:
        with tempfile.TemporaryDirectory(prefix="pachflow-score-") as tmp:
            return score_file(path, self.model, self.spark, self.pipeline, Path(tmp), block_bytes)


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
