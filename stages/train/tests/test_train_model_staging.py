"""`--model-staging`: how the model of a Spark Connect server in another pod reaches
train (model_staging). The server saves the PipelineModel to an object store both reach;
train copies the tree down with pyarrow into OUTPUT_DIR/model, builds the MLflow model
from it and removes the run's staging prefix. Here the store is a real S3 server (s3rver
on loopback) holding a real saved PipelineModel; the server's own s3a:// save needs
Hadoop's S3A connector (hadoop-aws), so that test skips here naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow.models.signature import infer_signature

from pachflow_spark.object_store import S3A_CLASS, classic_session_has_s3a, hadoop_aws_package
from pachflow_testing.loopback import free_port
from pachflow_testing.s3 import S3Store, run_s3rver, s3rver_or_skip
from pachflow_train import model_staging
from pachflow_train.cli import main
from pachflow_train.saved_model import MODEL_DATA, write_mlflow_model

RUN_ID = "0123456789abcdef0123456789abcdef"
STAGING = "s3a://mlflow/train-staging"
REQUIREMENTS = ["mlflow-skinny==3.17.2", "pyspark==4.2.0"]


@pytest.fixture(scope="module")
def fitted(spark: Any) -> tuple[Any, Any]:
    """A real PipelineModel (assembler + tree) and the rows it was fitted on."""
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import DecisionTreeClassifier
    from pyspark.ml.feature import VectorAssembler

    rows = [(float(i), float(i % 7), float(i % 3 == 0)) for i in range(60)]
    df = spark.createDataFrame(rows, ["amount", "n_tx", "label"])
    stages = [VectorAssembler(inputCols=["amount", "n_tx"], outputCol="features")]
    stages.append(DecisionTreeClassifier(maxDepth=3, seed=1))
    return Pipeline(stages=stages).fit(df), df


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    """Bucket `mlflow` as the staging store, named by train's own variables; the worker's
    S3 gateway (S3_ENDPOINT, the unprefixed keys) points elsewhere, as on the cluster."""
    s3rver_or_skip()
    with run_s3rver(tmp_path / "s3", bucket="mlflow") as store:
        for key, value in store.worker_env().items():
            monkeypatch.setenv(f"{model_staging.ENV_PREFIX}{key}", value)
        monkeypatch.setenv("S3_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing there
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "gateway-token")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "gateway-token")
        yield store


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_staged_model_is_copied_down_built_and_removed(
    store: S3Store, fitted: tuple[Any, Any], spark: Any, tmp_path: Path
):
    import mlflow.spark

    model, df = fitted
    access = model_staging.staging_access()
    assert access.endpoint == store.endpoint  # the staging store, not the gateway
    prefix = model_staging.run_prefix(STAGING, RUN_ID)
    assert prefix == f"s3a://mlflow/train-staging/{RUN_ID}"
    # What the server's save leaves in the store: the saved tree under the run's prefix.
    saved = tmp_path / "bucket" / "train-staging" / RUN_ID / MODEL_DATA
    model.write().save(str(saved))
    assert store.upload_tree(tmp_path / "bucket")

    local = tmp_path / "out" / "model"
    model_staging.copy_down(f"{prefix}/{MODEL_DATA}", local, access)
    assert _files(local) == _files(saved)
    signature = infer_signature(df.select("amount", "n_tx").toPandas(), [0.0])
    write_mlflow_model(local, tmp_path / "mlflow-model", signature, REQUIREMENTS)
    loaded = mlflow.spark.load_model(str(tmp_path / "mlflow-model"))
    predicted = loaded.transform(df).select("prediction").collect()
    assert predicted == model.transform(df).select("prediction").collect()

    model_staging.remove(prefix, access)
    assert not [k for k in store.object_keys() if k.startswith(f"train-staging/{RUN_ID}")]


def test_the_staging_setting_must_be_an_object_store_url(tmp_path: Path):
    result = CliRunner().invoke(
        main, [str(tmp_path), str(tmp_path / "out"), "--model-staging", "/shared/models"]
    )
    assert result.exit_code == 2
    assert "expected an s3a://bucket/prefix URL, found '/shared/models'" in result.output
    assert not (tmp_path / "out").exists()


S3A_REASON = (
    f"a Spark save to s3a:// needs Hadoop's S3A connector: class {S3A_CLASS} (jar "
    f"{hadoop_aws_package()} with its AWS SDK bundle) is not in pyspark's jars here "
    "(Maven Central is unreachable)"
)


@pytest.mark.spark
@pytest.mark.skipif(not classic_session_has_s3a(), reason=S3A_REASON)
def test_spark_saves_the_model_to_the_staging_store(
    store: S3Store, fitted: tuple[Any, Any], spark: Any, tmp_path: Path
):
    """Where hadoop-aws is on the classpath: the save Spark does for a Connect server, with
    the staging store's fs.s3a settings in the session, lands the model tree there."""
    model, _ = fitted
    access = model_staging.staging_access()
    url = f"{model_staging.run_prefix(STAGING, RUN_ID)}/{MODEL_DATA}"
    model_staging.save_on_server(model, spark, url, access)
    model_staging.copy_down(url, tmp_path / "model", access)
    assert (tmp_path / "model" / "metadata").is_dir()
    assert spark.conf.get("fs.s3a.endpoint", None) is None  # the settings are gone again


def test_the_stores_s3a_settings_reach_the_writers_hadoop_conf_only_for_the_save(spark: Any):
    """An ML writer takes no options: its writes build their Hadoop configuration from the
    session's (SessionState.newHadoopConf), so the staging store's fs.s3a.* settings go
    there for the save and are gone after (the next read's own options apply)."""

    def hadoop(key: str) -> str | None:
        return spark._jsparkSession.sessionState().newHadoopConf().get(key)

    spark.conf.set("fs.s3a.path.style.access", "false")  # an earlier value comes back
    options = {"fs.s3a.endpoint": "http://minio.mlflow:9000", "fs.s3a.path.style.access": "true"}
    try:
        with model_staging.hadoop_settings(spark, options):
            assert hadoop("fs.s3a.endpoint") == "http://minio.mlflow:9000"
            assert hadoop("fs.s3a.path.style.access") == "true"
        assert hadoop("fs.s3a.endpoint") is None
        assert spark.conf.get("fs.s3a.path.style.access") == "false"
    finally:
        spark.conf.unset("fs.s3a.path.style.access")


@pytest.mark.parametrize("run_id", ["", "/"])
def test_a_run_without_an_id_never_stages_under_the_bare_prefix(run_id: str) -> None:
    """The run's prefix is removed after the copy-down: without a run id it would be the
    whole staging prefix, every other run's staged model with it."""
    with pytest.raises(ValueError, match="no MLflow run id"):
        model_staging.run_prefix(STAGING, run_id)
