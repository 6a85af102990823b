"""`pachflow score` refuses what it cannot score before starting anything (no Spark, no
MLflow): one exit-2 line saying what and where; and it scores with no MLFLOW_* set from any
folder after a local run. Scoring itself: stages/score's tests (the same code) and
tests/readme (the README's command after the demo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow.cli import main


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "new.csv"
    path.write_text("step,type\n")
    return path


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["{dir}/nope.csv"], "nope.csv: no such file (expected a PaySim CSV file)"),
        (["{dir}/new.txt"], "new.txt: expected a PaySim CSV file (.csv or .csv.gz)"),
        (["{csv}", "--out", "{dir}/x.json"], "x.json: expected a name ending in .csv, .csv.gz"),
        (["{csv}", "--out", "{dir}/no/x.csv"], "folder {dir}/no does not exist"),
        (["{csv}"], "no model registry here: {dir}/.pachflow/mlflow.db does not exist"),
    ],
)
def test_bad_arguments_exit_2_naming_them(
    args: list[str], said: str, csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PACHFLOW_HOME", raising=False)
    (tmp_path / "new.txt").write_text("")
    argv = [a.format(dir=tmp_path, csv=csv) for a in args]
    result = CliRunner().invoke(main, ["score", "--model", "m@candidate", *argv])
    assert result.exit_code == 2, result.output
    assert said.format(dir=tmp_path) in result.output.replace("\n", " ")


@pytest.mark.spark
def test_scores_from_another_folder_with_no_mlflow_settings_after_a_local_run(
    tmp_path: Path,
) -> None:
    """The README's command after `make demo`: no MLFLOW_* set, run from anywhere with
    PACHFLOW_HOME naming the store. The model is found in the store's mlflow.db and its
    files in the store's mlruns/ (MLflow once looked for them in ./mlflow.db instead)."""
    from pachflow_paysim import write_paysim
    from pachflow_testing.bare_run import run_without_mlflow

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    data = tmp_path / "day.csv"
    write_paysim(data, 3000, seed=5, customers=1000)
    # registered as a stage of `pachflow run` registers: cwd $PACHFLOW_HOME, its mlflow.db
    # (own process: this one's MLflow and Spark state stay as they were)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    made = subprocess.run(
        [sys.executable, "-m", "pachflow_testing.scoring_model", str(data), uri, "fraud"],
        cwd=home,
        # as a stage of `pachflow run` would: no MLFLOW_* of this session (an MLflow server
        # the other tests share) may reach it, or the model is registered there
        env={k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    version = json.loads(made.stdout.strip().splitlines()[-1])["version"]
    assert (home / "mlruns").is_dir()

    done = run_without_mlflow(
        "pachflow",
        ["score", "--model", "fraud@candidate", str(data)],
        elsewhere,
        env={"PACHFLOW_HOME": str(home)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"model fraud/{version} (fraud@candidate)" in done.stdout
    assert list(elsewhere.iterdir()) == []  # no ./mlflow.db, no ./mlruns
