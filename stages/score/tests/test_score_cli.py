"""The stage end to end against a real MLflow server and real Spark: what a user finds in
OUTPUT_DIR and on the model version, and the exit codes for bad input and bad models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient

from pachflow_contracts import PREDICTIONS
from pachflow_scoring.score import read_transactions

pytestmark = pytest.mark.spark


def day_2_only(paysim_dir: Path, folder: Path) -> Path:
    """An input dir holding only day-2.csv.gz."""
    folder.mkdir()
    shutil.copy(paysim_dir / "day-2.csv.gz", folder)
    return folder


@pytest.fixture(scope="module")
def scored(paysim_dir: Path, registered: Any, run_score: Any, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("score-out")
    inv = run_score(paysim_dir, out, f"{registered.name}@candidate")
    assert inv.exit_code == 0, inv.result.output + repr(inv.result.exception)
    return out


def test_each_file_gets_predictions_per_customer_and_a_scoring_record(
    scored: Path, paysim_dir: Path, registered: Any
) -> None:
    assert sorted(p.name for p in scored.iterdir()) == ["day-1.csv", "day-2.csv.gz"]
    for name in ("day-1.csv", "day-2.csv.gz"):
        predictions = pq.read_table(scored / name / "predictions.parquet")
        PREDICTIONS.check_file(scored / name / "predictions.parquet")
        transactions, _ = read_transactions(paysim_dir / name)
        customers = pc.unique(transactions["nameOrig"])
        # one row per customer, covering all of their transactions in the file
        assert predictions.num_rows == len(customers)
        assert pc.sum(predictions["n_tx"]).as_py() == transactions.num_rows
        assert predictions["nameOrig"].to_pylist() == sorted(customers.to_pylist())
        flagged = pc.greater_equal(predictions["fraud_score"], registered.threshold)
        assert predictions["flagged"].to_pylist() == flagged.to_pylist()
        assert set(predictions["model_version"].to_pylist()) == {registered.version}

        record = json.loads((scored / name / "scoring.json").read_text())
        assert record["model"]["name"] == registered.name
        assert record["model"]["version"] == registered.version
        assert record["model"]["run_id"] == registered.run_id
        assert record["model"]["requested"] == f"{registered.name}@candidate"
        assert record["model"]["threshold"] == registered.threshold
        assert record["counts"]["rows_read"] == transactions.num_rows
        assert record["counts"]["customers"] == predictions.num_rows
        assert record["counts"]["flagged"] == sum(flagged.to_pylist())
        (commit,) = record["input_commits"]
        assert commit["repo"] == "transactions" and len(commit["commit"]) == 32


def test_a_version_number_scores_like_the_alias_naming_it(
    scored: Path, paysim_dir: Path, registered: Any, run_score: Any, tmp_path
) -> None:
    inv = run_score(
        day_2_only(paysim_dir, tmp_path / "in"),
        tmp_path / "out",
        f"{registered.name}/{registered.version}",
    )
    assert inv.exit_code == 0, inv.result.output
    by_version = pq.read_table(tmp_path / "out/day-2.csv.gz/predictions.parquet")
    by_alias = pq.read_table(scored / "day-2.csv.gz/predictions.parquet")
    assert by_version.equals(by_alias)


def test_a_worker_records_its_scoring_commit_on_the_model_version(
    paysim_dir: Path, registered: Any, mlflow_tracking_uri: str, run_score: Any, tmp_path
) -> None:
    job, commit = "a" * 32, "b" * 32
    env = {
        "PACH_JOB_ID": job,
        "PACH_OUTPUT_COMMIT_ID": job,
        "PACH_DATUM_ID": "d1",
        "PPS_PIPELINE_NAME": "score",
        "transactions": str(paysim_dir / "day-2.csv.gz"),
        "transactions_COMMIT": commit,
    }
    inv = run_score(
        day_2_only(paysim_dir, tmp_path / "transactions"),
        tmp_path / "out",
        f"{registered.name}@candidate",
        env=env,
    )
    assert inv.exit_code == 0, inv.result.output
    record = json.loads((tmp_path / "out/day-2.csv.gz/scoring.json").read_text())
    assert record["input_commits"][0]["commit"] == commit
    assert record["pachyderm"]["pachyderm.job_id"] == job
    mv = MlflowClient(tracking_uri=mlflow_tracking_uri).get_model_version(
        registered.name, registered.version
    )
    assert mv.tags[f"pachyderm.scoring.{job}"] == f"score@{job}"


def test_a_bad_value_exits_2_naming_file_and_line_and_writes_nothing(
    paysim_dir: Path, registered: Any, run_score: Any, tmp_path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(paysim_dir / "day-2.csv.gz", src)  # a good file first: its output must not stay
    lines = (paysim_dir / "day-1.csv").read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",PAYMENT,", ",PAYMNT,").replace(",TRANSFER,", ",TRANSFR,")
    lines[2] = lines[2].replace(",CASH_OUT,", ",CASHOUT,").replace(",CASH_IN,", ",CASHIN,")
    lines[2] = lines[2].replace(",DEBIT,", ",DEBT,")
    (src / "e-bad.csv").write_text("".join(lines))
    out = tmp_path / "out"
    inv = run_score(src, out, f"{registered.name}@candidate")
    assert inv.exit_code == 2, inv.result.output
    assert "e-bad.csv: bad value at line 3 column type:" in inv.result.output
    assert not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("model", "said"),
    [
        ("no-such-model@candidate", "model no-such-model@candidate: no registered model version"),
        ("{name}@no-such-alias", "@no-such-alias: no registered model version"),
        ("{name}/999", "/999: no registered model version"),
        ("just-a-name", "--model 'just-a-name': expected NAME@ALIAS"),
    ],
)
def test_a_model_that_does_not_exist_exits_2_naming_it(
    model: str, said: str, paysim_dir: Path, registered: Any, run_score: Any, tmp_path
) -> None:
    out = tmp_path / "out"
    inv = run_score(paysim_dir, out, model.format(name=registered.name))
    assert inv.exit_code == 2, inv.result.output
    assert said in inv.result.output
    assert not out.exists() or not any(out.iterdir())


def test_a_model_that_cannot_load_exits_2_naming_it(
    paysim_dir: Path, mlflow_tracking_uri: str, run_score: Any, tmp_path
) -> None:
    """A registered version whose run holds no Spark model (e.g. logged by another tool)."""
    import mlflow

    mlflow.set_tracking_uri(mlflow_tracking_uri)
    mlflow.set_experiment("score-tests")
    with mlflow.start_run() as run:
        mlflow.log_text("not a model", "model/README.txt")
        mlflow.log_metric("test_best_f1_threshold", 0.5)
    # MLflow 3's register_model wants a logged model there: register the folder as is
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    if not client.search_registered_models("name = 'score-tests-not-spark'"):
        client.create_registered_model("score-tests-not-spark")
    mv = client.create_model_version(
        "score-tests-not-spark", f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    out = tmp_path / "out"
    inv = run_score(paysim_dir, out, f"score-tests-not-spark/{mv.version}")
    assert inv.exit_code == 2, inv.result.output
    assert f"model score-tests-not-spark/{mv.version}: no sparkml/" in inv.result.output
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_a_header_only_file_scores_no_customer(registered: Any, run_score: Any, tmp_path) -> None:
    from pachflow_paysim import HEADER

    src = tmp_path / "in"
    src.mkdir()
    (src / "empty.csv").write_text(HEADER + "\n")
    inv = run_score(src, tmp_path / "out", f"{registered.name}@candidate")
    assert inv.exit_code == 0, inv.result.output
    record = json.loads((tmp_path / "out/empty.csv/scoring.json").read_text())
    assert record["counts"]["customers"] == 0
    assert pq.read_table(tmp_path / "out/empty.csv/predictions.parquet").num_rows == 0


def test_no_tracking_uri_exits_2_and_writes_nothing_into_the_working_directory(
    paysim_dir: Path, tmp_path: Path
) -> None:
    """Run bare (no MLFLOW_*), score must not ask MLflow's default store (./mlflow.db,
    created in whatever directory the user is in) for the model."""
    from pachflow_testing.bare_run import error_lines, run_without_mlflow

    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    args = ["--model", "pachflow-fraud-detector@candidate", str(paysim_dir), str(out)]
    done = run_without_mlflow("pachflow-score", args, cwd)
    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done)
    assert "no MLflow tracking URI" in line and "MLFLOW_TRACKING_URI" in line, line
    assert list(cwd.iterdir()) == []
    assert not out.exists()
