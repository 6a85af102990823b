"""The whole chain (raw_data -> split -> etl -> train -> provenance) on a backend, against a
real MLflow server, asserting the links between MLflow runs and Pachyderm commits in both
directions, and what an incremental run recomputes.

Both tests read the session's shared two-version chain (conftest.py `history`: v1 a cold
run, v2 a second file on top), on the local backend (always) and on a cluster (when
PACHD_ADDRESS and MLFLOW_TRACKING_URI name one; skipped otherwise).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

SPECS = Path(__file__).resolve().parents[2] / "pipelines"

pytestmark = pytest.mark.spark


def test_chain_links_runs_and_commits_both_ways(history: Any) -> None:
    from mlflow.tracking import MlflowClient

    chain, v1 = history.chain, history.versions[0]

    # commits: train <- etl <- split <- raw_data, each by direct provenance
    train = chain.inspect("train", v1.train_commit)
    etl = chain.inspect(*train.provenance[0])
    split = chain.inspect(*etl.provenance[0])
    assert [train.provenance[0][0], etl.provenance[0][0], split.provenance[0][0]] == [
        "etl",
        "split",
        "raw_data",
    ]
    assert split.provenance == (("raw_data", v1.raw),)
    assert train.spec and etl.spec and split.spec

    # etl ran with datum batching: one process (one Spark session) per worker for all its
    # 16 datums; the spec's 2 workers, capped at the machine's cores
    if chain.name == "local":
        with chain.store() as store:
            logs = store.logs_dir / "etl" / etl.id
        starts = [
            log.read_text().count("--- pachflow: started") for log in logs.glob("worker*.log")
        ]
        assert starts == [1] * min(2, os.cpu_count() or 1), starts

    # commit -> run: train's output names its MLflow run
    manifest = json.loads(chain.read("train", train.id, "/run.json"))
    run_id = manifest["run_id"]
    assert chain.read("train", train.id, f"/{run_id}") == b""  # the seed's marker file
    client = MlflowClient(chain.tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["pachyderm.pipeline"] == "train"
    assert tags["pachyderm.job_id"] == train.id
    assert tags["pachyderm.output_commit"] == train.id
    assert tags["pachyderm.spec_commit"] == train.spec
    assert tags["pachyderm.input.etl.repo"] == "etl"
    assert tags["pachyderm.input.etl.commit"] == etl.id
    assert {m for m in run.data.metrics} >= set(manifest["metrics"])

    # run -> commit: the run is found from the commit id alone
    found = client.search_runs(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"tags.`pachyderm.output_commit` = '{train.id}'",
    )
    assert [r.info.run_id for r in found] == [run_id]

    # the provenance pipeline records the run on train's output commit (commit metadata)
    if "provenance" in v1.heads:
        assert chain.inspect("provenance", v1.heads["provenance"]).provenance == (
            ("train", train.id),
        )
        assert chain.inspect("train", train.id).metadata.get("mlflow.run_id") == run_id

    # the registered model version comes from that run
    registered = manifest["registered_model"]
    version = client.get_model_version(registered["name"], str(registered["version"]))
    assert version.run_id == run_id


def features_of(chain: Any, etl_commit: str, into: Path) -> Any:
    """The features every reader gets from an etl commit (pachflow_features' merge), as
    rows sorted by customer."""
    files = []
    for path in chain.files("etl", etl_commit):
        if path.endswith(".parquet"):
            local = into / etl_commit / path.lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(chain.read("etl", etl_commit, path))
            files.append(local)
    return _features(files)


def _features(files: list[Path]) -> Any:
    from pachflow_features import read_features
    from pachflow_spark import SparkSettings, build_session

    spark = build_session("chain-test-features", SparkSettings("local[2]", "1g", 2))
    return read_features(spark, files).toPandas().sort_values("nameOrig").reset_index(drop=True)


def cold_features(files: list[Path], tmp: Path, specs: Path) -> Any:
    """The features of a cold run over `files` in one commit, on a fresh store, run
    in-process by the local runner as far as etl (features only: no train)."""
    from pachflow.local.progress import Progress
    from pachflow.local.runner import Runner
    from pachflow.local.specs import load_specs
    from pachflow_store import CommitRef, Store

    with Store(tmp / "cold-home") as store:
        store.put_files("raw_data", [("/" + f.name, f) for f in files])
        specs_list = load_specs(specs)
        names = [s.name for s in specs_list]
        upto = specs_list[: names.index("etl") + 1]  # DAG order: its upstream comes first
        summary = Runner(store, upto, progress=Progress(quiet=True)).run()
        assert not summary.failed, [(o.pipeline, o.reason) for o in summary.failed]
        etl = CommitRef("etl", store.head("etl"))
        parquet = {p: b for p, (b, _size) in store.manifest(etl).items() if p.endswith(".parquet")}
        local = []
        for path, blob in parquet.items():
            dest = tmp / "cold" / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(store.blobs.path(blob).read_bytes())
            local.append(dest)
    return _features(local)


def runs_of(client: Any, run_id: str) -> int:
    """How many train runs the experiment of `run_id` holds."""
    experiment = client.get_run(run_id).info.experiment_id
    return len(client.search_runs(experiment_ids=[experiment], max_results=1000))


def test_new_data_recomputes_only_what_it_touches(history: Any, tmp_path: Path) -> None:
    """+ a small raw file (v2): only its datums run, one new MLflow run naming the new etl
    commit, features equal to a cold run over both files; + an empty file: no new run;
    - the small file: features equal to the first run's again. (The last two add to the
    shared chain: other tests read it by commit id, so they see no change.)"""
    import pandas as pd
    from mlflow.tracking import MlflowClient

    chain, (v1, v2) = history.chain, history.versions
    client = MlflowClient(chain.tracking_uri)
    features_first = features_of(chain, v1.heads["etl"], tmp_path)

    # v2: a second file on top of the first
    if chain.name == "local":
        assert v2.datums["split"] == (1, 1)  # only the new file
        processed, skipped = v2.datums["etl"]
        assert processed <= 16 and skipped >= 16  # only the new file's shard files
    assert v2.run_id != v1.run_id and v2.runs_in_experiment == v1.runs_in_experiment + 1
    run = client.get_run(v2.run_id)
    etl_added = v2.heads["etl"]
    assert run.data.tags["pachyderm.input.etl.commit"] == etl_added
    assert [i.dataset.source for i in run.inputs.dataset_inputs if etl_added in i.dataset.source]
    added = features_of(chain, etl_added, tmp_path)
    if chain.name == "local":
        cold = cold_features([v1.file, v2.file], tmp_path, SPECS)
        pd.testing.assert_frame_equal(added, cold)
    assert len(added) > len(features_first)

    # + a file with no rows: no customer changes, so train is skipped (no new run)
    empty = tmp_path / "c.csv"
    with gzip.open(v1.file, "rt") as fh:
        empty.write_text(fh.readline())  # the header line alone
    runs = runs_of(client, v2.run_id)
    chain.run(chain.put_raw(empty))
    if chain.name == "local":
        assert chain.datums("train") == (0, 1)
    assert json.loads(chain.read("train", chain.head("train").id, "/run.json"))["run_id"] == (
        v2.run_id
    )
    assert runs_of(client, v2.run_id) == runs

    # - the second file: its datums just vanish, the features are the first run's again
    chain.run(chain.delete_raw(v2.file.name))
    if chain.name == "local":
        assert chain.datums("etl")[0] == 0  # nothing to compute
    pd.testing.assert_frame_equal(
        features_of(chain, chain.head("etl").id, tmp_path), features_first
    )
