"""What etl's Arrow engine costs in memory per byte of input, on the real code path: the
measurement behind `pachflow_etl.engine.ARROW_MAX_BYTES` (issue 26, item 1).

For each size (PaySim-like rows, `pachflow gen-paysim`, seed 42), split writes ONE
transactions Parquet file (`pachflow-split --shards 1`); a fresh child process imports etl
and runs `pachflow_etl.job.run` on it with the Arrow engine forced (Spark refused), and
reports `resource.getrusage(RUSAGE_SELF).ru_maxrss` before (imports only) and after the
run, and the run's wall time. A line on or above every (file bytes, peak RSS) bounds the
process's peak: a fixed part (interpreter, imports, what the first run loads lazily:
pyarrow's kernels, pandas) plus a slope per byte of input file. With `--spark-rows N`,
that size is also run as `pachflow-etl` on each engine (`--arrow-max-bytes` huge / 0,
`--master local[2]`, fresh process, whole process tree). Results: bench/RESULTS.md,
section "## etl engine memory"; `--render` rewrites it from bench/results.json.

    /work/shared/tools/heavy .venv/bin/python bench/bench_etl_memory.py \
        [--rows 100000 400000 1000000 3000000] [--spark-rows 1000000] [--render | --full-size]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from data import DATA, FULL_ROWS, raw_csv, scratch
from harness import (
    MB,
    load_result,
    machine_line,
    measure,
    save_result,
    say,
    table,
    tool,
    write_section,
)

RESULT = "etl_engine_memory"
# Run in a fresh interpreter: ru_maxrss is per process and never goes down.
CHILD = """
import json, resource, sys, time
from pachflow_etl.job import run

def refuse():
    raise SystemExit("the Arrow engine was forced: Spark must not be asked for")

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
run(sys.argv[1], sys.argv[2], refuse, arrow_max_bytes=1 << 62)
wall = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "after": after, "wall_s": wall}))
"""


def one_file(rows: int) -> Path:
    """split's output for `rows` rows as one Parquet file (made once, then reused)."""
    out = DATA / f"etl-memory-split-{rows}"
    made = sorted(out.glob("shard=*/*.parquet"))
    if made:
        return made[0]
    csv = raw_csv(rows)
    raw = DATA / f"etl-memory-raw-{rows}"
    raw.mkdir(parents=True, exist_ok=True)
    if not (raw / csv.name).exists():
        os.link(csv, raw / csv.name)
    say(f"splitting {csv.name} into one shard")
    measure([tool("pachflow-split"), "--shards", "1", str(raw), str(out)])
    (found,) = out.glob("shard=*/*.parquet")
    return found


def arrow_peak(path: Path) -> dict[str, float]:
    work = scratch(f"etl-memory-{path.stem}")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(work / "out")],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def cli_run(input_dir: Path, arrow_max_bytes: int | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, process tree) of `pachflow-etl` on one engine
    (`arrow_max_bytes` None: etl's default limit)."""
    work = scratch(f"etl-memory-cli-{arrow_max_bytes}")
    limit = [] if arrow_max_bytes is None else ["--arrow-max-bytes", str(arrow_max_bytes)]
    cmd = [tool("pachflow-etl"), "--master", "local[2]", *limit, str(input_dir), str(work / "out")]
    log = work.with_suffix(".log")
    m = measure(cmd, log=log)
    text = log.read_text()  # etl logs each file's engine: "<file>: N rows: Arrow (...)"
    say(
        f"{input_dir.name}, limit {arrow_max_bytes}: {text.count(': Arrow (')} files on Arrow, "
        f"{text.count(': Spark (')} on Spark; {m.wall_s:.1f} s, {m.peak_rss_mb:.0f} MB"
    )
    return m.wall_s, m.peak_rss_mb


def measure_full() -> dict[str, object]:
    """etl over the full PaySim size as split's 16 shards (one process, one session at most):
    the default limit (every shard within it: Arrow) against always Spark."""
    from bench_etl import split_shards

    data = split_shards(16)
    load_before = os.getloadavg()
    arrow, spark = cli_run(data, None), cli_run(data, 0)
    return {
        "rows": FULL_ROWS,
        "shards": 16,
        "shard_bytes": [p.stat().st_size for p in sorted(data.glob("shard=*/*.parquet"))],
        "arrow": arrow,
        "spark": spark,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def bound(points: list[tuple[float, float]]) -> tuple[float, float]:
    """A line `fixed + slope * x` on or above every point (x, y): the least-squares slope,
    the intercept raised until no point lies above the line (the measured peaks are
    concave in x, so a plain fit would under-estimate mid-sized files)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return max(y - slope * x for x, y in points), slope


def measure_all(rows: list[int], spark_rows: int) -> dict[str, object]:
    load_before = os.getloadavg()
    runs: list[dict[str, object]] = []
    for n in rows:
        path = one_file(n)
        r = arrow_peak(path)
        runs.append({"rows": n, "file_bytes": path.stat().st_size, **r})
        say(f"{n:,} rows: peak {r['after'] / MB:.0f} MB in {r['wall_s']:.1f} s")
    cli: dict[str, object] = {}
    if spark_rows:
        path = one_file(spark_rows)
        root = path.parent.parent
        cli = {"rows": spark_rows, "arrow": cli_run(root, 1 << 62), "spark": cli_run(root, 0)}
        say(f"CLI: Arrow {cli['arrow']}, Spark {cli['spark']} (wall s, peak MB)")
    return {
        "runs": runs,
        "cli": cli,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "machine": machine_line(),
    }


def render(result: dict[str, Any]) -> str:
    runs = result["runs"]
    fixed, slope = bound([(r["file_bytes"], r["after"]) for r in runs])
    rows = [
        [
            f"{r['rows']:,}",
            f"{r['file_bytes'] / MB:.1f}",
            f"{r['before'] / MB:.0f}",
            f"{r['after'] / MB:.0f}",
            f"{(r['after'] - r['before']) / r['rows']:.0f}",
            f"{(fixed + slope * r['file_bytes']) / MB:.0f}",
            f"{r['wall_s']:.1f}",
        ]
        for r in runs
    ]
    body = (
        "`/work/shared/tools/heavy .venv/bin/python bench/bench_etl_memory.py` (issue 26, "
        "item 1): etl's Arrow engine (`pachflow_etl.job.run`, Spark refused) on ONE "
        "transactions Parquet file of split's (`--shards 1`) per size, each in a fresh child "
        "process; peak RSS = `getrusage(RUSAGE_SELF).ru_maxrss` after the run, base = the "
        "same before it (interpreter + imports). One run per size.\n\n"
        + table(
            rows,
            [
                "rows",
                "file MB",
                "base MB",
                "peak MB",
                "added bytes per row",
                "bound MB",
                "Arrow wall s (with lazy imports)",
            ],
            "rrrrrrr",
        )
        + f"\n\nPeak RSS of the process <= **{fixed / MB:.0f} MB + {slope:.1f} x input file "
        "bytes** at every measured size (least-squares slope, intercept raised to the "
        "highest point: the peaks are concave in the size; the fixed part is the "
        "interpreter, the imports and what the first run loads lazily: pyarrow's kernels, "
        "pandas). `pachflow_etl.engine` rounds both up (ARROW_BOUND: fixed, per byte) "
        "and takes the largest file whose bound stays within its budget: ARROW_MAX_BYTES, "
        "the default of `--arrow-max-bytes`.\n"
    )
    cli = result.get("cli") or {}
    if cli:
        (arrow_s, arrow_mb), (spark_s, spark_mb) = cli["arrow"], cli["spark"]
        body += (
            f"\nThe whole `pachflow-etl` process (fresh, one run each, {cli['rows']:,} rows, "
            "`--master local[2]`; peak RSS of the process tree, JVM included):\n\n"
            + table(
                [
                    ["Arrow (`--arrow-max-bytes` huge)", f"{arrow_s:.1f}", f"{arrow_mb:.0f}"],
                    ["Spark (`--arrow-max-bytes 0`)", f"{spark_s:.1f}", f"{spark_mb:.0f}"],
                ],
                ["engine", "wall s", "peak RSS MB"],
                "lrr",
            )
            + "\n"
        )
    full = result.get("full") or {}
    if full:
        (arrow_s, arrow_mb), (spark_s, spark_mb) = full["arrow"], full["spark"]
        sizes = full["shard_bytes"]
        b0, b1 = full["load_before"], full["load_after"]
        body += (
            f"\nFull size: {full['rows']:,} rows split into {full['shards']} shards "
            f"({min(sizes) / MB:.1f}-{max(sizes) / MB:.1f} MB each), one `pachflow-etl "
            "--master local[2]` process over all of them (`--full-size`, one run each; load "
            f"{b0[0]:.1f} before, {b1[0]:.1f} after):\n\n"
            + table(
                [
                    ["default limit: every shard Arrow", f"{arrow_s:.1f}", f"{arrow_mb:.0f}"],
                    [
                        "`--arrow-max-bytes 0`: every shard Spark",
                        f"{spark_s:.1f}",
                        f"{spark_mb:.0f}",
                    ],
                ],
                ["engine", "wall s", "peak RSS MB"],
                "lrr",
            )
            + "\n"
        )
    before, after = result["load_before"], result["load_after"]
    body += (
        f"\nLoad average (1/5/15 min) before: {before[0]:.1f} / {before[1]:.1f} / "
        f"{before[2]:.1f}; after: {after[0]:.1f} / {after[1]:.1f} / {after[2]:.1f}. "
        f"{result['machine']}\n"
    )
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[100_000, 400_000, 1_000_000, 3_000_000]
    )
    parser.add_argument("--spark-rows", type=int, default=1_000_000, help="0: skip")
    parser.add_argument(
        "--render", action="store_true", help="rewrite the section from results.json, no runs"
    )
    parser.add_argument(
        "--full-size",
        action="store_true",
        help="only etl over the full PaySim size in 16 shards, each engine (added to the result)",
    )
    args = parser.parse_args()
    if args.full_size:
        result = load_result(RESULT)
        if not isinstance(result, dict):
            raise SystemExit(f"no {RESULT!r} in results.json: measure the sizes first")
        result["full"] = measure_full()
        save_result(RESULT, result)
    elif args.render:
        result = load_result(RESULT)
        if not isinstance(result, dict):
            raise SystemExit(f"no {RESULT!r} in results.json: measure first")
    else:
        result = measure_all(args.rows, args.spark_rows)
        save_result(RESULT, result)
    body = render(result)
    write_section("etl engine memory", body)
    print(body)


if __name__ == "__main__":
    main()
