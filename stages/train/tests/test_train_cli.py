"""The stage end to end against a real MLflow server: what a user finds in MLflow and in
OUTPUT_DIR, and the exit codes for bad input and an unreachable server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow.data.dataset_source_registry import get_dataset_source_from_json
from mlflow.tracking import MlflowClient
from pyspark.ml import PipelineModel

from pachflow_contracts import MODEL_INPUTS
from pachflow_contracts import heldout_scores as hs
from pachflow_features import features_of_partials
from pachflow_testing.features import features_table, partials_table, write_features

EXPERIMENT = "train-cli-tests"
MODEL = "train-cli-detector"


@pytest.fixture(scope="module")
def trained(
    spark: Any,
    features_dir: Path,
    mlflow_tracking_uri: str,
    tmp_path_factory: Any,
    train: Any,
) -> dict[str, Any]:
    """One successful run, as a Pachyderm worker would make it."""
    job, etl_commit = train.new_id(), train.new_id()
    out = tmp_path_factory.mktemp("train-out")
    inv = train.run(
        features_dir,
        out,
        mlflow_tracking_uri,
        train.env(job, etl_commit),
        "--experiment",
        EXPERIMENT,
        "--registered-model",
        MODEL,
        "--class-weight",
        "balanced",
    )
    assert inv.exit_code == 0, inv.result.output + repr(inv.result.exception)
    manifest = json.loads((out / "run.json").read_text())
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    return {
        "job": job,
        "etl_commit": etl_commit,
        "out": out,
        "output": inv.result.output,
        "manifest": manifest,
        "client": client,
        "run": client.get_run(manifest["run_id"]),
    }


def test_run_has_name_params_metrics_and_pachyderm_tags(trained: dict[str, Any]) -> None:
    run, job, etl = trained["run"], trained["job"], trained["etl_commit"]
    assert run.info.status == "FINISHED"
    assert run.info.run_name == f"train@{job}"
    assert run.data.params["classifier"] == "decision_tree"
    assert run.data.params["max_depth"] == "4"
    assert run.data.params["class_weight"] == "balanced"
    # how it ran is a setting that reached train too: in the run, not only in the shell
    assert run.data.params["spark_master"].startswith("local")
    assert {"spark_driver_memory", "spark_shuffle_partitions", "partitions"} <= set(run.data.params)
    m = run.data.metrics
    for key in (
        "test_areaUnderPR",
        "test_areaUnderROC",
        "train_areaUnderPR",
        "test_f1_at_0.5",
        "test_f1_at_best",
        "test_best_f1_threshold",
        "test_tp_at_0.5",
    ):
        assert key in m, key
    assert 0.5 < m["test_areaUnderROC"] <= 1.0
    assert m["test_rows"] + m["train_rows"] == 3000
    assert m["positive_weight"] > 1  # balanced weights on ~5% fraud
    # Negative sampling is asked for (default 0.1) but 3000 rows are below its minimum.
    assert run.data.params["negative_fraction"] == "0.1"
    assert (m["negative_share"], m["negative_weight"]) == (1.0, 1.0)
    assert run.data.tags["pachflow.sample.rule"] == (
        "label = 1 or (xxhash64(nameOrig, 43) >>> 11) / 2^53 < 1.0"
    )
    tags = run.data.tags
    assert tags["pachyderm.job_id"] == job
    assert tags["pachyderm.output_commit"] == job
    assert tags["pachyderm.pipeline"] == "train"
    assert tags["pachyderm.datum_id"] == "datum-0"
    assert tags["pachyderm.spec_commit"] == "5" * 32
    assert tags["pachyderm.input.etl.repo"] == "etl"
    assert tags["pachyderm.input.etl.commit"] == etl


def test_run_has_one_pfs_dataset_input_per_input_commit(trained: dict[str, Any]) -> None:
    (ds,) = trained["run"].inputs.dataset_inputs
    etl = trained["etl_commit"]
    assert (ds.dataset.name, ds.dataset.digest) == (f"etl@{etl}", etl)
    source = get_dataset_source_from_json(ds.dataset.source, ds.dataset.source_type)
    assert source.uri == f"pfs://default/etl@{etl}/"
    assert "drain_share" in ds.dataset.schema
    assert {t.key: t.value for t in ds.tags}["mlflow.data.context"] == "training"


def test_run_has_artifacts_a_person_looks_at(trained: dict[str, Any]) -> None:
    client, run_id = trained["client"], trained["manifest"]["run_id"]
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {
        "confusion_matrix.png",
        "feature_importance.png",
        "tree.txt",
        "metrics.json",
        "model",
    } <= names
    local = Path(client.download_artifacts(run_id, "confusion_matrix.png"))
    assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads(Path(client.download_artifacts(run_id, "metrics.json")).read_text())
    assert set(metrics) >= {"test", "train", "feature_importances"}
    assert metrics["test"]["at_default"]["tp"] == trained["run"].data.metrics["test_tp_at_0.5"]
    tree = Path(client.download_artifacts(run_id, "tree.txt")).read_text()
    assert "If (" in tree
    mlmodel = Path(client.download_artifacts(run_id, "model/MLmodel")).read_text()
    assert "signature" in mlmodel and "spark" in mlmodel
    reqs = Path(client.download_artifacts(run_id, "model/requirements.txt")).read_text()
    assert "pyspark==" in reqs


def test_registered_version_has_tags_and_candidate_alias(trained: dict[str, Any]) -> None:
    client, manifest = trained["client"], trained["manifest"]
    mv = client.get_model_version_by_alias(MODEL, "candidate")
    assert mv.run_id == manifest["run_id"]
    assert mv.version == manifest["registered_model"]["version"]
    assert mv.tags["pachyderm.job_id"] == trained["job"]
    assert mv.tags["pachyderm.input.etl.commit"] == trained["etl_commit"]


def test_registered_model_loads_back_and_scores_like_output_model(
    trained: dict[str, Any], spark: Any, features_dir: Path, mlflow_tracking_uri: str
) -> None:
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL}@candidate")
    partials = pq.read_table(next(features_dir.rglob("*.parquet"))).slice(0, 200)
    sample = features_of_partials(partials).to_pandas()
    from_registry = pyfunc.predict(sample[list(MODEL_INPUTS)])
    local = PipelineModel.load(str(trained["out"] / "model"))
    from_output = local.transform(spark.createDataFrame(sample)).select("prediction").toPandas()
    assert list(pd.Series(from_registry).astype(float)) == list(from_output["prediction"])
    assert set(from_output["prediction"]) <= {0.0, 1.0}


def test_the_registered_model_is_the_published_model_file_for_file(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    """The registry holds the very Spark model the output commit publishes (the same files,
    byte for byte), not a second save of it: what provenance links is what scores."""
    client, run_id = trained["client"], trained["manifest"]["run_id"]
    logged = Path(client.download_artifacts(run_id, "model/sparkml", str(tmp_path)))
    published = trained["out"] / "model"

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    mine = files(published)
    assert any(name.endswith(".parquet") for name in mine)
    assert files(logged) == mine


def test_each_held_out_customer_is_scored_in_the_output_and_in_mlflow(
    trained: dict[str, Any],
) -> None:
    """One row per held-out customer, sorted; the run's test metrics are made from exactly
    these rows, and MLflow holds the same bytes (what `lineage diff` compares)."""
    out, run, client = trained["out"], trained["run"], trained["client"]
    data = (out / hs.HELDOUT_SCORES).read_bytes()
    table = hs.read(data)
    names = table[hs.CUSTOMER].to_pylist()
    assert names == sorted(names) and len(set(names)) == len(names) and None not in names
    assert len(names) == run.data.metrics["test_rows"]
    mine = hs.metrics(table)
    assert mine.frauds == run.data.metrics["test_positives"]
    assert mine.area_under_pr == pytest.approx(run.data.metrics["test_areaUnderPR"])
    logged = client.download_artifacts(run.info.run_id, hs.HELDOUT_SCORES, str(out.parent))
    assert Path(logged).read_bytes() == data


def test_output_dir_links_back_to_mlflow(trained: dict[str, Any], mlflow_tracking_uri: str) -> None:
    out, manifest = trained["out"], trained["manifest"]
    run_id = manifest["run_id"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [run_id, "evaluation", "model", "run.json"]
    )
    assert (out / run_id).stat().st_size == 0
    assert manifest["tracking_uri"] == mlflow_tracking_uri
    assert manifest["experiment_id"] == trained["run"].info.experiment_id
    assert manifest["model_uri"] == f"runs:/{run_id}/model"
    assert manifest["registered_model"]["name"] == MODEL
    assert (
        manifest["metrics"]["test_areaUnderPR"] == trained["run"].data.metrics["test_areaUnderPR"]
    )
    assert manifest["input_commits"] == [
        {"name": "etl", "repo": "etl", "commit": trained["etl_commit"], "path": "/pfs/etl"}
    ]
    assert manifest["reused_run"] is False


def _features(tmp_path: Path, table: pa.Table) -> Path:
    write_features(tmp_path / "etl", 0, table=table)
    return tmp_path / "etl"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_column", "missing column 'n_drain'"),
        ("features_v1", "does not match contract partials v1: it follows contract features v1"),
        ("wrong_type", "column 'n_tx': expected int64, found double"),
        ("no_files", "no partials Parquet files"),
        ("no_rows", "no rows"),
        ("one_class", "have is_fraud = non-fraud"),
        ("too_few_positives", "too few fraud rows"),
    ],
)
def test_bad_input_exits_2_with_specifics_and_no_run(
    case: str,
    message: str,
    spark: Any,
    tmp_path: Path,
    mlflow_tracking_uri: str,
    train: Any,
) -> None:
    features = features_table(400, fraud_rate=0.05)
    table = partials_table(features)
    label = table.schema.get_field_index("fraud_tx_count")
    if case == "missing_column":
        etl = _features(tmp_path, table.drop_columns(["n_drain"]))
    elif case == "features_v1":  # written by etl < 0.2
        etl = _features(tmp_path, features)
    elif case == "wrong_type":
        i = table.schema.get_field_index("n_tx")
        etl = _features(tmp_path, table.set_column(i, "n_tx", table["n_tx"].cast(pa.float64())))
    elif case == "no_files":
        etl = tmp_path / "etl"
        etl.mkdir()
    elif case == "no_rows":
        etl = _features(tmp_path, table.slice(0, 0))
    elif case == "one_class":
        zeros = pa.array([0] * table.num_rows, pa.int64())
        etl = _features(tmp_path, table.set_column(label, "fraud_tx_count", zeros))
    else:
        one = pa.array([1] + [0] * (table.num_rows - 1), pa.int64())
        etl = _features(tmp_path, table.set_column(label, "fraud_tx_count", one))
    job = train.new_id()
    inv = train.run(
        etl,
        tmp_path / "out",
        mlflow_tracking_uri,
        train.env(job),
        "--experiment",
        "train-bad-input",
    )
    assert inv.exit_code == 2, inv.result.output
    errors = [line for line in inv.result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], inv.result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    runs = mlflow.search_runs(
        search_all_experiments=True,
        output_format="list",
        filter_string=f"tags.`pachyderm.job_id` = '{job}'",
    )
    assert runs == []


def test_unreachable_mlflow_exits_1_naming_uri_and_leaves_output_empty(
    features_dir: Path,
    dead_tracking_uri: str,
    tmp_path: Path,
    train: Any,
) -> None:
    out = tmp_path / "out"
    inv = train.run(features_dir, out, dead_tracking_uri, train.env())
    assert inv.exit_code == 1
    (error,) = [line for line in inv.result.stderr.splitlines() if line.startswith("Error:")]
    assert dead_tracking_uri in error and "unreachable" in error
    assert not out.exists() or not any(out.iterdir())


def test_a_feature_that_alone_separates_the_classes_is_warned_about_and_tagged(
    spark: Any,
    tmp_path: Path,
    mlflow_tracking_uri: str,
    train: Any,
    trained: dict[str, Any],
) -> None:
    # the learnable data of `trained` raises no warning
    assert "pachflow.leakage.perfect_separators" not in trained["run"].data.tags
    table = features_table(600, fraud_rate=0.05)
    leak = pa.array(table["is_fraud"].to_numpy() * 2.0)  # the label, disguised as a share
    i = table.schema.get_field_index("dest_zero_share")
    etl = _features(tmp_path, partials_table(table.set_column(i, "dest_zero_share", leak)))
    inv = train.run(
        etl,
        tmp_path / "out",
        mlflow_tracking_uri,
        train.env(),
        "--experiment",
        "train-leakage",
    )
    assert inv.exit_code == 0, inv.result.output
    assert "warning: dest_zero_share alone separates fraud" in inv.result.stderr
    run_id = json.loads((tmp_path / "out" / "run.json").read_text())["run_id"]
    run = MlflowClient(tracking_uri=mlflow_tracking_uri).get_run(run_id)
    assert run.data.tags["pachflow.leakage.perfect_separators"] == "dest_zero_share"


def test_no_credential_in_output_run_or_artifacts(
    trained: dict[str, Any], mlflow_server: Any, tmp_path: Path
) -> None:
    """The password the stage authenticated with (the mlflow-credentials secret) is nowhere
    in what it printed, wrote to OUTPUT_DIR or recorded in MLflow."""
    if mlflow_server.credentials is None:
        pytest.skip("the MLflow test server runs without authentication (SQLite)")
    secret = mlflow_server.credentials.password.encode()
    client, run = trained["client"], trained["run"]
    assert secret not in (trained["output"]).encode()
    for path in trained["out"].rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    recorded = json.dumps(
        [run.data.params, run.data.tags, list(run.data.metrics), run.info.artifact_uri]
    )
    assert secret.decode() not in recorded
    artifacts = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path)))
    files = [p for p in artifacts.rglob("*") if p.is_file()]
    assert any(p.name == "MLmodel" for p in files)
    for path in files:
        assert secret not in path.read_bytes(), path
    mv = client.get_model_version_by_alias(MODEL, "candidate")
    assert secret.decode() not in json.dumps([mv.tags, mv.source, mv.description])
