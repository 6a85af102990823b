"""Benchmark (issue 26, item 3): train's evaluation without a Spark pass, at full size.

The model train fits (its default settings, or `--classifier random_forest`) on etl's
partials of the full-size raw file (bench_train_memory.train_input), saved as train saves
OUTPUT_DIR/model, is evaluated twice on every customer:

- Spark: `classifier.evaluate(model, split)`, what train does today (one pass).
- numpy: the features read with pyarrow (pachflow_features.read_features_table), the
  held-out side of each customer as `data.prepare` computes it (xxhash64 in numpy), the
  saved model scored by `pachflow_features.saved_trees.SavedTrees`, and
  `classifier.evaluate_arrays`.

Prints the wall of each step and whether both give the same metrics and held-out table.

    .venv/bin/python bench/bench_tree_arrays.py [--classifier random_forest]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from bench_train_memory import train_input
from data import FULL_ROWS
from harness import machine_line, say

from pachflow_contracts import ID_COLUMN, LABEL_COLUMN, MODEL_INPUTS
from pachflow_features import read_features_table
from pachflow_features.hashing import xxhash64
from pachflow_features.saved_trees import SavedTrees
from pachflow_spark import SparkSettings, build_session
from pachflow_train import classifier, data


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def timed(what: str, started: float) -> float:
    seconds = time.perf_counter() - started
    say(f"{what}: {seconds:.2f} s (load {load()})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classifier", default="decision_tree", choices=classifier.CLASSIFIERS)
    args = parser.parse_args()
    settings = classifier.ModelSettings(classifier=args.classifier)
    say(machine_line())
    files = data.feature_files(train_input(FULL_ROWS))
    spark = build_session("bench-tree-arrays", SparkSettings("local[2]", "4g", 2))
    split = data.load_split(spark, files, settings.test_fraction, settings.seed)
    counts = data.survey(split, ranges=False).counts
    rows = data.training_rows(
        split, counts, settings.class_weight, settings.negative_fraction, settings.seed
    )
    model = classifier.fit(rows.rows, settings)
    rows.rows.unpersist()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        model.write().save(str(model_dir))

        started = time.perf_counter()
        theirs = classifier.evaluate(model, split)
        timed("Spark: classifier.evaluate", started)

        started = time.perf_counter()
        features = read_features_table(files)
        timed(f"numpy: read_features_table ({features.num_rows:,} customers)", started)
        started = time.perf_counter()
        columns = [features[c].to_numpy() for c in MODEL_INPUTS]
        label = features[LABEL_COLUMN].to_numpy()
        timed("numpy: the input columns", started)
        started = time.perf_counter()
        hashes = xxhash64(features[ID_COLUMN], settings.seed).view(np.int64)
        is_test = hashes % data.HOLDOUT_BUCKETS < settings.test_fraction * data.HOLDOUT_BUCKETS
        held_out = features[ID_COLUMN].filter(pa.array(is_test))
        timed("numpy: the held-out side (xxhash64)", started)
        trees = SavedTrees.load(model_dir)
        started = time.perf_counter()
        score, prediction = trees.score_columns(columns)
        what = f"{len(columns)} columns of {len(label):,}"
        scored = timed(f"numpy: SavedTrees.score_columns ({what})", started)
        started = time.perf_counter()
        x = np.column_stack([c.astype(np.float64) for c in columns])
        timed("numpy (for comparison): their matrix", started)
        started = time.perf_counter()
        same_scores = all(map(np.array_equal, trees.score(x), (score, prediction)))
        timed(f"numpy (for comparison): SavedTrees.score of it (same: {same_scores})", started)
        del x
        started = time.perf_counter()
        ours = classifier.evaluate_arrays(score, label, is_test, held_out, prediction)
        evaluated = timed("numpy: evaluate_arrays", started)
        say(f"numpy: score + evaluate {scored + evaluated:.2f} s")
    spark.stop()

    same_parts = ours.parts == theirs.parts
    key = list(ours.heldout.column_names)
    sort = [(ID_COLUMN, "ascending")]
    mine, spark_table = ours.heldout.sort_by(sort), theirs.heldout.sort_by(sort)
    same_heldout = all(
        mine[c].combine_chunks().equals(spark_table[c].combine_chunks()) for c in key
    )
    frauds = int(pc.sum(ours.heldout["label"]).as_py())
    say(f"{args.classifier}: metrics equal: {same_parts}; held-out tables equal: {same_heldout}")
    say(f"held out: {ours.heldout.num_rows:,} customers, {frauds} frauds")
    if not (same_parts and same_heldout):
        say(f"numpy: {ours.parts}\nSpark: {theirs.parts}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
