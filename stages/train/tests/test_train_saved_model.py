"""The MLflow model train builds from the model it saved to OUTPUT_DIR/model (saved_model):
mlflow.spark's layout and flavors through MLflow's public API, and a clear error when a
Connect server saved it where this process cannot see it. (The real model, logged and
loaded back: test_train_cli.py in-process, tests/integration/test_spark_connect.py over a
real Connect server.)"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from mlflow.models import Model
from mlflow.models.signature import infer_signature

from pachflow_train.saved_model import NotShared, write_mlflow_model

REQUIREMENTS = ["mlflow-skinny==3.17.2", "pyspark==4.2.0"]


def test_the_saved_model_becomes_an_mlflow_spark_model(tmp_path):
    saved = tmp_path / "saved"
    (saved / "metadata").mkdir(parents=True)
    (saved / "metadata" / "part-00000").write_text('{"class":"PipelineModel"}')
    signature = infer_signature({"amount": [1.0]}, [0.0])
    write_mlflow_model(saved, tmp_path / "model", signature, REQUIREMENTS)

    model = Model.load(str(tmp_path / "model"))
    spark = model.flavors["spark"]
    assert spark["model_class"] == "pyspark.ml.pipeline.PipelineModel"
    assert spark["model_data"] == "sparkml"
    assert model.flavors["python_function"]["loader_module"] == "mlflow.spark"
    assert model.signature == signature
    assert (tmp_path / "model" / "sparkml" / "metadata" / "part-00000").is_file()
    assert (tmp_path / "model" / "requirements.txt").read_text().split() == REQUIREMENTS
    env = yaml.safe_load((tmp_path / "model" / "python_env.yaml").read_text())
    assert env["dependencies"] == ["-r requirements.txt"]


def test_a_model_saved_out_of_sight_is_named(tmp_path):
    with pytest.raises(NotShared, match="cannot see") as raised:
        write_mlflow_model(tmp_path / "nowhere", tmp_path / "model", None, REQUIREMENTS)
    # the setting that fixes it (a server in another pod): a store both reach
    assert "set --model-staging / PACHFLOW_TRAIN_MODEL_STAGING to an s3a://" in str(raised.value)
    assert not (tmp_path / "model").exists()


def test_the_input_example_is_stored_as_mlflow_spark_log_model_stores_it(tmp_path):
    """The same files and Model metadata as mlflow.spark.log_model writes for a pandas
    example (MLflow's own _Example is the reference), and MLflow loads it back: a model
    fitted on a Spark Connect server carries the input example an in-process one does, so
    `pachflow reproduce` can compare them."""
    from mlflow.models.utils import _Example

    example = pd.DataFrame(
        {"amount": [181.0, 1e-3, 9_999_999.5], "n_tx": [1, 2, 3], "drain_share": [1.0, 0.0, 0.5]}
    )
    saved = tmp_path / "saved"
    (saved / "metadata").mkdir(parents=True)
    write_mlflow_model(saved, tmp_path / "model", None, REQUIREMENTS, example)

    reference = _Example(example)
    (tmp_path / "ref").mkdir()
    reference.save(str(tmp_path / "ref"))
    model = Model.load(str(tmp_path / "model"))
    assert model.saved_input_example_info == reference.info
    for name in ("input_example.json", "serving_input_example.json"):
        mine = json.loads((tmp_path / "model" / name).read_text())
        assert mine == json.loads((tmp_path / "ref" / name).read_text()), name
    loaded = model.load_input_example(str(tmp_path / "model"))
    pd.testing.assert_frame_equal(loaded, example, check_dtype=False)
