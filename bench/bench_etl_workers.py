"""etl's scale-out is Pachyderm's datum parallelism (issue 26, item 1): the same split +
etl run at full size with `parallelismSpec.constant` 1 and 2, alternating run by run. Each
etl datum (one shard's rows of one raw file) is aggregated with Arrow in one thread, so a
second worker is the way to a second core; on a cluster, a second pod.

    .venv/bin/python bench/bench_etl_workers.py [--rows N] [--runs 3] [--workers 1 2]

Writes the section "etl workers (issue 26)" of RESULTS.md.
"""

from __future__ import annotations

import argparse
from typing import Any

import data
from harness import loads, machine_line, median, say, table, write_section
from local_chain import Chain, write_specs

TITLE = "etl workers (issue 26)"


def one_run(raw: Any, workers: int, i: int) -> dict[str, Any]:
    def etl(spec: dict[str, Any]) -> None:
        spec["parallelismSpec"] = {"constant": workers}

    work = data.scratch(f"etl-workers-{workers}-{i}")
    specs = write_specs(work / "specs", ["split", "etl"], {"etl": etl})
    chain = Chain(work / "home", specs=specs, logs=work / "logs").fresh()
    chain.put("raw_data", [raw])
    m = chain.run()
    jobs = chain.latest_jobs()
    say(f"workers {workers} run {i}: etl {jobs['etl']['duration_s']:.1f} s, run {m.wall_s:.1f} s")
    return {
        "m": m,
        "etl_s": jobs["etl"]["duration_s"],
        "datums": jobs["etl"]["total"],
        "etl_peak_mb": m.group_peaks.get("etl", 0) / (1 << 20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    raw = data.raw_csv(args.rows, seed=42)
    runs: dict[int, list[dict[str, Any]]] = {w: [] for w in args.workers}
    for i in range(args.runs):
        for w in args.workers:
            runs[w].append(one_run(raw, w, i))
    rows = []
    for w, rs in runs.items():
        rows.append(
            [
                str(w),
                f"**{median([r['etl_s'] for r in rs]):.1f} s**",
                ", ".join(f"{r['etl_s']:.1f}" for r in rs),
                str(rs[0]["datums"]),
                f"{max(r['etl_peak_mb'] for r in rs):.0f} MB",
                loads([r["m"] for r in rs]),
            ]
        )
    header = ["workers", "etl job (median)", "runs (s)", "datums", "etl peak RSS", "load"]
    first, last = args.workers[0], args.workers[-1]
    ratio = median([r["etl_s"] for r in runs[last]]) / median([r["etl_s"] for r in runs[first]])
    body = (
        f"`.venv/bin/python bench/bench_etl_workers.py --rows {args.rows} --runs {args.runs}`\n"
        f"({machine_line()}). split + etl of the committed specs on "
        f"`gen-paysim --rows {args.rows} --seed 42`, a fresh store per run, etl's "
        "`parallelismSpec.constant` set per row, alternating run by run. etl job = the "
        "runner's job duration; peak RSS: etl's processes together.\n\n"
        + table(rows, header, "lrlrrl")
        + f"\n\n**{last} workers / {first}: {ratio:.2f}** of etl's job time.\n"
    )
    write_section(TITLE, body)


if __name__ == "__main__":
    main()
