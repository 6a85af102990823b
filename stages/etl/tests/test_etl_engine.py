"""The engine per source file: Arrow when the file's bytes are within --arrow-max-bytes (it
fits the memory budget), Spark above; the choice and its reason logged per file; a datum
that fits Arrow imports no pyspark at all. Small limit values, small files: no Spark here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow_etl.cli import main
from pachflow_etl.engine import ARROW, ARROW_MAX_BYTES, SPARK, choose_engine
from pachflow_etl.inputs import Source
from pachflow_etl.job import run


class SparkAsked(Exception):
    """Raised by the session factory: the run chose Spark for a source."""


def ask_spark():
    raise SparkAsked


@pytest.fixture
def two_sizes(tmp_path, write_tx, random_tx) -> tuple[Path, Path, Path]:
    """shard=00/a.parquet (20 rows) and shard=01/b.parquet (2,000 rows): a's bytes fit a
    limit of its own size, b's do not."""
    root = tmp_path / "split"
    a = write_tx(root / "shard=00" / "a.parquet", random_tx(20, ["C1", "C2"], seed=1))
    b = write_tx(root / "shard=01" / "b.parquet", random_tx(2000, ["C3", "C4"], seed=2))
    assert a.stat().st_size < b.stat().st_size
    return root, a, b


def test_a_file_within_the_limit_goes_to_arrow_a_larger_one_to_spark(two_sizes, tmp_path, capsys):
    root, a, _ = two_sizes
    with pytest.raises(SparkAsked):  # asked for b only, after a was computed with Arrow
        run(root, tmp_path / "out", ask_spark, arrow_max_bytes=a.stat().st_size)
    log = capsys.readouterr().err
    assert "shard=00/a.parquet: 20 rows: Arrow (" in log
    assert "fits in memory" in log
    assert "shard=01/b.parquet: 2,000 rows: Spark (" in log
    assert "too large for the Arrow engine's memory" in log


def test_both_files_within_the_limit_need_no_spark(two_sizes, tmp_path, capsys):
    root, _, b = two_sizes
    run(root, tmp_path / "out", ask_spark, arrow_max_bytes=b.stat().st_size)
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.parquet")) == [
        "a.parquet",
        "b.parquet",
    ]
    assert capsys.readouterr().err.count(": Arrow (") == 2


def test_the_limit_is_inclusive_and_0_means_always_spark(tmp_path):
    source = Source("00", tmp_path / "a.parquet", rows=10, size=1000)
    assert choose_engine(source, 1000).engine == ARROW
    assert choose_engine(source, 999).engine == SPARK
    off = choose_engine(source, 0)
    assert off.engine == SPARK and "--arrow-max-bytes 0" in off.reason


def test_the_default_takes_a_full_size_paysim_shard():
    """16 shards of the 6,362,620-row PaySim file: ~400,000 rows, at most 18,717,443 bytes
    each (measured, bench/RESULTS.md "## etl engine memory"): no such datum starts a JVM."""
    assert ARROW_MAX_BYTES >= 18_717_443


def test_the_env_variable_sets_the_limit(two_sizes, tmp_path):
    """PACHFLOW_ETL_ARROW_MAX_BYTES=0: every file goes to Spark, whose endpoint here is a
    closed port: exit 2 naming it, after the file's choice was logged."""
    root, _, _ = two_sizes
    result = CliRunner().invoke(
        main,
        ["--master", "sc://127.0.0.1:9", "--spark-timeout", "0.2", str(root), str(tmp_path / "o")],
        env={"PACHFLOW_ETL_ARROW_MAX_BYTES": "0"},
    )
    assert result.exit_code == 2, result.output
    assert "shard=00/a.parquet: 20 rows: Spark (Arrow is off" in result.output
    assert "sc://127.0.0.1:9" in result.output


def test_a_datum_that_fits_arrow_imports_no_pyspark(two_sizes, tmp_path):
    """The whole etl command on files within the limit, in a fresh interpreter: pyspark is
    never imported (no JVM, and ~0.5 s of imports saved per process)."""
    root, _, _ = two_sizes
    code = (
        "import sys\n"
        "from pachflow_etl.cli import main\n"
        f"main([{str(root)!r}, {str(tmp_path / 'out')!r}], standalone_mode=False)\n"
        "assert 'pyspark' not in sys.modules, 'pyspark was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "out").rglob("*.parquet"))) == 2
