"""`pachflow gen-paysim`: the command around pachflow_paysim's generator."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow.cli import main
from pachflow.commands import gen_paysim
from pachflow_paysim import HEADER


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["gen-paysim", *args])
    return result.exit_code, result.stdout, result.stderr


def test_writes_the_file_and_a_summary_line(tmp_path: Path) -> None:
    out = tmp_path / "paysim.csv"
    code, stdout, stderr = _run("--rows", "5000", "--seed", "3", "--out", str(out))
    assert code == 0, stderr
    lines = out.read_text().splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 5001
    assert "5000 rows" in stdout and "frauds" in stdout and " s (" in stdout
    assert [p.name for p in tmp_path.iterdir()] == ["paysim.csv"]  # no temp file left


def test_same_seed_same_bytes_and_gzip(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv.gz"
    assert _run("--rows", "3000", "--seed", "9", "--out", str(a))[0] == 0
    assert _run("--rows", "3000", "--seed", "9", "--out", str(b))[0] == 0
    assert gzip.decompress(b.read_bytes()) == a.read_bytes()


def test_customers_and_java_notation_options(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    args = ["--rows", "20000", "--seed", "1", "--customers", "50", "--java-notation"]
    code, _, stderr = _run(*args, "--out", str(out))
    assert code == 0, stderr
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    assert len({r[3] for r in rows}) <= 50
    assert any("E7" in r[8] for r in rows)


def test_progress_goes_to_stderr_for_large_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gen_paysim, "PROGRESS_FROM_ROWS", 100)
    code, stdout, stderr = _run("--rows", "5000", "--out", str(tmp_path / "big.csv"))
    assert code == 0
    assert "gen-paysim: 5,000/5,000 rows" in stderr
    assert "gen-paysim:" not in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows", "10", "--out", "x.txt"], "must end in .csv or .csv.gz"),
        (["--rows", "-1", "--out", "x.csv"], "--rows: must be >= 0"),
        (["--rows", "10", "--seed", "-2", "--out", "x.csv"], "--seed: must be >= 0"),
        (["--rows", "10", "--customers", "0", "--out", "x.csv"], "--customers: must be >= 1"),
        (["--rows", "10", "--out", "missing/x.csv"], "does not exist"),
        (["--out", "x.csv"], "Missing option '--rows'"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, stderr = _run(*args)
    assert code == 2
    assert message in stderr
    assert list(tmp_path.iterdir()) == []
