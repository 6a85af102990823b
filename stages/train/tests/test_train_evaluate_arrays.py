"""train's array evaluation (a saved tree model scored by pachflow_features.saved_trees)
gives Spark's `classifier.evaluate`: exactly, not within a tolerance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pachflow_contracts import MODEL_INPUTS
from pachflow_features.saved_trees import SavedTrees
from pachflow_train import classifier, data


@pytest.fixture(scope="module")
def split(spark: Any, features_dir: Path) -> Any:
    return data.load_split(spark, data.feature_files(features_dir), 0.25, 42, 2)


def saved(split: Any, tmp: Path, name: str, weights: str = "balanced") -> tuple[Any, Path]:
    """A model `classifier.fit` makes, saved as train saves OUTPUT_DIR/model."""
    counts = data.survey(split, ranges=False).counts
    rows = data.training_rows(split, counts, weights, 1.0, 42).rows
    settings = classifier.ModelSettings(classifier=name, max_depth=4, num_trees=4, max_iter=3)
    model = classifier.fit(rows, settings)
    rows.unpersist()
    model.write().save(str(tmp / "model"))
    return model, tmp / "model"


def inputs(rows: pa.Table) -> np.ndarray:
    return np.column_stack([rows[c].to_numpy().astype(np.float64) for c in MODEL_INPUTS])


def test_evaluate_arrays_equals_spark_evaluate(split: Any, tmp_path: Path) -> None:
    model, path = saved(split, tmp_path, "decision_tree", weights="none")
    rows = split.select(*MODEL_INPUTS, data.LABEL, data.IS_TEST, data.HELD_OUT).toArrow()
    is_test = rows[data.IS_TEST].to_numpy(zero_copy_only=False)
    score, prediction = SavedTrees.load(path).score(inputs(rows))
    # as features give them: an integer label, ids as a ChunkedArray
    held_out = rows[data.HELD_OUT].filter(pa.array(is_test))
    label = rows[data.LABEL].to_numpy().astype(np.int32)
    ours = classifier.evaluate_arrays(score, label, is_test, held_out, prediction)
    theirs = classifier.evaluate(model, split)
    assert ours.parts == theirs.parts  # every metric, exactly
    assert ours.parts["test"].rows == len(held_out) and ours.parts["train"].rows > 0
    types = [(f.name, f.type) for f in ours.heldout.schema]
    assert types == [(f.name, f.type) for f in theirs.heldout.schema]
    key = sorted(ours.heldout.column_names)
    assert sorted(map(str, ours.heldout.select(key).to_pylist())) == sorted(
        map(str, theirs.heldout.select(key).to_pylist())
    )
