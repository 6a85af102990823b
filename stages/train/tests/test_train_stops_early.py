"""A bad OUTPUT_DIR, an input train cannot read or bad values stop train with exit 2 and
one line naming it, even with MLflow unreachable (the tracking URI here points at a closed
port): before Spark starts, except for values on the Arrow engine, which are checked as
they are read, beside the JVM's boot and MLflow's connection, and named first."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow_train.cli import main


def test_a_non_empty_output_dir_exits_2_before_any_work(tmp_path: Path, dead_tracking_uri: str):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}")
    result = CliRunner().invoke(
        main, [str(tmp_path), str(out), "--tracking-uri", dead_tracking_uri]
    )
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert f"OUTPUT_DIR {out} is not empty" in line


@pytest.mark.parametrize("engine", [[], ["--arrow-max-bytes", "0"]], ids=["arrow", "spark"])
def test_a_negative_amount_exits_2_naming_file_and_column_before_mlflow(
    tmp_path: Path, dead_tracking_uri: str, engine: list[str]
):
    import pyarrow as pa

    from pachflow_testing.features import features_table, partials_table, write_features

    table = partials_table(features_table(40))
    amounts = table.column("amount_max").to_pylist()
    amounts[3] = -1.0
    table = table.set_column(
        table.schema.get_field_index("amount_max"), "amount_max", pa.array(amounts)
    )
    (path,) = write_features(tmp_path / "etl", 40, table=table)
    result = CliRunner().invoke(
        main,
        [
            str(tmp_path / "etl"),
            str(tmp_path / "out"),
            "--tracking-uri",
            dead_tracking_uri,
            *engine,
        ],
    )
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]
    assert errors == lines[-1:], result.output  # one error line, the last
    assert f"{path}: column 'amount_max': 1 negative value(s)" in errors[0]
    assert not (tmp_path / "out").exists()


def test_no_tracking_uri_exits_2_and_writes_nothing_into_the_working_directory(tmp_path: Path):
    """Run bare (no MLFLOW_*), train must not fall back to MLflow's default store: that
    wrote ./mlflow.db and ./mlruns wherever the user happened to be."""
    from pachflow_testing.bare_run import error_lines, run_without_mlflow
    from pachflow_testing.features import write_features

    write_features(tmp_path / "etl", 40)
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    done = run_without_mlflow("pachflow-train", [str(tmp_path / "etl"), str(out)], cwd)
    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done)
    assert "no MLflow tracking URI" in line and "MLFLOW_TRACKING_URI" in line, line
    assert list(cwd.iterdir()) == []
    assert not out.exists() or list(out.iterdir()) == []
