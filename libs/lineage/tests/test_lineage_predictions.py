"""Lineage reaches predictions: from a score commit (its `<file>/scoring.json` records) to the
model version that scored, its MLflow run and the raw_data commits and files that trained
it; `impact` of a raw file lists the predictions made by models that saw it. Over the
local store and a real MLflow server (the `local_dag` fixture, plus one scoring job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import pachflow_store as ps
from pachflow_contracts.run_tags import TAG_SCORING
from pachflow_lineage.commands import lineage_group
from pachflow_testing.local_dag import finished_job, put_spec


@pytest.fixture(scope="module")
def scored(local_dag: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """transactions@T -> score job (spec S) -> score@J holding day-1.csv/scoring.json, which
    names model version 1 (as the score stage writes it); version 1 tagged with J."""
    v1 = local_dag.versions[0]
    tmp = tmp_path_factory.mktemp("scored")
    (tmp / "day-1.csv").write_text("step,type\n1,PAYMENT\n")
    with ps.Store(local_dag.home) as store:
        txs = store.put_files("transactions", [("day-1.csv", tmp / "day-1.csv")])
        spec = put_spec(store, "score", b'{"pipeline": {"name": "score"}}')
        job = ps.new_id()
        record = {
            "source": "day-1.csv",
            "model": {"name": local_dag.model, "version": v1.model_version, "run_id": v1.run_id},
            "counts": {"rows_read": 1, "customers": 1, "flagged": 0},
        }
        content = json.dumps(record).encode()
        outputs = {"/day-1.csv/scoring.json": content, "/day-1.csv/predictions.parquet": content}
        finished_job(store, "score", job, spec.id, [txs], outputs)
    MlflowClient(local_dag.tracking_uri).set_model_version_tag(
        local_dag.model, v1.model_version, TAG_SCORING.format(commit=job), f"score@{job}"
    )
    return {"job": job, "transactions": txs.id}


def invoke(dag: Any, *args: str) -> Any:
    result = CliRunner().invoke(
        lineage_group(),
        [*args, "--backend", "local", "--home", str(dag.home), "--tracking-uri", dag.tracking_uri],
    )
    assert result.exit_code == 0, result.output
    return result


def test_a_predictions_commit_resolves_to_the_model_its_run_and_the_raw_files(
    local_dag: Any, scored: dict[str, str]
) -> None:
    v1, v2 = local_dag.versions
    job = scored["job"]
    payload = json.loads(invoke(local_dag, "commit", f"score@{job}", "--json").stdout)
    repos = {(c["repo"], c["id"]) for c in payload["commits"]}
    assert {
        ("score", job),
        ("transactions", scored["transactions"]),
        ("raw_data", v1.raw.id),
        ("split", v1.job_id),
        ("train", v1.job_id),
    } <= repos
    assert ("raw_data", v2.raw.id) not in repos  # the other data version trained another model
    raw = next(c for c in payload["commits"] if c["repo"] == "raw_data")
    assert [f["path"] for f in raw["files"]] == ["paysim-1.csv"]
    assert [r["run_id"] for r in payload["runs"]] == [v1.run_id]
    [mv] = payload["model_versions"]
    assert (mv["name"], mv["version"]) == (local_dag.model, v1.model_version)
    assert f"score@{job}" in mv["scoring_commits"]
    edges = {(e["src"], e["dst"], e["kind"]) for e in payload["edges"]}
    model_key = f"model:{local_dag.model}/{v1.model_version}"
    assert (model_key, f"job:score@{job}", "scored") in edges
    assert (f"run:{v1.run_id}", model_key, "registered") in edges
    assert payload["info"]["model versions"] == f"{local_dag.model}/{v1.model_version}"


def test_the_table_and_html_show_the_same_walk(
    local_dag: Any, scored: dict[str, str], tmp_path: Path
) -> None:
    page = tmp_path / "lineage.html"
    text = invoke(local_dag, "commit", f"score@{scored['job']}", "--html", str(page)).stdout
    assert local_dag.versions[0].raw.id[:12] in text
    assert "scored" in text
    assert local_dag.versions[0].run_id in page.read_text()


def test_impact_of_a_raw_file_lists_the_predictions_of_models_that_saw_it(
    local_dag: Any, scored: dict[str, str]
) -> None:
    v1, v2 = local_dag.versions
    seen = json.loads(
        invoke(local_dag, "impact", f"raw_data@{v1.raw.id}:/paysim-1.csv", "--json").stdout
    )
    assert seen["predictions"] == [f"score@{scored['job']}"]
    other = json.loads(
        invoke(local_dag, "impact", f"raw_data@{v2.raw.id}:/paysim-2.csv", "--json").stdout
    )
    assert other["predictions"] == []
