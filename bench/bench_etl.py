"""Benchmark `pachflow-etl` on the full-size data set: 6,362,620 PaySim-like rows
(`pachflow gen-paysim`, seed 42) split into 16 shards by `pachflow-split`.

Three ways to run the same 16 shards, each a fresh `pachflow-etl --master local[2]`:
- all:      one process, INPUT_DIR holding all 16 shards (one Spark job); alternated with
            the same run without Spark's class archive (PACHFLOW_SPARK_CDS=off);
- per-datum: one process per shard (what a Pachyderm datum costs without batching);
- batching: one process with --datum-batching, fed the 16 shards one by one by a NextDatum
  gRPC server in this script (pachyderm_sdk message types; /pfs/out collected per datum).
Wall seconds (median of --repeat), CPU seconds and peak RSS of the process tree go to
bench/RESULTS.md, section "## etl".

    .venv/bin/python bench/bench_etl.py [--repeat 3] [--per-datum-repeat 1] [--shards 16]
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from data import DATA, FULL_ROWS, raw_csv, scratch
from harness import (
    Measurement,
    machine_line,
    measure,
    median,
    median_of,
    save_result,
    say,
    table,
    tool,
    walls,
    write_section,
)
from pachyderm_sdk.api.worker import NextDatumRequest, NextDatumResponse

from pachflow_spark import cds

MASTER = "local[2]"


def split_shards(shards: int) -> Path:
    """split's output for the full-size CSV (made once, then reused)."""
    out = DATA / f"etl-split-{FULL_ROWS}-{shards}"
    if (out / "shard=00").exists():
        return out
    csv = raw_csv(FULL_ROWS)
    raw = DATA / "etl-raw"
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    os.link(csv, raw / csv.name)
    say(f"splitting {csv.name} into {shards} shards")
    measure([tool("pachflow-split"), "--shards", str(shards), str(raw), str(out)])
    return out


def etl(*args: str | Path, env: dict[str, str] | None = None, log: Path) -> Measurement:
    cmd = [tool("pachflow-etl"), "--master", MASTER, *map(str, args)]
    return measure(cmd, env={**os.environ, **(env or {})}, log=log)


class Worker:
    """NextDatum for the batching run: one datum per shard, output moved away after each."""

    def __init__(self, shard_dirs: list[Path], out: Path, uploads: Path) -> None:
        self.todo, self.out, self.uploads = list(shard_dirs), out, uploads
        self.errors: list[str] = []

    def next_datum(self, request: NextDatumRequest, context: grpc.ServicerContext):
        self.errors.append(request.error)
        if len(self.errors) > 1:
            shutil.move(self.out, self.uploads / str(len(self.errors) - 1))
            self.out.mkdir()
        if not self.todo:
            context.abort(grpc.StatusCode.OUT_OF_RANGE, "no datum left")
        shard = self.todo.pop(0)
        return NextDatumResponse(env=[f"split={shard}", f"PACH_DATUM_ID={shard.name}"])


def median_row(
    label: str, runs: list[Measurement], value: Callable[[Measurement], str] | None = None
) -> list[object]:
    """A table row: the label with every run's wall, then of the median run its value
    (default: its wall), peak RSS and load before."""
    m = median_of(runs)
    shown = value(m) if value else f"{m.wall_s:.1f}"
    return [f"{label} ({walls(runs)})", shown, f"{m.peak_rss_mb:.0f} MB", f"{m.load_before:.1f}"]


def batching_run(shard_dirs: list[Path], work: Path) -> Measurement:
    split, out, uploads = work / "pfs" / "split", work / "pfs" / "out", work / "uploads"
    for d in (split, out, uploads):
        d.mkdir(parents=True)
    worker = Worker(shard_dirs, out, uploads)
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(
        worker.next_datum,
        request_deserializer=NextDatumRequest.FromString,
        response_serializer=bytes,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("pachyderm.worker.Worker", {"NextDatum": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        m = etl(
            "--datum-batching",
            split,
            out,
            env={"PPS_WORKER_GRPC_PORT": str(port)},
            log=work / "etl.log",
        )
    finally:
        server.stop(grace=None)
    failed = [e for e in worker.errors if e]
    if failed or len(worker.errors) != len(shard_dirs) + 1:
        raise SystemExit(f"batching run failed: {failed or worker.errors}")
    return m


def inner_cpu(data: Path, out: Path) -> None:
    """Run etl in this process and print the CPU seconds of Python + the Spark JVM.

    The JVM is never reaped by the stage's Python (it exits with it), so rusage of
    children misses it; psutil reads its counters just before the end instead."""
    import json
    import resource
    import time

    import psutil
    from pyspark import SparkContext

    from pachflow_etl.cli import main as etl_main

    wall = time.perf_counter()
    etl_main(["--master", MASTER, str(data), str(out)], standalone_mode=False)
    wall = time.perf_counter() - wall
    jvm = psutil.Process(SparkContext._gateway.proc.pid)  # type: ignore[union-attr]
    jvm_cpu = sum(t.user + t.system for t in [p.cpu_times() for p in [jvm, *jvm.children(True)]])
    me = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall_s": wall, "jvm_cpu_s": jvm_cpu, "py_cpu_s": me.ru_utime + me.ru_stime}))


def cpu_run(data: Path) -> dict[str, float]:
    import json
    import subprocess
    import sys

    work = scratch("etl-cpu")
    cmd = [sys.executable, __file__, "--inner-cpu", str(data), str(work / "out")]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "--inner-cpu":
        inner_cpu(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-datum-repeat", type=int, default=1)
    parser.add_argument("--per-datum-shards", type=int, default=0, help="0: all shards")
    parser.add_argument("--batching-repeat", type=int, default=3)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument(
        "--no-compare-cds", action="store_true", help="skip the runs without the class archive"
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["all", "per-datum", "batching", "cpu"]
    )
    args = parser.parse_args()
    data = split_shards(args.shards)
    shard_dirs = sorted(data.glob("shard=*"))
    rows: list[list[object]] = []
    results: dict[str, object] = {}

    if "all" not in args.skip:
        # Runs alternate with and without Spark's class archive, so drift hits both alike.
        archive = cds.archive()
        runs, plain = [], []
        for i in range(args.repeat):
            work = scratch("etl-all")
            runs.append(etl(data, work / "out", log=work.with_suffix(".log")))
            say(f"all shards, one process: run {i + 1}: {runs[-1].wall_s:.1f} s")
            if archive and not args.no_compare_cds:
                work = scratch("etl-all-no-cds")
                env = {cds.ENV: "off"}
                plain.append(etl(data, work / "out", env=env, log=work.with_suffix(".log")))
                say(f"  the same without the class archive: {plain[-1].wall_s:.1f} s")
        results["all"] = [r.wall_s for r in runs]
        how = "with Spark's class archive (`make setup`)" if archive else "no class archive"
        label = f"all {len(shard_dirs)} shards, one process, {how}"
        rows.append(median_row(label, runs, lambda m: f"**{m.wall_s:.1f}** (target < 25)"))
        if plain:
            results["all_no_cds"] = [r.wall_s for r in plain]
            rows.append(median_row("the same, `PACHFLOW_SPARK_CDS=off`", plain))

    if "per-datum" not in args.skip:
        totals, per = [], []
        for i in range(args.per_datum_repeat):
            work = scratch("etl-per-datum")
            some = shard_dirs[: args.per_datum_shards or None]
            ms = [etl(d, work / "out", log=work / f"{d.name}.log") for d in some]
            totals.append(sum(x.wall_s for x in ms))
            per.append(median([x.wall_s for x in ms]))
            say(f"one process per shard: run {i + 1}: {totals[-1]:.1f} s")
        results["per_datum_total"], results["per_datum_median"] = totals, per
        rows.append(
            [
                f"one process per shard, {len(ms)} shards in a row "
                f"({', '.join(f'{t:.1f}' for t in totals)} s)",
                f"{median(totals):.1f} ({median(per):.1f} per datum)",
                "",
                "",
            ]
        )

    if "batching" not in args.skip:
        runs = []
        for i in range(args.batching_repeat):
            runs.append(batching_run(shard_dirs, scratch("etl-batching")))
            say(f"datum batching, one process: run {i + 1}: {runs[-1].wall_s:.1f} s")
        results["batching"] = [r.wall_s for r in runs]
        label = f"--datum-batching, {len(shard_dirs)} datums via NextDatum"
        per_datum = len(shard_dirs)
        rows.append(
            median_row(
                label, runs, lambda m: f"{m.wall_s:.1f} ({m.wall_s / per_datum:.1f} per datum)"
            )
        )

    if "cpu" not in args.skip:
        c = cpu_run(data)
        say(f"CPU of one all-shards run: {c}")
        results["cpu"] = c
        cpu = c["jvm_cpu_s"] + c["py_cpu_s"]
        rows.append(
            [
                "all shards, CPU seconds of one run (Spark JVM + Python; the idle-machine "
                "floor is about CPU / 2 cores)",
                f"{c['wall_s']:.1f} (CPU {cpu:.1f} = JVM {c['jvm_cpu_s']:.1f} + "
                f"Python {c['py_cpu_s']:.1f})",
                "",
                "",
            ]
        )

    save_result("etl", results)
    body = (
        "`.venv/bin/python bench/bench_etl.py` - "
        f"{FULL_ROWS:,} rows (`pachflow gen-paysim`, seed 42) split into "
        f"{len(shard_dirs)} shards by `pachflow-split`; every run a fresh "
        f"`pachflow-etl --master {MASTER}` process (Spark start included).\n\n"
        f"Machine: {machine_line()}.\n\n"
        + table(rows, ["run", "wall s (median)", "peak RSS (tree)", "load before"], "lrrr")
    )
    write_section("etl", body)
    print(body)


if __name__ == "__main__":
    main()
