"""Bad output dirs and bad values stop etl before it starts Spark: exit 2, one error line
(after the progress lines naming what etl read), nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
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


@pytest.mark.parametrize("engine", [[], ["--arrow-max-bytes", "0"]], ids=["arrow", "spark"])
def test_a_nan_amount_exits_2_naming_file_and_column_before_spark(
    tmp_path: Path, engine: list[str]
):
    """Read once on the Arrow engine (checked as read), batch by batch before Spark's job
    on the Spark engine: the same line either way."""
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
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [str(tmp_path / "in"), str(out), *engine])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]
    assert errors == lines[-1:], result.output  # one error line, the last
    assert f"{src}: column 'amount': 1 NaN or infinite value(s)" in errors[0]
    assert not out.exists() or not any(out.iterdir())
