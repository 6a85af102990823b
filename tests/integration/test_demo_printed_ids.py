"""Every id the demo prints is accepted back by every command that takes that kind of id.

A small real demo (split -> etl -> train -> provenance, two raw files, MLflow in the
store's SQLite database) runs once; its printed output (stdout and the progress lines on
stderr) is read the way a person reads it, and each short id found is fed, as printed, to
the commands that take it: commits (`inspect commit`, `ls`, `lineage commit`, `lineage
commit --upstream`), jobs (`jobs`, `inspect job`, `logs`, `list commit`), MLflow runs
(`lineage run`, `lineage verify`, `lineage diff`) and model versions (`lineage model`,
`lineage verify` with NAME/VERSION and NAME@ALIAS). On the same demo store, a stage option
set in the shell is named by `pachflow run` and changes nothing (a worker would not see it).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACHFLOW = str(Path(sys.executable).parent / "pachflow")
ROWS = "20000"

pytestmark = [pytest.mark.spark, pytest.mark.slow]

COMMIT = re.compile(r"\b([a-z_]+)@([0-9a-f]{12})\b")
JOB = re.compile(r"^\s*([a-z_]+)\s.*\bjob ([0-9a-f]{12})\b", re.M)
FULL_RUN = re.compile(r"MLflow run\s+([0-9a-f]{32})\b")
SHORT_RUNS = re.compile(r"^\s*MLflow run\s+([0-9a-f]{12})\s+([0-9a-f]{12})\s*$", re.M)
MODEL = re.compile(r"model version\s+(\S+) v(\d+), alias (\w+)")


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, warm_spark_engine: Any
) -> tuple[dict[str, str], str]:
    home = tmp_path_factory.mktemp("demo") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACH_", "PPS_", "MLFLOW_"))}
    env |= {"PACHFLOW_HOME": str(home), "PACHFLOW_SPECS_DIR": str(REPO_ROOT / "pipelines")}
    env["PACHFLOW_RUN_SPARK"] = warm_spark_engine.url  # the ids, not the Spark, are under test
    proc = subprocess.run(
        [PACHFLOW, "demo", "--rows", ROWS], env=env, capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return env, proc.stdout + "\n" + proc.stderr


def ok(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([PACHFLOW, *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pachflow {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return proc.stdout


def test_every_printed_short_id_is_accepted_back(demo: tuple[dict[str, str], str]) -> None:
    env, printed = demo
    commits = set(COMMIT.findall(printed))
    jobs = set(JOB.findall(printed))
    runs = set(FULL_RUN.findall(printed)) | {r for p in SHORT_RUNS.findall(printed) for r in p}
    models = set(MODEL.findall(printed))
    assert {repo for repo, _ in commits} >= {"raw_data", "split", "train"}, printed
    assert {p for p, _ in jobs} >= {"split", "etl", "train"}, printed
    assert len({r[:12] for r in runs}) == 2 and models, printed  # before and after

    for repo, short in sorted(commits):
        name = f"{repo}@{short}"
        assert json.loads(ok(env, "inspect", "commit", name, "--json"))["commit"].startswith(name)
        ok(env, "ls", name)
        down = json.loads(ok(env, "lineage", "commit", name, "--json"))
        assert any(c["id"].startswith(short) for c in down["commits"]), name
        ok(env, "lineage", "commit", name, "--upstream", "--json")
    for pipeline, short in sorted(jobs):
        assert any(j["pipeline"] == pipeline for j in json.loads(ok(env, "jobs", short, "--json")))
        assert f"{pipeline}@{short}" in ok(env, "inspect", "job", f"{pipeline}@{short}")
        ok(env, "logs", f"{pipeline}@{short}")
        ok(env, "list", "commit", short)
    for run in sorted(runs):
        upstream = json.loads(ok(env, "lineage", "run", run, "--json"))
        assert any(r["run_id"].startswith(run) for r in upstream["runs"])
        ok(env, "lineage", "verify", run)
    first, second = sorted(runs, key=len)[:2]
    ok(env, "lineage", "diff", first, second)
    for name, version, alias in sorted(models):
        lineage = json.loads(ok(env, "lineage", "model", f"{name}/{version}", "--json"))
        assert any(m["version"] == version for m in lineage["model_versions"]), name
        for model in (f"{name}@{alias}", f"{name}/{alias}"):  # the alias may have moved on
            assert json.loads(ok(env, "lineage", "model", model, "--json"))["model_versions"]
        ok(env, "lineage", "verify", f"{name}@{alias}")


def test_a_stage_option_in_the_shell_is_named_and_changes_nothing(
    demo: tuple[dict[str, str], str],
) -> None:
    """`PACHFLOW_TRAIN_MAX_DEPTH=3 pachflow run --reprocess train`: a worker would not see
    the shell, so neither does train here; the run says so and the model is the same."""
    env, _ = demo
    before = json.loads(ok(env, "get", "train@master:/run.json"))["run_id"]
    proc = subprocess.run(
        [PACHFLOW, "run", "--reprocess", "train", "-q"],
        env={**env, "PACHFLOW_TRAIN_MAX_DEPTH": "3"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "warning: PACHFLOW_TRAIN_MAX_DEPTH is set in this shell but not passed to train" in (
        proc.stderr
    )
    after = json.loads(ok(env, "get", "train@master:/run.json"))["run_id"]
    assert after != before  # train did run again
    diff = json.loads(ok(env, "lineage", "diff", before, after, "--json"))
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
