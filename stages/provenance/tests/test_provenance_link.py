"""The link stage over the local store: outputs, MLflow artifacts/tags, commit metadata,
and the same end state when a datum is retried."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import pachflow_store as ps
from pachflow_lineage.render import graphviz_available
from pachflow_provenance.cli import main


def link(dag: Any, run_id: str, tmp: Path, attempt: int) -> tuple[Any, Path]:
    train = tmp / "pfs" / "train"
    train.mkdir(parents=True, exist_ok=True)
    (train / "run.json").write_text(
        json.dumps({"run_id": run_id, "tracking_uri": dag.tracking_uri})
    )
    out = tmp / f"out{attempt}"
    result = CliRunner().invoke(
        main,
        ["link", str(train), str(out)],
        env={"PACHFLOW_HOME": str(dag.home), "MLFLOW_TRACKING_URI": None, "PACHD_ADDRESS": None},
    )
    return result, out


def test_link_writes_lineage_and_links_both_ways_idempotently(
    local_dag: Any, tmp_path: Path
) -> None:
    v1, v2 = local_dag.versions
    client = MlflowClient(local_dag.tracking_uri)
    states = []
    for attempt in (1, 2):  # a retried datum: fresh output dir, same run
        result, out = link(local_dag, v1.run_id, tmp_path, attempt)
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in out.iterdir()) == ["lineage.json", "lineage.mmd"]
        lineage = json.loads((out / "lineage.json").read_text())
        assert ("raw_data", v1.raw.id) in {(c["repo"], c["id"]) for c in lineage["commits"]}
        assert (out / "lineage.mmd").read_text().startswith("flowchart TD")
        run = client.get_run(v1.run_id)
        mv = client.get_model_version(local_dag.model, v1.model_version)
        artifacts = sorted(a.path for a in client.list_artifacts(v1.run_id, "lineage"))
        with ps.Store(local_dag.home) as store:
            meta = store.get_metadata(ps.CommitRef("train", v1.job_id))
        states.append((run.data.tags, mv.tags, artifacts, meta, lineage))

    tags, mv_tags, artifacts, meta, lineage = states[0]
    assert states[1] == states[0]
    assert tags["pachyderm.upstream.raw_data.commit"] == v1.raw.id
    assert tags["pachyderm.upstream.split.commit"] == v1.job_id
    assert tags["pachyderm.upstream.train.spec.commit"] == local_dag.spec_train
    assert mv_tags["pachyderm.upstream.raw_data.commit"] == v1.raw.id
    expected = ["lineage/lineage.json", "lineage/lineage.mmd"]
    if graphviz_available():
        expected.append("lineage/lineage.png")
    assert artifacts == expected
    assert meta["mlflow.run_id"] == v1.run_id
    assert meta["mlflow.model_version"] == f"{local_dag.model}/{v1.model_version}"
    # the other version's run is untouched
    assert "pachyderm.upstream.raw_data.commit" not in client.get_run(v2.run_id).data.tags


def test_link_refuses_input_without_run_json(local_dag: Any, tmp_path: Path) -> None:
    empty = tmp_path / "train"
    empty.mkdir()
    result = CliRunner().invoke(
        main,
        ["link", str(empty), str(tmp_path / "out")],
        env={"PACHFLOW_HOME": str(local_dag.home)},
    )
    assert result.exit_code == 2
    assert "run.json" in result.output
    assert not (tmp_path / "out").exists()
