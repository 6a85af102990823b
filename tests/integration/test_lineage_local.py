"""Lineage end to end: the real DAG (split -> etl -> train -> provenance) on two successive
data versions, then both directions through `pachflow lineage` / `pachflow-provenance`.

The two versions are the session's shared chain (conftest.py `history`): locally (always)
`pachflow put` + `pachflow run` over the committed specs with the real MLflow server
fixture; on a cluster (when PACHD_ADDRESS is set) the same puts where `make deploy` created
the pipelines, with MLFLOW_TRACKING_URI naming the MLflow those pipelines track to.

The point: the second raw commit maps to the second run (and model version), never to the
first, in both directions, and the provenance stage linked each run to its own data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.spark


def _commits(payload: dict[str, Any], repo: str) -> set[str]:
    return {c["id"] for c in payload["commits"] if c["repo"] == repo and c["type"] == "user"}


def test_two_data_versions_resolve_to_their_own_runs_both_ways(history: Any) -> None:
    chain, (v1, v2) = history.chain, history.versions
    assert v1.run_id != v2.run_id and v1.raw != v2.raw

    for mine, other in ((v1, v2), (v2, v1)):
        # commit -> downstream: this raw commit's run, never the other one
        down = chain.lineage("commit", f"raw_data@{mine.raw}")
        assert [r["run_id"] for r in down["runs"]] == [mine.run_id]
        assert mine.train_commit in _commits(down, "train")
        assert other.run_id not in json.dumps(down)
        assert len(down["model_versions"]) == 1
        # run -> upstream: down to this raw commit, not the other one
        up = chain.lineage("run", mine.run_id)
        assert _commits(up, "raw_data") == {mine.raw}
        assert {"split", "etl", "train"} <= {c["repo"] for c in up["commits"]}
        assert {"split", "etl", "train"} <= {
            c["repo"] for c in up["commits"] if c["type"] == "spec"
        }
        raw = next(c for c in up["commits"] if c["repo"] == "raw_data")
        assert raw["files"] and all(f["size"] > 0 for f in raw["files"])
        # the provenance stage linked this run and its train commit to this data
        tags = {k: v for r in up["runs"] for k, v in r["tags"].items()}
        assert tags["pachyderm.upstream.raw_data.commit"] == mine.raw
        meta = chain.commit_metadata(mine.train_commit)
        assert meta["mlflow.run_id"] == mine.run_id
        assert meta["mlflow.model_version"] == ",".join(
            f"{m['name']}/{m['version']}" for m in up["model_versions"]
        )
        _assert_no_credential([down, up, meta], chain.home)


def _assert_no_credential(outputs: list[Any], home: Path | None) -> None:
    """The MLflow password the stages ran with (the mlflow-credentials secret) is in no
    `--json` output (runs with their params and tags), no commit metadata, and locally in
    no file of the store: lineage.json/.mmd, run.json, every job's logs."""
    secret = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if not secret:
        return
    assert secret not in json.dumps(outputs)
    for path in home.rglob("*") if home else ():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
