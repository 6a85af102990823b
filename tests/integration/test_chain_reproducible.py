"""Reproducible by construction: two cold runs of the whole local chain over the same data
(separate stores, nothing reused) write byte-identical feature files and give the same
model metrics. Fails when any stage writes run-dependent bytes (random file names,
shuffle-ordered rows, timings or datum paths in outputs) or its seeded work depends on them.

The two cold runs (issue 16: at 100k rows) are the shared chain's v1 (conftest.py
`local_history`: a.csv.gz into an empty store) and its reproduction (`reproduction`:
`pachflow reproduce` puts v1's raw files into a new store and runs every pipeline there).
Files: reproduce compares every path and content hash (sha256) of each upstream commit
of both runs (its `data <repo>` checks, counted here against v1's own commits); params
and model metrics are compared here, exactly. v1 ran on the session's warm Spark Connect
server and the reproduction in-process, so this also holds the two Spark paths equal.
"""

from __future__ import annotations

from typing import Any

import pytest

#: Wall-clock metrics train logs: they describe the run, not the model.
TIMING_METRICS = {"fit_seconds", "evaluate_seconds"}

pytestmark = pytest.mark.spark


def test_two_cold_runs_write_identical_features_and_metrics(
    local_history: Any, reproduction: Any
) -> None:
    from mlflow.tracking import MlflowClient

    from pachflow.reproduce.compare import WHERE_IT_RAN
    from pachflow_store import CommitRef, Store

    v1 = local_history.versions[0]
    assert reproduction.exit_code == 0, reproduction.output
    with Store(local_history.chain.home) as store:
        files = {
            repo: sorted(store.manifest(CommitRef(repo, commit)))
            for repo, commit in (
                ("raw_data", v1.raw),
                ("split", v1.heads["split"]),
                ("etl", v1.heads["etl"]),
            )
        }
    assert len(files["raw_data"]) == 1 and any(p.endswith(".parquet") for p in files["etl"])

    # the same data in; split and etl: the same paths with the same content hashes
    checks = {c["item"]: c for c in reproduction.verdict["checks"]}
    for repo, paths in files.items():
        check = checks[f"data {repo}: {len(paths)} files, content hashes"]
        assert check["ok"], check

    # train: same params, same model metrics (exactly: same rows, same seeds, same plan)
    client = MlflowClient(local_history.chain.tracking_uri)
    a = client.get_run(v1.run_id).data
    b = client.get_run(reproduction.verdict["info"]["new run"].split()[0]).data
    # the same params but those naming the Spark it ran on: v1 ran on the session's warm
    # engine (sc://...), the reproduction in-process (local[N])
    assert a.params["spark_master"].startswith("sc://")
    assert b.params["spark_master"].startswith("local[")
    assert {k: v for k, v in a.params.items() if k not in WHERE_IT_RAN} == {
        k: v for k, v in b.params.items() if k not in WHERE_IT_RAN
    }
    model_metrics = set(a.metrics) - TIMING_METRICS
    assert model_metrics and {k: a.metrics[k] for k in model_metrics} == {
        k: b.metrics[k] for k in model_metrics
    }
