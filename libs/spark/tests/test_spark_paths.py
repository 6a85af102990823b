"""A stage in a container hands the host's Spark its /pfs paths by their host path."""

from __future__ import annotations

from pathlib import Path

from pachflow_spark.paths import HOST_PFS_ENV, pfs_path, spark_path


def test_without_a_host_pfs_paths_are_kept(monkeypatch):
    monkeypatch.delenv(HOST_PFS_ENV, raising=False)
    assert spark_path(Path("/pfs/split/shard=00/a.parquet")) == "/pfs/split/shard=00/a.parquet"
    assert pfs_path("/pfs/out/x") == "/pfs/out/x"


def test_pfs_paths_map_to_the_host_directory_and_back(monkeypatch):
    monkeypatch.setenv(HOST_PFS_ENV, "/home/u/.pachflow/scratch/j/etl/d/pfs/")
    host = "/home/u/.pachflow/scratch/j/etl/d/pfs"
    assert spark_path(Path("/pfs/split/shard=00/a.parquet")) == f"{host}/split/shard=00/a.parquet"
    assert spark_path("/pfs") == host
    assert pfs_path(f"{host}/out/_spark-a") == "/pfs/out/_spark-a"


def test_only_paths_under_pfs_are_mapped(monkeypatch):
    monkeypatch.setenv(HOST_PFS_ENV, "/host/pfs")
    for path in ("/pfsx/a", "/tmp/pachflow-train-1/fit", "s3a://bucket/pfs/a", "pfs/a"):
        assert spark_path(path) == path
    assert pfs_path("/host/pfsx/a") == "/host/pfsx/a"
