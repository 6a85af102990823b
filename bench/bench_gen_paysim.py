"""Benchmark `pachflow gen-paysim`'s generator on the real file's size (6,362,620 rows).

Each run is a fresh process (so peak RSS is that run's own); prints every run and the
median as a Markdown table row for bench/RESULTS.md.

    .venv/bin/python bench/bench_gen_paysim.py [--rows N] [--repeat 3] [--gz] [--java-notation]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

FULL_ROWS = 6_362_620


def child(out: str, rows: int, java_notation: bool) -> None:
    """One run: generate, then report wall/CPU seconds, peak RSS and size as JSON."""
    from pachflow_paysim import write_paysim

    wall, cpu = time.perf_counter(), time.process_time()
    summary = write_paysim(out, rows, seed=42, java_notation=java_notation)
    result = {
        "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes": summary.bytes,
        "frauds": summary.frauds,
        "flagged": summary.flagged,
    }
    Path(out).unlink()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gz", action="store_true", help="write .csv.gz instead of .csv")
    parser.add_argument("--java-notation", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.java_notation)
        return

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-gen-paysim-") as tmp:
        out = str(Path(tmp) / ("paysim.csv.gz" if args.gz else "paysim.csv"))
        for i in range(args.repeat):
            cmd = [sys.executable, __file__, "--rows", str(args.rows), "--child", out]
            if args.java_notation:
                cmd.append("--java-notation")
            load = os.getloadavg()[0]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            run = json.loads(done.stdout)
            run["load1"] = load
            runs.append(run)
            print(
                f"run {i + 1}: {run['seconds']:.2f} s wall, {run['cpu_seconds']:.2f} s CPU, "
                f"{args.rows / run['seconds']:,.0f} rows/s, peak RSS {run['peak_rss_mb']:.0f} MB, "
                f"{run['bytes']:,} bytes, {run['frauds']} frauds, {run['flagged']} flagged "
                f"(load avg before: {load:.1f})"
            )
    wall = statistics.median(r["seconds"] for r in runs)
    cpu = statistics.median(r["cpu_seconds"] for r in runs)
    rss = statistics.median(r["peak_rss_mb"] for r in runs)
    size = runs[0]["bytes"]
    memory_gib = psutil.virtual_memory().total / 2**30
    print(
        f"\nmachine: {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), "
        f"{memory_gib:.1f} GiB, Python {platform.python_version()}, {platform.platform()}"
    )
    kind = ".csv.gz" if args.gz else ".csv"
    if args.java_notation:
        kind += " --java-notation"
    print("| rows | output | wall s (median) | CPU s | rows/s | peak RSS MB | file bytes |")
    print(
        f"| {args.rows:,} | {kind} | {wall:.2f} | {cpu:.2f} | {args.rows / wall:,.0f} "
        f"| {rss:.0f} | {size:,} |"
    )


if __name__ == "__main__":
    main()
