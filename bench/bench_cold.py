"""Cold, full size, raw CSV -> registered model (issue 26): ours against both references,
alternating run by run so each comparison sees the same machine.

- ours: a fresh PACHFLOW_HOME, `pachflow put raw_data`, `pachflow run` of the committed
  specs (bench_e2e.cold_run: the run's wall, the whole tree's peak RSS, each stage's job);
- monolithic: one Spark job doing the same features, hold-out and tree (monolithic.py);
- reference: one Python process with polars and scikit-learn (reference_polars_sklearn.py);
- with --engine, also ours with `--spark engine` on the store's engine, started and warmed
  up before the run (bench_engines.warm_engine, untimed).

    .venv/bin/python bench/bench_cold.py [--rows N] [--runs 3] [--engine]

Writes the section "cold, alternating (issue 26)" of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import data
from bench_e2e import STAGES, cold_run
from bench_engines import warm_engine
from harness import (
    Measurement,
    as_dict,
    machine_line,
    measure,
    median,
    save_result,
    say,
    table,
    write_section,
)

BENCH = Path(__file__).resolve().parent
TITLE = "cold, alternating (issue 26)"
ENGINE = "ours, warm engine"


def reference_job(name: str, script: str, raw: Path, work: Path, i: int) -> Measurement:
    out = work / f"{name}-{i}.json"
    cmd = [sys.executable, str(BENCH / script), "job", str(raw), "--json", str(out)]
    return measure(cmd, log=work / f"{name}-{i}.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--engine",
        action="store_true",
        help="also ours on the store's warm Spark engine (started and warmed up untimed)",
    )
    args = parser.parse_args()
    raw = data.raw_csv(args.rows, seed=42)
    work = data.scratch(f"cold-{args.rows}")
    ours: list[dict[str, Any]] = []
    refs: dict[str, list[Measurement]] = {"monolithic": [], "reference": []}
    scripts = {"monolithic": "monolithic.py", "reference": "reference_polars_sklearn.py"}
    engine: list[dict[str, Any]] = []
    for i in range(args.runs):
        ours.append(cold_run([raw], f"cold-ours-{i}"))
        if args.engine:
            engine.append(warm_engine(raw, f"cold-engine-{i}"))
        for name, script in scripts.items():
            m = reference_job(name, script, raw, work, i)
            say(f"{name} {i}: {m.wall_s:.1f} s, peak {m.peak_rss_mb:.0f} MB")
            refs[name].append(m)
    save_result(f"e2e_cold_{args.rows}", ours)  # bench_e2e --what incremental goes on from it
    (work / "cold-raw.json").write_text(
        json.dumps({"ours": ours} | {k: [as_dict(m) for m in ms] for k, ms in refs.items()})
    )
    mine = {"ours": ours} | ({ENGINE: engine} if engine else {})
    walls = {k: [r["run"]["wall_s"] for r in rs] for k, rs in mine.items()} | {
        k: [m.wall_s for m in ms] for k, ms in refs.items()
    }
    peaks = {"ours": [r["run"]["peak_rss"] / 2**20 for r in ours]} | {
        k: [m.peak_rss_mb for m in ms] for k, ms in refs.items()
    }
    load_of = {k: [f"{r['run']['load_before']:.1f}" for r in rs] for k, rs in mine.items()} | {
        k: [f"{m.load_before:.1f}" for m in ms] for k, ms in refs.items()
    }
    rows = [
        [
            name,
            f"**{median(walls[name]):.1f} s**",
            ", ".join(f"{w:.1f}" for w in walls[name]),
            f"{max(peaks[name]):.0f} MB" if name in peaks else "- (engine JVM not in the tree)",
            ", ".join(load_of[name]),
        ]
        for name in walls
    ]
    ratio = {k: median(walls["ours"]) / median(walls[k]) for k in refs}
    again = " and ours again on the store's warm engine (`--spark engine`)" if engine else ""
    engine_line = (
        f"\n**ours on a warm engine / monolithic = "
        f"{median(walls[ENGINE]) / median(walls['monolithic']):.2f}**; on a warm engine / "
        f"in-process = {median(walls[ENGINE]) / median(walls['ours']):.2f}. The engine was "
        "started and warmed up before each of its runs, untimed "
        f"({', '.join(str(r['engine_start_s']) for r in engine)} s), as `pachflow engine "
        "start` leaves it for the runs after it.\n"
        if engine
        else ""
    )
    stage_rows = [
        [s, f"{median([r['jobs'][s]['duration_s'] for r in ours if s in r['jobs']]):.1f}"]
        for s in STAGES
        if any(s in r["jobs"] for r in ours)
    ]
    body = f"""
`.venv/bin/python bench/bench_cold.py --rows {args.rows} --runs {args.runs}`
({machine_line()}). Alternating, in this order, run by run: ours (a fresh
PACHFLOW_HOME, `pachflow put raw_data`, `pachflow run` of the committed specs to a
registered model; in-process Spark per stage, no engine){again}, the monolithic Spark job
(bench/monolithic.py) and the polars + scikit-learn process
(bench/reference_polars_sklearn.py), on `gen-paysim --rows {args.rows} --seed 42`.
Peak RSS: the whole process tree, polled (harness.py). Load: 1-minute load average at
each run's start.

{table(rows, ["what", "median wall", "runs (s)", "peak RSS (highest)", "load at start"], "lrlrl")}

**ours / monolithic = {ratio["monolithic"]:.2f}**; ours / reference = {ratio["reference"]:.2f}.
{engine_line}
Each stage's job in ours (median s):

{table(stage_rows, ["stage", "s"], "lr")}
"""
    write_section(TITLE, body)
    (work / "cold.json").write_text(json.dumps({"walls": walls, "peaks": peaks}, indent=2))
    say(body)


if __name__ == "__main__":
    main()
