"""The etl image alone on split's image output, as Pachyderm runs it (non-root, /pfs/split
read-only). Without a worker there is no NextDatum server, so the spec's cmd runs without
--datum-batching: the stage then processes every shard under its input (the chain test
runs it with batching through `pachflow run` and compares its rows with the local
runtime's). Output: the PARTIALS contract, written by the non-root user."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.containers, pytest.mark.slow]


def without_batching(argv: list[str]) -> list[str]:
    return [a for a in argv if a != "--datum-batching"]


@pytest.fixture(scope="module")
def etl_out(images, run_stage, split_out, tmp_path_factory):
    images.require_stage("etl")
    assert split_out.returncode == 0, split_out.stderr
    argv = without_batching(images.spec("etl")["transform"]["cmd"])
    out = tmp_path_factory.mktemp("etl") / "out"
    return run_stage("etl", {"split": split_out.out}, out, cmd=argv)


def test_etl_image_output_meets_the_partials_contract(images, etl_out):
    from pachflow_contracts import PARTIALS

    assert etl_out.returncode == 0, etl_out.stderr[-3000:]
    parquet = [p for n, p in images.tree(etl_out.out).items() if n.endswith(".parquet")]
    assert parquet
    PARTIALS.check_files(parquet)
    assert {p.stat().st_uid for p in parquet} == {images.uid}


def test_etl_image_keeps_one_output_dir_per_shard(images, etl_out, split_out):
    """Output paths unique per datum: each source file's partials under its shard's name."""
    assert etl_out.returncode == 0, etl_out.stderr[-3000:]

    def shards(root):
        return {n.split("/")[0] for n in images.tree(root) if n.startswith("shard=")}

    assert shards(etl_out.out) == shards(split_out.out)
