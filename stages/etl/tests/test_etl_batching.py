"""Datum batching over the real worker protocol: a gRPC server in this process serves
`/pachyderm.worker.Worker/NextDatum` with pachyderm_sdk's own message types, as
Pachyderm's worker (and pachflow's local runner) do, and etl loops over its datums."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from pachyderm_sdk.api.worker import NextDatumRequest, NextDatumResponse

from pachflow_contracts import PARTIALS, TRANSACTIONS
from pachflow_contracts.worker_api import serve_next_datum
from pachflow_etl.batching import apply_env, datum_input_dir
from pachflow_etl.cli import main
from pachflow_stagekit import BadInput


class FakeWorker:
    """The worker side of NextDatum: hands out datums' env, records the reported errors,
    and "uploads" (moves away) /pfs/out after each datum, as the worker does."""

    def __init__(self, datums: list[list[str]], out: Path, uploads: Path) -> None:
        self.datums, self.out, self.uploads = list(datums), out, uploads
        self.errors: list[str] = []

    def next_datum(self, request: NextDatumRequest, context: grpc.ServicerContext):
        self.errors.append(request.error)
        if len(self.errors) > 1:  # the previous datum is done: collect its output
            shutil.move(self.out, self.uploads / str(len(self.errors) - 1))
            self.out.mkdir()
        if not self.datums:
            context.abort(grpc.StatusCode.OUT_OF_RANGE, "no datum left")
        return NextDatumResponse(env=self.datums.pop(0))


@pytest.fixture
def worker_server(tmp_path) -> Iterator[tuple[grpc.Server, int, list]]:
    holder: list[FakeWorker] = []
    server, port = serve_next_datum(lambda req, ctx: holder[0].next_datum(req, ctx), threads=2)
    yield server, port, holder
    server.stop(grace=None)


@pytest.fixture
def datum_env(monkeypatch) -> None:
    """Variables the loop sets from NextDatumResponse.env are restored after the test."""
    for key in ("split", "PACH_DATUM_ID", "split_COMMIT"):
        monkeypatch.setenv(key, "")


@pytest.mark.spark
def test_loop_processes_each_datum_and_reports_errors(
    tmp_path, worker_server, datum_env, write_tx, random_tx, spark, monkeypatch
):
    _, port, holder = worker_server
    split = tmp_path / "pfs" / "split"
    write_tx(split / "shard=00" / "a.parquet", random_tx(30, ["C1", "C2", "C3"], seed=5))
    bad = split / "shard=01" / "a.parquet"
    bad.parent.mkdir(parents=True)
    wrong = TRANSACTIONS.schema.set(0, pa.field("step", pa.int64()))
    pq.write_table(pa.Table.from_pylist([], schema=wrong), bad)
    write_tx(split / "shard=02" / "a.parquet", random_tx(0, ["C1"], seed=5))
    out, uploads = tmp_path / "pfs" / "out", tmp_path / "uploads"
    out.mkdir()
    uploads.mkdir()
    holder.append(
        FakeWorker(
            [
                # as Pachyderm sets it: /pfs/split/... (here /pfs is remapped to tmp_path/pfs)
                # glob /shard=*/*: each datum is one source file of one shard
                ["split=/pfs/split/shard=00/a.parquet", "PACH_DATUM_ID=d0", "split_COMMIT=abc"],
                [f"split={split / 'shard=01' / 'a.parquet'}", "PACH_DATUM_ID=d1"],
                [f"split={split / 'shard=02' / 'a.parquet'}", "PACH_DATUM_ID=d2"],
            ],
            out,
            uploads,
        )
    )
    monkeypatch.setenv("PPS_WORKER_GRPC_PORT", str(port))
    result = CliRunner().invoke(
        main, ["--datum-batching", "--master", "local[2]", str(split), str(out)]
    )
    assert result.exit_code == 0, result.output
    errors = holder[0].errors
    assert len(errors) == 4 and errors[0] == errors[1] == errors[3] == ""
    assert errors[2].startswith(f"bad input: {bad}: ") and "'step': expected int32" in errors[2]
    # Each datum's output is its file's partials only; the failed datum and the empty
    # source wrote nothing.
    assert [
        p.relative_to(uploads / "1").as_posix() for p in (uploads / "1").rglob("*.parquet")
    ] == ["shard=00/a.parquet"]
    assert list((uploads / "2").iterdir()) == []
    assert list((uploads / "3").rglob("*.parquet")) == []
    for f in (uploads / "1").rglob("*.parquet"):
        PARTIALS.check_file(f)
    assert sum(pq.read_metadata(f).num_rows for f in (uploads / "1").rglob("*.parquet")) == 3
    assert os.environ["PACH_DATUM_ID"] == "d2" and os.environ["split_COMMIT"] == "abc"  # noqa: SIM112 (Pachyderm names)


def test_batching_outside_a_worker_exits_2(tmp_path, monkeypatch):
    monkeypatch.delenv("PPS_WORKER_GRPC_PORT", raising=False)
    result = CliRunner().invoke(main, ["--datum-batching", str(tmp_path), str(tmp_path / "o")])
    assert result.exit_code == 2 and "PPS_WORKER_GRPC_PORT" in result.output


def test_apply_env(datum_env):
    apply_env(["split=/pfs/split/shard=01", "PACH_DATUM_ID=a=b", "junk"])
    assert os.environ["split"] == "/pfs/split/shard=01"  # noqa: SIM112
    assert os.environ["PACH_DATUM_ID"] == "a=b"


def test_datum_input_dir(tmp_path, datum_env, monkeypatch):
    split = tmp_path / "split"
    (split / "shard=03").mkdir(parents=True)
    monkeypatch.delenv("split")
    assert datum_input_dir(split) == split  # no variable: INPUT_DIR
    monkeypatch.setenv("split", str(split / "shard=03"))
    assert datum_input_dir(split) == split / "shard=03"
    monkeypatch.setenv("split", "/pfs/split/shard=03")  # /pfs remapped: resolved under it
    assert datum_input_dir(split) == split / "shard=03"
    monkeypatch.setenv("split", "/pfs/split/shard=09")
    with pytest.raises(BadInput, match="shard=09"):
        datum_input_dir(split)
