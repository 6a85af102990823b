"""`lineage verify`, `diff` and `impact` over a real local store and a real MLflow server.

The DAG is made the way the runner and train make it: raw_data -> train (spec commit,
job), an MLflow run with the worker context's tags and dataset inputs
(what train logs: train_dataset_inputs), a registered model version, and the
lineage.json artifact the link stage logs. Each test builds its own (some tamper with it).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pachflow_store as ps
from pachflow_contracts.run_tags import TAG_HOLDOUT_DIGEST, TAG_HOLDOUT_RULE
from pachflow_lineage.commands import lineage_group
from pachflow_testing.local_dag import finished_job, put_spec

HOLDOUT_RULE = "xxhash64(nameOrig, 42) mod 2^32 < 0.2 * 2^32"


@dataclass
class Dag:
    home: Path
    uri: str
    model: str
    raws: list[ps.CommitRef]
    runs: list[str]
    jobs: list[str]


def train_dataset_inputs(ctx: Any) -> list[Any]:
    """The dataset inputs train logs, as lineage reads them: name `<repo>@<commit>`, digest
    the commit id, a `pfs://` source (stages/train/tests/test_train_datasets.py checks that
    train logs these)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    return [
        DatasetInput(
            Dataset(
                name=i.ref,
                digest=i.commit,
                source_type="pfs",
                source=json.dumps({"uri": f"pfs://{ctx.project}/{i.repo}@{i.commit}/"}),
            ),
            tags=[InputTag("mlflow.data.context", "training")],
        )
        for i in ctx.inputs
    ]


def _make(store: ps.Store, client: Any, exp: str, model: str, tmp: Path, n: int) -> tuple:
    from pachflow_contracts.worker_context import PachydermContext
    from pachflow_lineage import render
    from pachflow_lineage.backends.local import LocalBackend
    from pachflow_lineage.resolve import Resolver
    from pachflow_lineage.tracking import Tracking

    # v1 puts a.csv and b.csv; v2 (a child commit: it keeps b.csv) replaces a.csv, adds c.csv
    files = []
    for name in ["a.csv", "b.csv"] if n == 1 else ["a.csv", "c.csv"]:
        path = tmp / f"{n}-{name}"
        path.write_text(f"{name} {n}\n")
        files.append(("/" + name, path))
    raw = store.put_files("raw_data", files)
    spec = put_spec(
        store, "train", json.dumps({"transform": {"image": f"pachflow/train:0.{n}"}}).encode()
    )
    job = ps.new_id()
    finished_job(store, "train", job, spec.id, [raw], {"/model.bin": f"model {n}".encode()})
    env = {
        "PACH_JOB_ID": job,
        "PACH_DATUM_ID": "d0",
        "PPS_PIPELINE_NAME": "train",
        "PPS_SPEC_COMMIT": spec.id,
        "raw_data": "/pfs/raw_data",
        "raw_data_COMMIT": raw.id,
    }
    ctx = PachydermContext.from_env(env, default_pipeline="train")
    run = client.create_run(exp, tags=ctx.tags(), run_name=ctx.run_name)
    run_id = run.info.run_id
    client.log_inputs(run_id, datasets=train_dataset_inputs(ctx))
    client.log_param(run_id, "max_depth", str(4 + n))
    client.log_metric(run_id, "test.areaUnderPR", 0.5 + n / 10)
    client.log_metric(run_id, "test_rows", 1000 * n)  # train's held-out customers
    client.set_tag(run_id, TAG_HOLDOUT_RULE, HOLDOUT_RULE)
    client.set_tag(run_id, TAG_HOLDOUT_DIGEST, f"{n:016x}")
    client.set_terminated(run_id)
    client.create_model_version(model, f"{run.info.artifact_uri}/model", run_id=run_id)
    # what the link stage does: lineage.json artifact + mlflow.run_id on the output commit
    resolver = Resolver(LocalBackend(store), Tracking(client.tracking_uri))
    lineage_json = tmp / f"{n}" / "lineage.json"
    lineage_json.parent.mkdir()
    lineage_json.write_text(render.to_json(resolver.upstream_of_run(run_id)))
    client.log_artifact(run_id, str(lineage_json), "lineage")
    store.set_metadata(ps.CommitRef("train", job), "mlflow.run_id", run_id)
    return raw, run_id, job


@pytest.fixture
def dag(tmp_path: Path, mlflow_tracking_uri: str) -> Dag:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_tracking_uri)
    suffix = uuid.uuid4().hex[:8]
    exp = client.create_experiment(f"audit-{suffix}")
    model = f"audit-model-{suffix}"
    client.create_registered_model(model)
    home = tmp_path / "home"
    made = []
    with ps.Store(home) as store:
        for n in (1, 2):
            made.append(_make(store, client, exp, model, tmp_path, n))
    return Dag(home, mlflow_tracking_uri, model, *map(list, zip(*made, strict=True)))


def cli(dag: Dag, *args: str) -> Any:
    return CliRunner().invoke(
        lineage_group(),
        [*args, "--backend", "local", "--home", str(dag.home), "--tracking-uri", dag.uri],
    )


def test_verify_passes_on_an_untouched_run_by_id_version_and_alias(dag: Dag) -> None:
    from mlflow.tracking import MlflowClient

    MlflowClient(dag.uri).set_registered_model_alias(dag.model, "champion", "1")
    for subject in (dag.runs[0], f"{dag.model}/1", f"{dag.model}@champion"):
        result = cli(dag, "verify", subject, "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["ok"] and report["verdict"] == "verified"
        items = [c["item"] for c in report["checks"]]
        assert f"input raw_data@{dag.raws[0].id}: dataset input" in items
        assert any(i.startswith(f"commit raw_data@{dag.raws[0].id}: 2 files") for i in items)


def test_verify_names_a_changed_file_and_a_foreign_run_link(dag: Dag) -> None:
    home_store = ps.Store(dag.home)
    # a file's content changes under the same commit (what a corrupted store looks like) ...
    raw = dag.raws[0]
    with home_store.transaction() as tx:
        tx.execute(
            "UPDATE files SET blob = ? WHERE repo = ? AND commit_id = ? AND path = ?",
            ("0" * 64, raw.repo, raw.id, "/b.csv"),
        )
    # ... and the output commit names another run
    home_store.set_metadata(ps.CommitRef("train", dag.jobs[0]), "mlflow.run_id", dag.runs[1])
    home_store.close()
    result = cli(dag, "verify", dag.runs[0])
    assert result.exit_code == 1, result.output
    assert "NOT VERIFIED" in result.stdout
    bad = [line for line in result.stdout.splitlines() if "MISMATCH" in line]
    assert any(f"commit raw_data@{raw.id}: 2 files" in line and "b.csv" in line for line in bad)
    assert any("mlflow.run_id metadata" in line and dag.runs[1] in line for line in bad)


def test_verify_names_a_missing_input_commit(dag: Dag) -> None:
    """A run whose input commit is gone (deleted, or squashed away on a cluster)."""
    from mlflow.tracking import MlflowClient

    gone = ps.new_id()
    MlflowClient(dag.uri).set_tag(dag.runs[0], "pachyderm.input.raw_data.commit", gone)
    result = cli(dag, "verify", dag.runs[0])
    assert result.exit_code == 1, result.output
    assert f"MISMATCH commit raw_data@{gone}: exists" in result.stdout
    assert f"MISMATCH input raw_data@{gone}: dataset input" in result.stdout


def test_diff_shows_inputs_files_stages_params_metrics(dag: Dag) -> None:
    result = cli(dag, "diff", f"{dag.model}/1", f"{dag.model}/2", "--json")
    assert result.exit_code == 0, result.output
    changes = {
        (c["section"], c["item"]): (c["a"], c["b"]) for c in json.loads(result.stdout)["changes"]
    }
    assert changes[("input", "raw_data")] == (dag.raws[0].id, dag.raws[1].id)
    assert changes[("input", "train")] == (dag.jobs[0], dag.jobs[1])
    assert ("file", "raw_data:/b.csv") not in changes  # kept from the parent commit
    a_file, b_file = changes[("file", "raw_data:/a.csv")]  # replaced: same size, new hash
    assert a_file and b_file and a_file != b_file
    assert changes[("file", "raw_data:/c.csv")][0] == ""  # added
    a, b = changes[("stage", "train")]
    assert "image pachflow/train:0.1" in a and "image pachflow/train:0.2" in b
    assert changes[("param", "max_depth")] == ("5", "6")
    assert ("metric", "test.areaUnderPR") in changes
    table = cli(dag, "diff", dag.runs[0], dag.runs[1]).stdout
    assert "params: 1 changed, 0 same" in table


def test_diff_says_on_which_held_out_customers_the_metrics_were_made(dag: Dag) -> None:
    result = cli(dag, "diff", f"{dag.model}/1", f"{dag.model}/2", "--json")
    payload = json.loads(result.stdout)
    changes = {(c["section"], c["item"]): (c["a"], c["b"]) for c in payload["changes"]}
    assert changes[("holdout", "customers")] == ("1,000", "2,000")
    assert changes[("holdout", "digest")] == (f"{1:016x}", f"{2:016x}")
    assert ("holdout", "rule") not in changes  # same rule: a shared customer's side is shared
    assert "every customer both versions saw is on the same side in both" in payload["holdout"]
    table = cli(dag, "diff", dag.runs[0], dag.runs[1]).stdout
    assert "holdouts: 2 changed, 1 same" in table
    assert f"held out by customer with one rule ({HOLDOUT_RULE})" in table


def _log_heldout(dag: Dag, tmp: Path, run_id: str, rows: list[tuple[str, int, float, int]]) -> None:
    """What train logs: each held-out customer's label, fraud probability and prediction."""
    import pyarrow as pa
    from mlflow.tracking import MlflowClient

    from pachflow_contracts import heldout_scores as hs

    names, labels, scores, preds = zip(*rows, strict=True)
    columns = (hs.CUSTOMER, hs.LABEL, hs.SCORE, hs.PREDICTION)
    table = pa.table(dict(zip(columns, (names, labels, scores, preds), strict=True)))
    path = tmp / run_id / "heldout_scores.parquet"
    path.parent.mkdir()
    hs.write(table, str(path))
    MlflowClient(dag.uri).log_artifact(run_id, str(path), "evaluation")


def test_diff_compares_both_versions_on_the_held_out_customers_they_share(
    dag: Dag, tmp_path: Path
) -> None:
    # v1 held out a..d, v2 (more data) b..e: they share b, c, d (one fraud: b).
    _log_heldout(
        dag,
        tmp_path,
        dag.runs[0],
        [("a", 1, 0.9, 1), ("b", 1, 0.8, 1), ("c", 0, 0.6, 1), ("d", 0, 0.1, 0)],
    )
    _log_heldout(
        dag,
        tmp_path,
        dag.runs[1],
        [("b", 1, 0.3, 0), ("c", 0, 0.2, 0), ("d", 0, 0.1, 0), ("e", 1, 0.9, 1)],
    )
    result = cli(dag, "diff", f"{dag.model}/1", f"{dag.model}/2", "--json")
    assert result.exit_code == 0, result.output
    shared = json.loads(result.stdout)["shared_heldout"]
    assert shared["customers"] == 3
    # v1: b caught, c a false alarm -> precision 1/2, recall 1; v2 misses b: all zero.
    assert shared["a"] | {"f1": None} == {
        "customers": 3,
        "frauds": 1,
        "area_under_pr": 1.0,
        "precision": 0.5,
        "recall": 1.0,
        "f1": None,
    }
    assert shared["a"]["f1"] == pytest.approx(2 / 3)
    assert (shared["b"]["frauds"], shared["b"]["recall"], shared["b"]["f1"]) == (1, 0.0, 0.0)
    assert shared["b"]["area_under_pr"] == 1.0  # b still ranks above c and d
    table = cli(dag, "diff", dag.runs[0], dag.runs[1]).stdout
    assert "on the 3 held-out customers both runs share:" in table
    assert "F1 (prediction)" in table and "0.6667" in table


def test_diff_of_runs_without_held_out_scores_says_so(dag: Dag) -> None:
    result = cli(dag, "diff", f"{dag.model}/1", f"{dag.model}/2", "--json")
    assert result.exit_code == 0, result.output
    missing = json.loads(result.stdout)["shared_heldout"]["missing"]
    assert missing.startswith(f"run {dag.runs[0]} has no evaluation/heldout_scores.parquet")
    table = cli(dag, "diff", dag.runs[0], dag.runs[1]).stdout
    assert "no shared held-out comparison: run " in table


def test_impact_lists_every_run_and_version_that_saw_a_file(dag: Dag) -> None:
    # b.csv is kept by the second raw commit: both runs and versions saw it
    both = cli(dag, "impact", f"raw_data@{dag.raws[0].id}:/b.csv", "--json")
    assert both.exit_code == 0, both.output
    payload = json.loads(both.stdout)
    assert sorted(r["run_id"] for r in payload["runs"]) == sorted(dag.runs)
    assert sorted(m["version"] for m in payload["model_versions"]) == ["1", "2"]
    # the first a.csv was replaced by the second commit: only the first run saw it
    one = json.loads(cli(dag, "impact", f"raw_data@{dag.raws[0].id}:/a.csv", "--json").stdout)
    assert [r["run_id"] for r in one["runs"]] == [dag.runs[0]]
    assert [m["version"] for m in one["model_versions"]] == ["1"]
    assert one["commits"] == [f"raw_data@{dag.raws[0].id}"]
    missing = cli(dag, "impact", f"raw_data@{dag.raws[0].id}:/nope.csv")
    assert missing.exit_code == 2 and "no file /nope.csv" in missing.output
