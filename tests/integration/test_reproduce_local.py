"""`pachflow reproduce` on the local chain: a model version is rebuilt from its exact
commits and stage versions in a store of its own, after newer data was added on top, and
the verdict says reproduced (params, metrics, data hashes, fitted model, input example);
the user's store heads and the model's alias are not touched; a run whose commits are
gone gets a clear error naming the commit."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS = REPO_ROOT / "pipelines"
ROWS = 20_000
STAGE_MODULES = ["pachflow_split.cli", "pachflow_etl.cli", "pachflow_train.cli"]

pytestmark = pytest.mark.spark


def test_reproduce_a_model_after_new_data_was_added(tmp_path, mlflow_server, monkeypatch):
    missing = [m for m in STAGE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"stage code not installed yet: {', '.join(missing)}")
    from mlflow.tracking import MlflowClient

    from pachflow.cli import main
    from pachflow.local.progress import Progress
    from pachflow.local.runner import Runner
    from pachflow.local.specs import load_specs
    from pachflow_paysim.generator import write_paysim
    from pachflow_store import CommitRef, Store

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    home = tmp_path / "home"
    monkeypatch.setenv("PACHFLOW_HOME", str(home))
    runs = []
    with Store(home) as store:
        for day, seed in (("day1", 3), ("day2", 4)):
            data = tmp_path / f"{day}.csv.gz"
            write_paysim(data, ROWS, seed)
            store.put_files("raw_data", [("/" + data.name, data)])
            summary = Runner(store, load_specs(SPECS), progress=Progress(quiet=True)).run()
            assert not summary.failed, [(o.pipeline, o.reason) for o in summary.failed]
            train = CommitRef("train", store.head("train"))
            runs.append(json.loads(store.file_blob(train, "/run.json").read_bytes()))
        heads = {r: store.head(r) for r in ("raw_data", "split", "etl", "train")}
    first = runs[0]
    model, version = first["registered_model"]["name"], first["registered_model"]["version"]
    client = MlflowClient(mlflow_server.uri)
    alias_before = client.get_model_version_by_alias(model, "candidate").version

    result = CliRunner().invoke(main, ["reproduce", f"{model}/{version}", "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["ok"] and verdict["verdict"] == "reproduced", verdict
    items = {c["item"] for c in verdict["checks"]}
    assert {"data etl", "data split", "data raw_data"} <= {i.split(":")[0] for i in items}
    assert any(i.startswith("model ") and "fitted data" in i for i in items)
    assert "metric test_areaUnderPR" in items and "param seed" in items
    new_run = verdict["info"]["new run"].split()[0]
    assert new_run != first["run_id"]
    assert client.get_run(new_run).data.tags["pachflow.reproduces"] == first["run_id"]
    # its own experiment, not the user's; its store removed, its run and model intact
    original = client.get_experiment(client.get_run(first["run_id"]).info.experiment_id).name
    mine = client.get_experiment(client.get_run(new_run).info.experiment_id).name
    assert mine == original + "-reproductions"
    assert "removed" in verdict["info"]["where"]
    assert not any((home / "reproductions").iterdir())
    assert {a.path for a in client.list_artifacts(new_run)} >= {"model"}

    # the user's heads and the model's alias did not move
    with Store(home) as store:
        assert {r: store.head(r) for r in heads} == heads
    assert client.get_model_version_by_alias(model, "candidate").version == alias_before

    # a run whose output commit is gone: exit 2 naming it
    gone = "0" * 32
    client.set_tag(runs[1]["run_id"], "pachyderm.output_commit", gone)
    bad = CliRunner().invoke(main, ["reproduce", runs[1]["run_id"]])
    assert bad.exit_code == 2, bad.output
    assert f"train@{gone}" in bad.output and "cannot reproduce" in bad.output
