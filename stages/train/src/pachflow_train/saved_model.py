"""The MLflow model of the PipelineModel train saved to OUTPUT_DIR/model, built with
MLflow's public Model API and logged with its public artifact API: one route for every
Spark, so the registry holds the very files the output commit publishes.

`mlflow.spark.log_model` (MLflow 3.17) handles two kinds of model: classic pyspark.ml
models, which it saves through Spark a second time to a temporary DFS directory, copies
with the JVM's Hadoop FileSystem over py4j (`SparkContext._gateway`) and loads back to
predict the input example (~2.5 s in a cold JVM, for a prediction train has just made),
and `pyspark.ml.connect` models (the Spark 3.5 subset, saved client-side). Spark 4's
pyspark.ml models on a Connect session are neither: their `save` runs on the server, and
the client has no JVM gateway for the copy. So train saves the model once (in-process, or
the Connect server writes OUTPUT_DIR/model) and this module makes the MLflow model from
that directory: the `spark` flavor (`sparkml/` + MLmodel, as mlflow.spark writes them),
the signature and pinned requirements, logged as the run's `model` artifact: the layout
`mlflow.spark.log_model` gives.

The input example is written as mlflow.spark.log_model writes a pandas example (its
storage format, documented on mlflow.models.utils._Example: `input_example.json` in pandas'
"split" orient without the index, and the serving payload from MLflow's public
convert_input_example_to_serving_input): the example mlflow.spark.log_model would log,
which `pachflow reproduce` compares. MLflow's own log_model also loads the model to check
the example against it; train has already predicted the example with the fitted model
(the signature is inferred from that prediction), and its tests load the logged model back.

Limits: the server must write where this process reads (a server on this host, as
`pachflow run`'s, or a shared mount), or save to an object store both reach
(`--model-staging`, model_staging), from which this process copies the model down.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FLAVOR = "spark"  # mlflow.spark.FLAVOR_NAME
MODEL_DATA = "sparkml"  # mlflow.spark's data directory inside the model
MODEL_CLASS = "pyspark.ml.pipeline.PipelineModel"
EXAMPLE_FILE = "input_example.json"  # mlflow.models.utils.EXAMPLE_FILENAME
SERVING_EXAMPLE_FILE = "serving_input_example.json"  # ...SERVING_INPUT_FILENAME


class NotShared(RuntimeError):
    """The Spark Connect server wrote the model where this process cannot read it."""


def write_input_example(example: pd.DataFrame, dest: Path) -> dict[str, str]:
    """`example` into the model directory `dest` as MLflow stores a pandas input example;
    returns the Model's `saved_input_example_info`."""
    from mlflow.models.utils import convert_input_example_to_serving_input

    split = example.astype(object).where(example.notnull(), None).to_dict(orient="split")
    del split["index"]
    (dest / EXAMPLE_FILE).write_text(json.dumps(split, default=_plain))
    serving = convert_input_example_to_serving_input(example)
    if serving is not None:
        (dest / SERVING_EXAMPLE_FILE).write_text(serving)
    return {
        "artifact_path": EXAMPLE_FILE,
        "serving_input_path": SERVING_EXAMPLE_FILE,
        "type": "dataframe",
        "pandas_orient": "split",
    }


def _plain(value: Any) -> Any:
    """numpy scalars (what a DataFrame's cells are) as the Python values json writes."""
    return value.item() if hasattr(value, "item") else str(value)


def write_mlflow_model(
    spark_model_dir: Path,
    dest: Path,
    signature: Any,
    pip_requirements: list[str],
    input_example: pd.DataFrame | None = None,
) -> None:
    """An MLflow `spark` flavor model in `dest` (a new directory) from a saved PipelineModel."""
    import pyspark
    import yaml
    from mlflow.models import Model
    from mlflow.pyfunc import add_to_model

    if not (spark_model_dir / "metadata").is_dir():
        raise NotShared(
            f"the Spark Connect server saved the model to {spark_model_dir}, which this "
            "process cannot see: set --model-staging / PACHFLOW_TRAIN_MODEL_STAGING to an "
            "s3a://bucket/prefix both reach (stages/train/README.md 'Which Spark'), or run "
            "the server on this host or give both a shared mount"
        )
    dest.mkdir(parents=True)
    shutil.copytree(spark_model_dir, dest / MODEL_DATA)
    model = Model(signature=signature)
    if input_example is not None:
        model.saved_input_example_info = write_input_example(input_example, dest)
    model.add_flavor(
        FLAVOR, pyspark_version=pyspark.__version__, model_data=MODEL_DATA, model_class=MODEL_CLASS
    )
    add_to_model(  # type: ignore[no-untyped-call]  # mlflow's pyfunc helper is unannotated
        model,
        loader_module="mlflow.spark",
        data=MODEL_DATA,
        conda_env="conda.yaml",
        python_env="python_env.yaml",
    )
    model.save(str(dest / "MLmodel"))
    python = ".".join(map(str, sys.version_info[:3]))
    (dest / "requirements.txt").write_text("\n".join(pip_requirements) + "\n")
    (dest / "python_env.yaml").write_text(
        yaml.safe_dump(
            {
                "python": python,
                "build_dependencies": ["pip"],
                "dependencies": ["-r requirements.txt"],
            },
            sort_keys=False,
        )
    )
    (dest / "conda.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mlflow-env",
                "channels": ["conda-forge"],
                "dependencies": [f"python={python}", "pip", {"pip": pip_requirements}],
            },
            sort_keys=False,
        )
    )


def log_saved_model(
    spark_model_dir: Path,
    artifact_path: str,
    signature: Any,
    pip_requirements: list[str],
    input_example: pd.DataFrame | None = None,
) -> None:
    """Log the model of `spark_model_dir` as the active run's `artifact_path` artifact."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="pachflow-model-") as tmp:
        local = Path(tmp) / artifact_path
        write_mlflow_model(spark_model_dir, local, signature, pip_requirements, input_example)
        mlflow.log_artifacts(str(local), artifact_path)
