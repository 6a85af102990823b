"""The etl image alone on split's image output, as Pachyderm runs it (non-root, /pfs/split
read-only). Without a worker there is no NextDatum server, so the spec's cmd runs without
--datum-batching: the stage then processes every shard under its input (the chain test
runs it with batching through `pachflow run`). Output: FEATURES contract, same rows as the
installed package gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.containers


def without_batching(argv: list[str]) -> list[str]:
    return [a for a in argv if a != "--datum-batching"]


@pytest.fixture(scope="module")
def etl_out(images, run_stage, split_out, tmp_path_factory):
    images.require_stage("etl")
    assert split_out.returncode == 0, split_out.stderr
    argv = without_batching(images.spec("etl")["transform"]["cmd"])
    out = tmp_path_factory.mktemp("etl") / "out"
    return run_stage("etl", {"split": split_out.out}, out, cmd=argv)


def rows_by_dir(files: dict[str, Path]) -> dict[str, list[tuple]]:
    """Rows of the Parquet files of each directory (Spark names its part files with a
    random uuid, so files are compared by directory, not by name)."""
    out: dict[str, list[tuple]] = {}
    for name, path in files.items():
        if name.endswith(".parquet"):
            table = pq.read_table(path)
            cols = (table.column(c).to_pylist() for c in table.column_names)
            out.setdefault(str(Path(name).parent), []).extend(zip(*cols, strict=True))
    return {d: sorted(r) for d, r in out.items()}


def test_etl_image_output_meets_the_features_contract(images, etl_out):
    from pachflow_contracts import FEATURES

    assert etl_out.returncode == 0, etl_out.stderr[-3000:]
    parquet = [p for n, p in images.tree(etl_out.out).items() if n.endswith(".parquet")]
    assert parquet
    FEATURES.check_files(parquet)
    assert {p.stat().st_uid for p in parquet} == {images.uid}


def test_etl_image_output_equals_the_local_package(images, etl_out, split_out, tmp_path):
    assert etl_out.returncode == 0, etl_out.stderr[-3000:]
    argv = without_batching(images.spec("etl")["transform"]["cmd"])
    options = [a for a in argv[1:] if not a.startswith("/pfs/")]
    local = tmp_path / "local"
    exe = Path(sys.executable).parent / "pachflow-etl"
    subprocess.run([str(exe), *options, str(split_out.out), str(local)], check=True)
    got, want = rows_by_dir(images.tree(etl_out.out)), rows_by_dir(images.tree(local))
    assert want
    assert got == want
