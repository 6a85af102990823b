"""Bad output dirs and bad values stop etl before it starts Spark: exit 2, one line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pachflow_etl.cli import main


def test_a_non_empty_output_dir_exits_2_naming_it(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "shard=00").mkdir()
    result = CliRunner().invoke(main, [str(tmp_path), str(out)])
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert f"OUTPUT_DIR {out} is not empty (1 entries: shard=00)" in line


def test_a_nan_amount_exits_2_naming_file_and_column_before_spark(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pachflow_contracts import TRANSACTIONS

    row = {
        "step": 1,
        "type": "PAYMENT",
        "amount": float("nan"),
        "nameOrig": "C1",
        "oldbalanceOrg": 1.0,
        "newbalanceOrig": 0.0,
        "nameDest": "M1",
        "oldbalanceDest": 0.0,
        "newbalanceDest": 0.0,
        "isFraud": 0,
        "isFlaggedFraud": 0,
    }
    src = tmp_path / "in" / "shard=00" / "a.parquet"
    src.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=TRANSACTIONS.stamped_schema()), src)
    result = CliRunner().invoke(main, [str(tmp_path / "in"), str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.strip()]
    assert f"{src}: column 'amount': 1 NaN or infinite value(s)" in line
