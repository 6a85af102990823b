"""`pachflow score` refuses what it cannot score before starting anything (no Spark, no
MLflow): one exit-2 line saying what and where. Scoring itself: stages/score's tests (the
same code) and tests/readme (the README's command after the demo)."""

from __future__ import annotations

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
