"""`pachflow reproduce` on the local chain: a model version is rebuilt from its exact
commits and stage versions in a store of its own, after newer data was added on top, and
the verdict says reproduced (params, metrics, data hashes, fitted model, input example),
also for a model fitted on a Spark Connect server (v1 ran on the session's warm engine;
the reproduction runs the stages' in-process Spark);
the user's store heads and the model's alias are not touched; a run whose commits are
gone gets a clear error naming the commit.

The chain is the session's shared one (conftest.py `local_history`, v2 on top of v1) and
the reproduction of v1's model version is made once (`reproduction`), for this test and
for the reproducibility test."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.spark


def test_reproduce_a_model_after_new_data_was_added(local_history: Any, reproduction: Any) -> None:
    from mlflow.tracking import MlflowClient

    from pachflow.cli import main

    chain, (first, second) = local_history.chain, local_history.versions
    assert reproduction.exit_code == 0, reproduction.output
    verdict = reproduction.verdict
    assert verdict["ok"] and verdict["verdict"] == "reproduced", verdict
    items = {c["item"] for c in verdict["checks"]}
    assert {"data etl", "data split", "data raw_data"} <= {i.split(":")[0] for i in items}
    assert any(i.startswith("model ") and "fitted data" in i for i in items)
    assert "metric test_areaUnderPR" in items and "param seed" in items
    assert "model input example" in items  # v1 ran on the warm engine, the reproduction not
    # each check says what it found: "equal" where it passed (it once said "differ")
    assert all(c["found"] == c["expected"] for c in verdict["checks"] if "model " in c["item"])
    new_run = verdict["info"]["new run"].split()[0]
    assert new_run != first.run_id
    client = MlflowClient(chain.tracking_uri)
    assert client.get_run(new_run).data.tags["pachflow.reproduces"] == first.run_id
    # its own experiment, not the user's; its store removed, its run and model intact
    original = client.get_experiment(client.get_run(first.run_id).info.experiment_id).name
    mine = client.get_experiment(client.get_run(new_run).info.experiment_id).name
    assert mine == original + "-reproductions"
    assert "removed" in verdict["info"]["where"]
    assert not any((chain.home / "reproductions").iterdir())
    assert {a.path for a in client.list_artifacts(new_run)} >= {"model"}

    # the user's heads and the model's alias did not move
    assert reproduction.heads_after == reproduction.heads_before
    assert reproduction.alias_after == reproduction.alias_before

    # a run whose output commit is gone: exit 2 naming it (the tag is put back after: the
    # chain is shared)
    gone = "0" * 32
    client.set_tag(second.run_id, "pachyderm.output_commit", gone)
    try:
        bad = CliRunner().invoke(
            main,
            ["reproduce", second.run_id],
            env={"PACHFLOW_HOME": str(chain.home), "MLFLOW_TRACKING_URI": chain.tracking_uri},
        )
    finally:
        client.set_tag(second.run_id, "pachyderm.output_commit", second.train_commit)
    assert bad.exit_code == 2, bad.output
    assert f"train@{gone}" in bad.output and "cannot reproduce" in bad.output
