"""What etl's reproducibility rewrite costs on the full data set: `pachflow-etl` once over
6,362,620 PaySim-like rows in 16 shards (seed 42), then its pyarrow rewrite of the part
files (`pachflow_etl.spark_job.rewrite_stamped`, idempotent) timed --repeat times on that
output, against the whole etl run. Section "## etl: reproducible rewrite" of RESULTS.md.

    flock /work/bench.lock .venv/bin/python bench/bench_etl_rewrite.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time

from data import FULL_ROWS, raw_csv, scratch
from harness import machine_line, say, table, tool, write_section


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pachflow_etl.spark_job import rewrite_stamped

    work = scratch("etl-rewrite")
    raw = raw_csv(FULL_ROWS)
    (work / "raw").mkdir()
    os.link(raw, work / "raw" / raw.name)
    subprocess.run([tool("pachflow-split"), str(work / "raw"), str(work / "split")], check=True)
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    subprocess.run(
        [tool("pachflow-etl"), "--master", "local[2]", str(work / "split"), str(work / "etl")],
        check=True,
    )
    etl_s = time.monotonic() - t0
    files = sorted((work / "etl").rglob("part-*.parquet"))
    size = sum(p.stat().st_size for p in files)
    rewrites = []
    for _ in range(args.repeat):
        t0 = time.monotonic()
        rewrite_stamped(files)
        rewrites.append(time.monotonic() - t0)
        say(f"rewrite {rewrites[-1]:.2f} s")
    best = sorted(rewrites)[len(rewrites) // 2]
    load_after = os.getloadavg()
    body = (
        "`flock /work/bench.lock .venv/bin/python bench/bench_etl_rewrite.py` - "
        f"{FULL_ROWS:,} rows, 16 shards; one `pachflow-etl --master local[2]` run "
        "(rewrite included), then the "
        f"rewrite alone on its {len(files)} files ({size / 2**20:.0f} MiB).\n\n"
        f"Machine: {machine_line()}; load average before etl {load_before:.1f}, at the end "
        f"{load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} (shared machine: "
        "other engineers' jobs ran meanwhile).\n\n"
        + table(
            [
                ["pachflow-etl, whole run (incl. the rewrite)", f"{etl_s:.1f}"],
                [f"rewrite alone ({', '.join(f'{r:.2f}' for r in rewrites)})", f"**{best:.2f}**"],
                ["rewrite share of the etl run", f"{best / etl_s:.0%}"],
            ],
            ["what", "wall s (median)"],
            "lr",
        )
    )
    write_section("etl: reproducible rewrite", body)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
