"""Scoring on the local runner, with the committed specs and a real MLflow server: the chain
trains and registers a model, the score pipeline scores files put into `transactions`.

- no training/serving skew: every customer of the training file gets, through the score
  pipeline (pachflow-score), exactly the score train's evaluation code gives it
  (pachflow_train.classifier.scores on the features train reads);
- incremental: a second file runs only its own datum;
- lineage: `pachflow lineage commit score@<id>` walks back to the model version, its run and
  the raw_data commit and file that trained it; the model version lists the scoring commits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS = REPO_ROOT / "pipelines"
ROWS = 20_000  # ~26 frauds, as the chain tests: enough for train's test part
MODEL = "pachflow-fraud-detector"  # what the committed train and score specs name

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def chain(mlflow_server, warm_spark_engine, tmp_path_factory):
    from pachflow.local.progress import Progress
    from pachflow.local.run_spark import RunSpark
    from pachflow.local.runner import Runner
    from pachflow.local.specs import load_specs
    from pachflow_paysim.generator import write_paysim
    from pachflow_store import Store

    tmp = tmp_path_factory.mktemp("score-chain")
    store = Store(tmp / "home")

    def run() -> None:
        specs = load_specs(SPECS)
        # train and score on the session's warm engine (`pachflow run --spark sc://...`)
        spark = RunSpark(warm_spark_engine.url, specs, store.logs_dir / "spark" / "run")
        with pytest.MonkeyPatch.context() as mp:  # the runner passes it to the stages
            mp.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
            summary = Runner(store, specs, progress=Progress(quiet=True), spark=spark).run()
        assert not summary.failed, [(o.pipeline, o.reason) for o in summary.failed]

    data = tmp / "paysim.csv.gz"
    write_paysim(data, ROWS, 11)
    raw = store.put_files("raw_data", [("/paysim.csv.gz", data)])
    run()  # split, etl, train, provenance (transactions is still empty: score has nothing)
    txs = store.put_files("transactions", [("/paysim.csv.gz", data)])
    run()  # score only: the same file the model was trained on
    yield {
        "store": store,
        "run": run,
        "raw": raw,
        "txs": txs,
        "tmp": tmp,
        "data": data,
        "tracking_uri": mlflow_server.uri,
    }
    store.close()


def _head(store, repo: str):
    return store.resolve(repo)


def test_scores_equal_trains_evaluation_for_every_customer(chain) -> None:
    from pyspark.ml import PipelineModel

    from pachflow_contracts import ID_COLUMN
    from pachflow_features import read_features
    from pachflow_spark import SparkSettings, build_session
    from pachflow_train.classifier import SCORE, scores

    store = chain["store"]
    score = _head(store, "score")
    predictions = pq.read_table(store.file_blob(score, "/paysim.csv.gz/predictions.parquet"))
    record = json.loads(store.file_blob(score, "/paysim.csv.gz/scoring.json").read_bytes())
    train = _head(store, "train")
    manifest = json.loads(store.file_blob(train, "/run.json").read_bytes())
    assert record["model"]["run_id"] == manifest["run_id"]
    assert record["model"]["version"] == manifest["registered_model"]["version"]
    assert record["model"]["threshold"] == manifest["metrics"]["test_best_f1_threshold"]

    # train's side: its own model files and its own reading of etl's partials
    etl = _head(store, "etl")
    work = chain["tmp"] / "train-side"
    files = []
    for f in store.walk_files(etl):
        local = work / f.path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(store.file_blob(etl, f.path).read_bytes())
        files.append(local)
    model_dir = work / "model"
    for f in store.walk_files(train):
        if f.path.startswith("/model/"):
            local = work / f.path.lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(store.file_blob(train, f.path).read_bytes())
    spark = build_session("score-skew-test", SparkSettings("local[2]", "2g", 2))
    features = read_features(spark, sorted(p for p in files if p.suffix == ".parquet"))
    trained = scores(PipelineModel.load(str(model_dir)), features)
    expected = {r[ID_COLUMN]: r[SCORE] for r in trained.select(ID_COLUMN, SCORE).collect()}

    got = dict(
        zip(predictions[ID_COLUMN].to_pylist(), predictions["fraud_score"].to_pylist(), strict=True)
    )
    assert len(got) == len(expected) > 10_000
    assert got == expected
    assert record["counts"]["flagged"] == sum(
        s >= record["model"]["threshold"] for s in got.values()
    )


def test_a_new_file_scores_only_its_own_datum(chain) -> None:
    from pachflow_paysim.generator import write_paysim

    store = chain["store"]
    before = _head(store, "score")
    extra = chain["tmp"] / "day-2.csv"
    write_paysim(extra, 2_000, 12)
    store.put_files("transactions", [("/day-2.csv", extra)])
    chain["run"]()
    job = store.list_jobs("score")[0]
    assert (job.processed, job.skipped) == (1, 1)
    after = _head(store, "score")
    paths = {f.path for f in store.walk_files(after)}
    assert {"/paysim.csv.gz/scoring.json", "/day-2.csv/scoring.json"} <= paths
    # the first file's predictions are the same bytes as before (its datum was skipped)
    name = "/paysim.csv.gz/predictions.parquet"
    assert store.file_blob(after, name).read_bytes() == store.file_blob(before, name).read_bytes()


def test_lineage_walks_from_predictions_to_the_raw_file_that_trained_the_model(chain) -> None:
    from mlflow.tracking import MlflowClient

    from pachflow_lineage.commands import lineage_group

    store = chain["store"]
    score = _head(store, "score")
    result = CliRunner().invoke(
        lineage_group(),
        [
            *("commit", f"score@{score.id}", "--json", "--backend", "local"),
            *("--home", str(store.home), "--tracking-uri", chain["tracking_uri"]),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    repos = {(c["repo"], c["id"]) for c in payload["commits"]}
    assert ("raw_data", chain["raw"].id) in repos, result.stdout
    assert ("transactions", _head(store, "transactions").id) in repos
    raw = next(c for c in payload["commits"] if c["repo"] == "raw_data")
    assert [f["path"] for f in raw["files"]] == ["paysim.csv.gz"]
    [mv] = payload["model_versions"]
    assert any(e["kind"] == "scored" for e in payload["edges"])
    tags = MlflowClient(chain["tracking_uri"]).get_model_version(MODEL, mv["version"]).tags
    assert tags[f"pachyderm.scoring.{score.id}"] == f"score@{score.id}"
