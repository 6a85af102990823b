"""The registry follows the data: whatever makes train's output the head of train@master (a
new run, a deleted file, a reverted spec, an input change train does not see) leaves the
model alias on the version that output records, and that train commit names its run and
version, so every answer the tool gives names the same model.

The newcomer sequence first, exactly as a user types it: `pachflow demo`, put a file, run,
delete that file, run. Then a spec change and its revert, and a header-only file (train's
datum skipped). After each step the run summary, the registry's `candidate`, `pachflow
lineage model NAME/candidate` and `pachflow lineage commit raw_data@<head>` all name the
version whose run.json is at train@master.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS = REPO_ROOT / "pipelines"
BIN = Path(sys.executable).parent
DEMO_ROWS = 20_000  # ~26 frauds: enough for train's split; the demo adds 5 % on top
MODEL = "pachflow-fraud-detector"
RUN_TIMEOUT_S = 1800

pytestmark = [pytest.mark.spark, pytest.mark.slow]


class Newcomer:
    """`pachflow` on the command line, with a private store and the test MLflow server."""

    def __init__(self, home: Path, tracking_uri: str, spark: str) -> None:
        self.home = home
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PACH_", "PPS_", "PACHD_"))
        } | {
            "PACHFLOW_HOME": str(home),
            "MLFLOW_TRACKING_URI": tracking_uri,
            "PACHFLOW_RUN_SPARK": spark,  # the session's warm engine: 7 runs, no cold JVM
        }
        self.tracking_uri = tracking_uri

    def __call__(self, *args: str) -> str:
        proc = subprocess.run(
            [str(BIN / "pachflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        assert proc.returncode == 0, f"pachflow {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def run(self, specs: Path = SPECS) -> str:
        return self("run", "--specs", str(specs), "-q")

    def head(self, repo: str) -> str:
        commit = json.loads(self("inspect", "commit", f"{repo}@master", "--json"))["commit"]
        return str(commit).rpartition("@")[2]

    def run_json(self) -> dict[str, Any]:
        return json.loads(self("get", "train@master:/run.json"))

    def candidate(self) -> str:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(self.tracking_uri)
        return str(client.get_model_version_by_alias(MODEL, "candidate").version)

    def assert_all_name(self, version: str, summary: str | None, new_data: bool = True) -> None:
        """The registry, the run summary, lineage of the alias and of raw_data's head, and
        train@master's metadata all name `version`, the one train@master's run.json holds.
        Without `new_data` (a spec change: raw_data's head fed earlier train commits too),
        raw_data's head names `version` among the models made from it."""
        recorded = self.run_json()
        assert recorded["registered_model"]["version"] == version
        assert self.candidate() == version
        if summary is not None:
            assert re.search(rf"model version +{MODEL} v{version}, alias candidate ", summary), (
                summary
            )
        model = json.loads(self("lineage", "model", f"{MODEL}/candidate", "--json"))
        assert model["subject"] == f"model:{MODEL}/{version}"
        down = json.loads(self("lineage", "commit", f"raw_data@{self.head('raw_data')}", "--json"))
        made = [(m["name"], m["version"]) for m in down["model_versions"]]
        if new_data:
            assert made == [(MODEL, version)]
            assert [r["run_id"] for r in down["runs"]] == [recorded["run_id"]]
        else:
            assert (MODEL, version) in made
        meta = json.loads(self("inspect", "commit", "train@master", "--json"))["metadata"]
        assert meta["mlflow.run_id"] == recorded["run_id"]
        assert meta["mlflow.model_version"] == f"{MODEL}/{version}"

    def raw_files_of_candidate(self) -> set[str]:
        """The raw files behind the model `candidate` names (its run's upstream)."""
        up = json.loads(self("lineage", "model", f"{MODEL}/candidate", "--json"))
        raw = [c for c in up["commits"] if c["repo"] == "raw_data"]
        return {f["path"].lstrip("/") for c in raw for f in c["files"]}


def test_newcomer_sequence_then_revert_and_skipped_train(
    tmp_path: Path, mlflow_tracking_uri: str, warm_spark_engine: Any
) -> None:
    user = Newcomer(tmp_path / "home", mlflow_tracking_uri, warm_spark_engine.url)

    # demo: two files, two model versions (the second on top of the first)
    user("demo", "--rows", str(DEMO_ROWS), "--specs", str(SPECS), "-q")
    demo_version = user.run_json()["registered_model"]["version"]
    user.assert_all_name(demo_version, None)

    # put a file, run: a new version trained on it
    extra = tmp_path / "extra.csv"
    user("gen-paysim", "--rows", "3000", "--seed", "99", "--out", str(extra))
    user("put", "raw_data", str(extra))
    added = user.run()
    added_version = user.run_json()["registered_model"]["version"]
    assert int(added_version) > int(demo_version)
    user.assert_all_name(added_version, added)
    assert "extra.csv" in user.raw_files_of_candidate()

    # delete it, run: train's datum is skipped (the demo's features again), its output is
    # reused, and the alias goes back to the version that never saw the file
    user("delete", "file", "raw_data@master:/extra.csv")
    deleted = user.run()
    assert "train's datum was skipped" in deleted
    user.assert_all_name(demo_version, deleted)
    assert "extra.csv" not in user.raw_files_of_candidate()

    # a spec change trains a new version; reverting it reuses the old output again
    changed = tmp_path / "specs-depth4"
    shutil.copytree(SPECS, changed)
    spec = json.loads((changed / "train.json").read_text())
    spec["transform"]["env"]["PACHFLOW_TRAIN_MAX_DEPTH"] = "4"
    (changed / "train.json").write_text(json.dumps(spec, indent=2))
    depth4 = user.run(changed)
    depth4_version = user.run_json()["registered_model"]["version"]
    assert int(depth4_version) > int(added_version)
    user.assert_all_name(depth4_version, depth4, new_data=False)
    reverted = user.run()
    assert "train's datum was skipped" in reverted
    user.assert_all_name(demo_version, reverted, new_data=False)

    # a header-only file: new raw_data, split and etl commits, same features: train's datum
    # is skipped, and the new train@master still names its run and version
    header = tmp_path / "header-only.csv"
    header.write_text(extra.read_text().splitlines()[0] + "\n")
    user("put", "raw_data", str(header))
    before = user.head("train")
    unchanged = user.run()
    assert user.head("train") != before
    user.assert_all_name(demo_version, unchanged)
