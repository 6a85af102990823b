"""The link stage over the local store: outputs, MLflow artifacts/tags, commit metadata,
and the same end state when a datum is retried."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import pachflow_store as ps
from pachflow_lineage.render import graphviz_available
from pachflow_provenance.cli import main
from pachflow_testing.startup import imported_by


def link(dag: Any, run_id: str, tmp: Path, attempt: int) -> tuple[Any, Path]:
    out = tmp / f"out{attempt}"
    return link_manifest(dag, {"run_id": run_id}, out, {}), out


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


def test_link_to_a_tracking_server_writes_through_its_rest_api_without_importing_mlflow(
    local_dag: Any, tmp_path: Path
) -> None:
    """Against an http(s) tracking server (a cluster's MLflow) the stage writes its tags and
    artifacts through MLflow's REST API: the whole link, in a fresh process, never imports
    mlflow (~4 s of the stage's ~5 s before: it pulls pandas and pyspark in)."""
    if not local_dag.tracking_uri.startswith(("http://", "https://")):
        pytest.skip("PACHFLOW_TEST_MLFLOW=sqlite: a SQLite store is written through MlflowClient")
    v1, _ = local_dag.versions
    train = tmp_path / "in" / "train"
    train.mkdir(parents=True)
    (train / "run.json").write_text(
        json.dumps({"run_id": v1.run_id, "tracking_uri": local_dag.tracking_uri})
    )
    env = {k: v for k, v in os.environ.items() if k != "PACHD_ADDRESS"}
    env |= {"PACHFLOW_HOME": str(local_dag.home), "MLFLOW_TRACKING_URI": local_dag.tracking_uri}
    client = MlflowClient(local_dag.tracking_uri)
    tag = "pachyderm.upstream.raw_data.commit"
    client.set_tag(v1.run_id, tag, "stale")  # so the values read below are this link's
    client.set_model_version_tag(local_dag.model, v1.model_version, tag, "stale")
    args = ["link", str(train), str(tmp_path / "out")]
    _, modules = imported_by("pachflow_provenance.cli", "pachflow-provenance", args, env=env)
    assert "mlflow" not in modules
    assert client.get_run(v1.run_id).data.tags[tag] == v1.raw.id
    assert client.get_model_version(local_dag.model, v1.model_version).tags[tag] == v1.raw.id
    got = Path(client.download_artifacts(v1.run_id, "lineage/lineage.json", str(tmp_path)))
    assert got.read_text() == (tmp_path / "out" / "lineage.json").read_text()


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


def _registered(dag: Any, version: Any, alias: str) -> dict[str, str]:
    return {"name": dag.model, "version": version.model_version, "alias": alias}


def _reused_train_commit(dag: Any) -> str:
    """A newer train commit holding an earlier output (what a skipped datum makes); no
    provenance, so the shared fixture's downstream walks do not meet it."""
    with ps.Store(dag.home) as store, store.writing_blobs():
        v1_commit = ps.CommitRef("train", dag.versions[0].job_id)
        with store.transaction() as tx:
            ref = store.insert_commit(
                tx,
                ps.CommitRef("train", ps.new_id()),
                store.manifest(v1_commit),
                [],
                ps.ORIGIN_AUTO,
            )
    return ref.id


def link_manifest(dag: Any, manifest: dict[str, Any], out: Path, env: dict[str, str]) -> Any:
    train = out.parent / f"{out.name}-in" / "train"
    train.mkdir(parents=True)
    (train / "run.json").write_text(json.dumps(manifest | {"tracking_uri": dag.tracking_uri}))
    return CliRunner().invoke(
        main,
        ["link", str(train), str(out)],
        # the operator names the server (credentials never go to a URI read from run.json)
        env={
            "PACHFLOW_HOME": str(dag.home),
            "MLFLOW_TRACKING_URI": dag.tracking_uri,
            "PACHD_ADDRESS": None,
        }
        | env,
    )


def test_link_moves_the_alias_to_the_version_of_the_output_it_reads(
    local_dag: Any, tmp_path: Path
) -> None:
    """The registry follows the data: v2's output, then an output reused from v1 (a deleted
    file or reverted spec skips train's datum): the alias goes back to v1, and the new train
    commit that holds v1's output carries v1's run and version as metadata."""
    v1, v2 = local_dag.versions
    client = MlflowClient(local_dag.tracking_uri)
    alias = f"head-{uuid.uuid4().hex[:8]}"  # the fixture is shared: leave "candidate" alone
    try:
        added = link_manifest(
            local_dag,
            {"run_id": v2.run_id, "registered_model": _registered(local_dag, v2, alias)},
            tmp_path / "out-v2",
            {"train_COMMIT": v2.job_id},
        )
        assert added.exit_code == 0, added.output
        assert client.get_model_version_by_alias(local_dag.model, alias).version == v2.model_version

        reused = _reused_train_commit(local_dag)
        back = link_manifest(
            local_dag,
            {"run_id": v1.run_id, "registered_model": _registered(local_dag, v1, alias)},
            tmp_path / "out-reused",
            {"train_COMMIT": reused},
        )

        assert back.exit_code == 0, back.output
        assert client.get_model_version_by_alias(local_dag.model, alias).version == v1.model_version
        with ps.Store(local_dag.home) as store:
            meta = store.get_metadata(ps.CommitRef("train", reused))
        assert meta["mlflow.run_id"] == v1.run_id
        assert meta["mlflow.model_version"] == f"{local_dag.model}/{v1.model_version}"
    finally:
        client.delete_registered_model_alias(local_dag.model, alias)


def test_link_refuses_a_run_json_naming_another_runs_version(
    local_dag: Any, tmp_path: Path
) -> None:
    v1, v2 = local_dag.versions
    client = MlflowClient(local_dag.tracking_uri)
    alias = f"head-{uuid.uuid4().hex[:8]}"
    client.set_registered_model_alias(local_dag.model, alias, v1.model_version)
    try:
        result = link_manifest(
            local_dag,
            {"run_id": v1.run_id, "registered_model": _registered(local_dag, v2, alias)},
            tmp_path / "out",
            {},
        )

        assert result.exit_code == 2, result.output
        assert f"made by run {v2.run_id}, not run {v1.run_id}" in result.output
        assert not (tmp_path / "out").exists()
        assert client.get_model_version_by_alias(local_dag.model, alias).version == v1.model_version
    finally:
        client.delete_registered_model_alias(local_dag.model, alias)


def test_no_tracking_uri_anywhere_exits_2_and_writes_nothing_into_the_working_directory(
    tmp_path: Path,
) -> None:
    """Neither the operator nor run.json names MLflow: provenance must not fall back to
    MLflow's default store (./mlflow.db in whatever directory the user is in)."""
    from pachflow_testing.bare_run import error_lines, run_without_mlflow

    cwd, src, out = tmp_path / "cwd", tmp_path / "in", tmp_path / "out"
    cwd.mkdir()
    src.mkdir()
    (src / "run.json").write_text(json.dumps({"run_id": "0" * 32}))
    done = run_without_mlflow("pachflow-provenance", ["link", str(src), str(out)], cwd)
    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done)
    assert "no MLflow tracking URI" in line and f"{src / 'run.json'} names none" in line, line
    assert list(cwd.iterdir()) == []
    assert not out.exists() or list(out.iterdir()) == []
