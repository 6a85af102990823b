"""Benchmark `pachflow-split` on the real file's size (6,362,620 rows) and twice that.

Inputs come from `pachflow_paysim.generator` (seed 42). Each run is a fresh
`pachflow-split --shards 16 IN OUT` process; wall seconds, CPU seconds and that process's
own peak RSS (os.wait4) are recorded; prints every run and the medians as Markdown rows
for bench/RESULTS.md ("## split").

    .venv/bin/python bench/bench_split.py [--rows N] [--repeat 3] [--no-2x] [--no-gz]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL_ROWS = 6_362_620
SPLIT = str(Path(sys.executable).with_name("pachflow-split"))


def run_split(input_dir: Path, out: Path, args: list[str]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    wall = time.perf_counter()
    proc = subprocess.Popen(
        [SPLIT, *args, str(input_dir), str(out)], stderr=subprocess.PIPE, text=True
    )
    stderr = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - wall
    if proc.returncode != 0:
        raise SystemExit(f"pachflow-split failed ({proc.returncode}):\n{stderr}")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "summary": stderr.strip().splitlines()[-1],
    }


def arrow_alone(path: Path) -> tuple[float, float]:
    """Arrow's own multi-threaded parse of the same file (the issue's reference point, and
    a gauge of how loaded the machine is): wall and CPU seconds."""
    import pyarrow.csv as pacsv

    wall, cpu = time.perf_counter(), time.process_time()
    pacsv.read_csv(path)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-2x", action="store_true", help="skip the 2x-size input")
    parser.add_argument("--no-gz", action="store_true", help="skip the .csv.gz input")
    parser.add_argument("--data-dir", type=Path, help="keep generated inputs here (reused)")
    args = parser.parse_args()

    from pachflow_paysim import write_paysim

    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        data = args.data_dir or Path(tmp) / "data"
        cases = [("1x .csv", "x1", "paysim.csv", args.rows, args.repeat)]
        if not args.no_gz:
            cases.append(("1x .csv.gz", "x1gz", "paysim.csv.gz", args.rows, 1))
        if not args.no_2x:
            cases.append(("2x .csv", "x2", "paysim2x.csv", 2 * args.rows, 1))
        print(
            f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
            f"nproc {os.cpu_count()}, Python {platform.python_version()}, "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        results = []
        for label, folder, name, rows, repeat in cases:
            source = data / folder / name
            if not source.exists():
                source.parent.mkdir(parents=True, exist_ok=True)
                write_paysim(source, rows, seed=42)
            runs = []
            for i in range(repeat):
                run = run_split(source.parent, Path(tmp) / "out", ["--shards", "16"])
                runs.append(run)
                print(
                    f"{label} run {i + 1}: {run['seconds']:.2f} s wall, "
                    f"{run['cpu_seconds']:.2f} s CPU, {run['peak_rss_mb']:.0f} MB peak RSS, "
                    f"load {os.getloadavg()[0]:.1f} | {run['summary']}",
                    flush=True,
                )
            wall = statistics.median(r["seconds"] for r in runs)
            results.append(
                (
                    label,
                    rows,
                    source.stat().st_size,
                    wall,
                    statistics.median(r["cpu_seconds"] for r in runs),
                    max(r["peak_rss_mb"] for r in runs),
                    len(runs),
                )
            )
        wall, cpu = arrow_alone(data / "x1" / "paysim.csv")
        print(f"Arrow alone (read_csv, threads) on 1x: {wall:.2f} s wall, {cpu:.2f} s CPU")
        print("\n| input | rows | bytes | runs | wall s (median) | CPU s | rows/s | peak RSS |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, rows, size, wall, cpu, rss, n in results:
            print(
                f"| {label} | {rows:,} | {size:,} | {n} | {wall:.2f} | {cpu:.2f} | "
                f"{rows / wall:,.0f} | {rss:.0f} MB |"
            )


if __name__ == "__main__":
    main()
