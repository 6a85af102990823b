"""The registry follows the data, and every id the demo prints is accepted back: one
`pachflow demo` (split -> etl -> train -> provenance, two raw files, then scoring; the
session's MLflow test server, the Spark stages on the session's warm engine) serves the
three tests of this module, which used to run a demo each (~55 s of chain runs apiece).

Printed ids: the demo's printed output (stdout and the progress lines on stderr) is read
the way a person reads it, and each short id found is fed, as printed, to the commands
that take it: commits (`inspect commit`, `ls`, `lineage commit`, `lineage commit
--upstream`), jobs (`jobs`, `inspect job`, `logs`, `list commit`), MLflow runs (`lineage
run`, `lineage verify`, `lineage diff`) and model versions (`lineage model`, `lineage
verify` with NAME/VERSION and NAME@ALIAS). This only reads the store.

The registry follows the data: whatever makes train's output the head of train@master (a
new run, a deleted file, a reverted spec, an input change train does not see) leaves the
model alias on the version that output records, and that train commit names its run and
version, so every answer the tool gives names the same model. The newcomer sequence on the
demo's store, as a user types it: put a file, run, delete that file, run. Then a spec
change and its revert, and a header-only file (train's datum skipped). After each step the
run summary, the registry's `candidate`, `pachflow lineage model NAME/candidate` and
`pachflow lineage commit raw_data@<head>` all name the version whose run.json is at
train@master. It starts from the demo's own state (it runs before the last test, the only
other one that writes: pytest runs a module's tests in the order written).

Last, on the same store: a stage option set in the shell is named by `pachflow run` and
changes nothing (a worker would not see it).
"""

from __future__ import annotations

import json
import math
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

COMMIT = re.compile(r"\b([a-z_]+)@([0-9a-f]{12})\b")
JOB = re.compile(r"^\s*([a-z_]+)\s.*\bjob ([0-9a-f]{12})\b", re.M)
FULL_RUN = re.compile(r"MLflow run\s+([0-9a-f]{32})\b")
SHORT_RUNS = re.compile(r"^\s*MLflow run\s+([0-9a-f]{12})\s+([0-9a-f]{12})\s*$", re.M)
PRINTED_MODEL = re.compile(r"model version\s+(\S+) v(\d+), alias (\w+)")


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


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, mlflow_tracking_uri: str, warm_spark_engine: Any
) -> tuple[Newcomer, str]:
    """`pachflow demo` once: two files, two model versions (the second on top of the
    first), then scoring; the user and what the demo printed (stdout and stderr)."""
    home = tmp_path_factory.mktemp("demo") / "home"
    user = Newcomer(home, mlflow_tracking_uri, warm_spark_engine.url)
    proc = subprocess.run(
        [str(BIN / "pachflow"), "demo", "--rows", str(DEMO_ROWS), "--specs", str(SPECS)],
        env=user.env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return user, proc.stdout + "\n" + proc.stderr


def test_every_printed_short_id_is_accepted_back(demo: tuple[Newcomer, str]) -> None:
    ok, printed = demo
    commits = set(COMMIT.findall(printed))
    jobs = set(JOB.findall(printed))
    runs = set(FULL_RUN.findall(printed)) | {r for p in SHORT_RUNS.findall(printed) for r in p}
    models = set(PRINTED_MODEL.findall(printed))
    assert {repo for repo, _ in commits} >= {"raw_data", "split", "train"}, printed
    assert {p for p, _ in jobs} >= {"split", "etl", "train"}, printed
    assert len({r[:12] for r in runs}) == 2 and models, printed  # before and after

    for repo, short in sorted(commits):
        name = f"{repo}@{short}"
        assert json.loads(ok("inspect", "commit", name, "--json"))["commit"].startswith(name)
        ok("ls", name)
        down = json.loads(ok("lineage", "commit", name, "--json"))
        assert any(c["id"].startswith(short) for c in down["commits"]), name
        ok("lineage", "commit", name, "--upstream", "--json")
    for pipeline, short in sorted(jobs):
        assert any(j["pipeline"] == pipeline for j in json.loads(ok("jobs", short, "--json")))
        assert f"{pipeline}@{short}" in ok("inspect", "job", f"{pipeline}@{short}")
        ok("logs", f"{pipeline}@{short}")
        ok("list", "commit", short)
    for run in sorted(runs):
        upstream = json.loads(ok("lineage", "run", run, "--json"))
        assert any(r["run_id"].startswith(run) for r in upstream["runs"])
        ok("lineage", "verify", run)
    first, second = sorted(runs, key=len)[:2]
    ok("lineage", "diff", first, second)
    for name, version, alias in sorted(models):
        lineage = json.loads(ok("lineage", "model", f"{name}/{version}", "--json"))
        assert any(m["version"] == version for m in lineage["model_versions"]), name
        for model in (f"{name}@{alias}", f"{name}/{alias}"):  # the alias may have moved on
            assert json.loads(ok("lineage", "model", model, "--json"))["model_versions"]
        ok("lineage", "verify", f"{name}@{alias}")


def test_newcomer_sequence_then_revert_and_skipped_train(
    tmp_path: Path, demo: tuple[Newcomer, str]
) -> None:
    user, _ = demo

    # the demo's state: two files, two model versions (the second on top of the first)
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


def test_a_stage_option_in_the_shell_is_named_and_changes_nothing(
    demo: tuple[Newcomer, str],
) -> None:
    """`PACHFLOW_TRAIN_MAX_DEPTH=3 pachflow run --reprocess train`: a worker would not see
    the shell, so neither does train here; the run says so and the model is the same."""
    user, _ = demo
    before = user.run_json()["run_id"]
    proc = subprocess.run(
        [str(BIN / "pachflow"), "run", "--specs", str(SPECS), "--reprocess", "train", "-q"],
        env={**user.env, "PACHFLOW_TRAIN_MAX_DEPTH": "3"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "warning: PACHFLOW_TRAIN_MAX_DEPTH is set in this shell but not passed to train" in (
        proc.stderr
    )
    after = user.run_json()["run_id"]
    assert after != before  # train did run again
    diff = json.loads(user("lineage", "diff", before, after, "--json"))
    params = [c for c in diff["changes"] if c["section"] == "param"]
    assert params == [], params  # max_depth is still the spec's
    metrics = [
        c
        for c in diff["changes"]
        if c["section"] == "metric"
        and not c["item"].endswith("_seconds")  # wall clock
        and not math.isclose(float(c["a"]), float(c["b"]), rel_tol=1e-9, abs_tol=1e-12)
    ]
    assert metrics == [], metrics  # the same model: every metric the same
    assert diff["same"]["param"] > 0
