"""etl gives the same feature rows whichever Spark runs it: in-process local[2], a Spark
Connect server, or a standalone cluster (a master and two workers, separate JVMs on
loopback, so the executors are other processes than the driver)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pachflow_etl.job import run

ETL = str(Path(sys.executable).with_name("pachflow-etl"))


@pytest.fixture(scope="module")
def sharded_input(tmp_path_factory, write_tx, random_tx) -> Path:
    """Three shards as split writes them, one customer in two files of a shard."""
    root = tmp_path_factory.mktemp("engines") / "split"
    customers = [f"C{i}" for i in range(400)]
    for n, shard in enumerate(("00", "01", "02")):
        write_tx(root / f"shard={shard}" / "a.parquet", random_tx(600, customers[n::3], n))
    write_tx(root / "shard=01" / "b.parquet", random_tx(50, customers[1::3][:5], 9))
    return root


def features(out: Path) -> pd.DataFrame:
    frames = [
        pq.read_table(p).to_pandas().assign(shard=p.parent.name)
        for p in sorted(out.rglob("*.parquet"))
    ]
    return pd.concat(frames).sort_values(["shard", "nameOrig"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def local_features(sharded_input, spark, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("local") / "out"
    run(sharded_input, out, lambda: spark)
    return features(out)


def run_etl(master: str, src: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PACHFLOW_SPARK_MASTER": master, "PACHFLOW_SPARK_DRIVER_MEMORY": "1g"}
    return subprocess.run([ETL, str(src), str(out)], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("engine", "says"),
    [
        ("spark_connect_server", "Spark Connect server"),
        ("spark_standalone_cluster", "Spark cluster"),
    ],
)
def test_the_rows_equal_the_local_run(
    engine, says, request, sharded_input, local_features, tmp_path
):
    server = request.getfixturevalue(engine)
    done = run_etl(server.url, sharded_input, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert f"Spark: {says} {server.url}" in done.stderr
    pd.testing.assert_frame_equal(features(tmp_path / "out"), local_features)
    assert not list((tmp_path / "out").rglob("_SUCCESS"))
    if engine == "spark_standalone_cluster":
        # the work ran in executors of both workers (their own JVMs), not in the driver
        workers = {p.parent.parent.name for p in server.root.glob("worker*/app-*/*")}
        assert workers == {"worker1", "worker2"}
