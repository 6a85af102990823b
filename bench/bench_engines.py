"""Spark engines (issue 31): the cold end-to-end run with each Spark stage's own
in-process Spark (`pachflow run`, the default), against the monolithic reference in the
same invocation, then the same run with one shared Spark Connect server (`--spark
connect`) and on a standalone cluster the run starts (`--spark standalone`: a master + 2
workers, separate JVMs on loopback), and etl's cost per extra datum with datum batching
on the shared server (4 vs 64 shards). `--what engine` (issue 26): cold `pachflow run`
in-process against `--spark engine` on an engine started and warmed up beforehand
(`pachflow engine start`, untimed), alternating, `--runs` each.

    .venv/bin/python bench/bench_engines.py [--rows N] [--what e2e,connect,standalone,batching]
    .venv/bin/python bench/bench_engines.py --rows 1000000 --what engine --runs 2 \
        --section "Warm Spark engine (issue 26)"

(run it alone on a quiet machine: ../shared/tools/heavy, or flock on the bench lock).

Every figure is one run with the 1-minute load average before it and the highest seen
while it ran: on a machine shared with other work the medians of several runs would not
be more trustworthy than stating the load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from unittest.mock import patch

import data
from harness import as_dict, machine_line, measure, say, table, tool, write_section
from local_chain import Chain

BENCH = Path(__file__).resolve().parent


def monolithic(raw: Path) -> dict[str, Any]:
    work = data.scratch("engines-monolithic")
    out = work / "phases.json"
    m = measure(
        [sys.executable, BENCH / "monolithic.py", "job", raw, "--json", out],
        log=work / "job.log",
    )
    return {"run": as_dict(m), "phases": json.loads(out.read_text())}


def with_env(env: dict[str, str]) -> Any:
    """Set `env` in os.environ (Chain.env() copies it) while the block runs."""
    return patch.dict(os.environ, env)


def cold(raw: Path, label: str, spark: str) -> dict[str, Any]:
    work = data.scratch(label)
    chain = Chain(work / "home", logs=work / "logs").fresh()
    chain.put("raw_data", [raw])
    with with_env({"PACHFLOW_RUN_SPARK": spark}):
        m = chain.run()
    jobs = chain.latest_jobs()
    run_json = json.loads(chain.read("train@master:/run.json", work / "run.json").read_text())
    say(f"{label}: {m.wall_s:.1f} s (load {m.load_before:.1f} -> {m.load_max:.1f})")
    return {
        "run": as_dict(m),
        "jobs": {p: round(j["duration_s"], 1) for p, j in jobs.items()},
        "test_areaUnderPR": run_json["metrics"]["test_areaUnderPR"],
    }


def warm_engine(raw: Path, label: str) -> dict[str, Any]:
    """`cold` with `--spark engine`, the store's engine started and warmed up before the
    timed run (and stopped after it): what a run costs when the engine is up already."""
    work = data.scratch(label)
    chain = Chain(work / "home", logs=work / "logs").fresh()
    chain.put("raw_data", [raw])
    engine = [tool("pachflow"), "engine"]
    start = measure([*engine, "start", "--specs", chain.specs], env=chain.env())
    say(f"{label}: engine started and warmed up in {start.wall_s:.1f} s (untimed)")
    try:
        with with_env({"PACHFLOW_RUN_SPARK": "engine"}):
            m = chain.run()
    finally:
        measure([*engine, "stop"], env=chain.env(), check=False)
    jobs = chain.latest_jobs()
    run_json = json.loads(chain.read("train@master:/run.json", work / "run.json").read_text())
    say(f"{label}: {m.wall_s:.1f} s (load {m.load_before:.1f} -> {m.load_max:.1f})")
    return {
        "run": as_dict(m),
        "engine_start_s": round(start.wall_s, 1),
        "jobs": {p: round(j["duration_s"], 1) for p, j in jobs.items()},
        "test_areaUnderPR": run_json["metrics"]["test_areaUnderPR"],
    }


def engine_section(rows: int, runs: list[tuple[str, dict[str, Any]]]) -> str:
    lines = []
    for name, res in runs:
        run = res["run"]
        stages = ", ".join(f"{k} {v}" for k, v in res["jobs"].items())
        load = f"{run['load_before']:.1f} -> {run['load_max']:.1f}"
        pr = f"{res['test_areaUnderPR']:.6f}"
        lines.append([name, f"{run['wall_s']:.1f} s", stages, pr, load])
    walls = {
        kind: [r["run"]["wall_s"] for n, r in runs if n.startswith(kind)]
        for kind in ("in-process", "engine")
    }
    mean = {k: sum(v) / len(v) for k, v in walls.items() if v}
    ratio = mean["engine"] / mean["in-process"] if len(mean) == 2 else float("nan")
    header = ["run (cold store, raw CSV -> model)", "wall", "stage jobs (s)", "test areaUnderPR"]
    text = table(lines, [*header, "load"])
    return f"""
`.venv/bin/python bench/bench_engines.py --rows {rows} --what engine --runs {len(runs) // 2}`
({machine_line()}). Alternating, in this order; each run on a fresh store with raw file
`pachflow gen-paysim --rows {rows} --seed 42` and the committed specs. `engine`: the
store's engine started and warmed up by `pachflow engine start` before the run (not
timed: {", ".join(str(r["engine_start_s"]) for n, r in runs if "engine_start_s" in r)} s),
then `pachflow run --spark engine`; its JVM is not the run's process tree (no peak RSS).

{text}

Mean wall: in-process {mean.get("in-process", 0):.1f} s, warm engine
{mean.get("engine", 0):.1f} s: **engine / in-process = {ratio:.2f}**.
"""


def batching(raw: Path) -> dict[str, Any]:
    from seed_design import ours  # the committed design, with `shards` shards

    with with_env({"PACHFLOW_RUN_SPARK": "connect"}):
        lo, hi = ours(raw, "engines-b4", True, 4), ours(raw, "engines-b64", True, 64)
    return {"lo": lo, "hi": hi, "per_datum_s": (hi["etl_s"] - lo["etl_s"]) / 60}


def section(rows: int, r: dict[str, Any]) -> str:
    lines = []
    mono = r.get("monolithic")

    def row(name: str, res: dict[str, Any] | None) -> None:
        if not res:
            return
        run = res["run"]
        ratio = f"{run['wall_s'] / mono['run']['wall_s']:.2f}" if mono else ""
        jobs = res.get("jobs", {})
        stages = ", ".join(f"{k} {v}" for k, v in jobs.items())
        load = f"{run['load_before']:.1f} -> {run['load_max']:.1f}"
        lines.append([name, f"{run['wall_s']:.1f} s", ratio, stages, load])

    row("monolithic Spark job (reference)", mono)
    row("**`pachflow run`** (default: each Spark stage its own JVM)", r.get("stage"))
    row("`pachflow run --spark connect` (one shared Spark Connect server)", r.get("connect"))
    row(
        "`pachflow run --spark standalone` (master + 2 workers, separate JVMs)",
        r.get("standalone"),
    )
    text = table(
        lines,
        [
            "run (cold, raw CSV -> registered model)",
            "wall",
            "/ monolithic",
            "stage jobs (s)",
            "load before -> max",
        ],
    )
    b = r.get("batching")
    if b:
        text += (
            "\n\netl with datum batching on the shared Connect server: "
            f"{b['lo']['etl_datums']} datums "
            f"{b['lo']['etl_s']:.1f} s, {b['hi']['etl_datums']} datums {b['hi']['etl_s']:.1f} s: "
            f"**{b['per_datum_s']:.2f} s per extra datum** (load "
            f"{b['lo']['run']['load_before']:.1f} / {b['hi']['run']['load_before']:.1f} before "
            "each)."
        )
    return f"""
`.venv/bin/python bench/bench_engines.py --rows {rows}`
({machine_line()}). One run each, in this order, in one invocation; raw file
`pachflow gen-paysim --rows {rows} --seed 42`; the committed specs.

{text}
"""


def main() -> None:
    sys.path.insert(0, str(BENCH))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument("--what", default="e2e,connect,standalone,batching")
    parser.add_argument("--section", default="Spark engines (issue 31)", help="RESULTS.md title")
    parser.add_argument("--runs", type=int, default=2, help="Of each, with --what engine.")
    args = parser.parse_args()
    what = set(args.what.split(","))
    raw = data.raw_csv(args.rows)
    r: dict[str, Any] = {}
    if what == {"engine"}:
        runs: list[tuple[str, dict[str, Any]]] = []
        for n in range(1, args.runs + 1):
            runs.append((f"in-process {n}", cold(raw, f"engine-bench-stage{n}", "stage")))
            runs.append((f"engine {n}", warm_engine(raw, f"engine-bench-engine{n}")))
        write_section(args.section, engine_section(args.rows, runs))
        return
    if "e2e" in what:
        r["monolithic"] = monolithic(raw)
        say(f"monolithic: {r['monolithic']['run']['wall_s']:.1f} s")
        r["stage"] = cold(raw, "engines-stage", "stage")
    for mode in ("connect", "standalone"):
        if mode in what:
            r[mode] = cold(raw, f"engines-{mode}", mode)
    if "batching" in what:
        r["batching"] = batching(raw)
    (BENCH / ".data").mkdir(exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in args.section.lower())
    (BENCH / ".data" / f"{slug}.json").write_text(json.dumps(r, indent=2))
    write_section(args.section, section(args.rows, r))


if __name__ == "__main__":
    main()
