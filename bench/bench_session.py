"""A user's session (issue 26): which Spark should `pachflow run` use by default?

One session = on a fresh store, a cold run of the full raw file, then a +1 % raw file, a
second +1 % file and the deletion of the first (each followed by `pachflow run`), as a
person iterating on new data does. Run twice per mode, alternating:
- `stage`: each Spark stage's own in-process Spark (a cold JVM per train datum);
- `engine`: `--spark engine` with NO engine running when the session starts: the first
  run starts it (and warms it up) and pays for that inside its wall time; the later runs
  find it warm. It is stopped when the session ends.
The session's total wall time says which default a person iterating is better served by;
each step's wall against the same session's cold run gives the issue's incremental
ratios (+1 % <= 0.4x, delete <= 0.3x).

    .venv/bin/python bench/bench_session.py [--rows N] [--sessions 2]

Run it alone (../shared/tools/heavy); every figure comes with its load average.
"""

from __future__ import annotations

import argparse
import shutil
from typing import Any

import data
from bench_engines import with_env
from harness import as_dict, machine_line, measure, median, say, table, tool, write_section
from local_chain import Chain

MODES = ("stage", "engine")
STEPS = ("cold", "+1 %", "+1 % again", "delete the first")


def session(mode: str, i: int, rows: int) -> dict[str, Any]:
    """The four runs of one session in `mode`: wall, load and each stage's job time."""
    work = data.scratch(f"session-{mode}-{i}")
    chain = Chain(work / "home", logs=work / "logs").fresh()
    extra_rows = max(1, rows // 100)
    extras = [
        data.raw_csv(extra_rows, seed=1000 + k, name=f"extra-{extra_rows}-{k}") for k in (0, 1)
    ]
    changes = [
        lambda: chain.put("raw_data", [data.raw_csv(rows, seed=42)]),
        lambda: chain.put("raw_data", [extras[0]]),
        lambda: chain.put("raw_data", [extras[1]]),
        lambda: chain.delete(f"raw_data@master:/{extras[0].name}"),
    ]
    steps = []
    try:
        with with_env({"PACHFLOW_RUN_SPARK": mode}):
            for step, change in zip(STEPS, changes, strict=True):
                change()
                m = chain.run(label=f"{mode}-{i}-{step}")
                jobs = {p: round(j["duration_s"], 1) for p, j in chain.latest_jobs().items()}
                steps.append({"step": step, "run": as_dict(m), "jobs": jobs})
                say(f"session {mode} {i}, {step}: {m.wall_s:.1f} s (load {m.load_before:.1f})")
    finally:
        if mode == "engine":
            measure([tool("pachflow"), "engine", "stop"], env=chain.env(), check=False)
        shutil.rmtree(work, ignore_errors=True)  # ~1.2 GB a session
    return {"mode": mode, "steps": steps}


def section(rows: int, sessions: list[dict[str, Any]]) -> str:
    lines = []
    for s in sessions:
        cold = s["steps"][0]["run"]["wall_s"]
        cells = [s["mode"]]
        for step in s["steps"]:
            wall = step["run"]["wall_s"]
            ratio = "" if step is s["steps"][0] else f" = {wall / cold:.2f}x"
            cells.append(f"{wall:.1f} s{ratio} (train {step['jobs'].get('train', 0):.0f})")
        total = sum(step["run"]["wall_s"] for step in s["steps"])
        loads = ", ".join(f"{step['run']['load_before']:.1f}" for step in s["steps"])
        lines.append([*cells, f"**{total:.0f} s**", loads])
    totals = {
        mode: median(
            [sum(st["run"]["wall_s"] for st in s["steps"]) for s in sessions if s["mode"] == mode]
        )
        for mode in MODES
    }
    return f"""
`.venv/bin/python bench/bench_session.py --rows {rows}` ({machine_line()}).

A session on a fresh store: the raw file ({rows:,} rows) and `pachflow run`, then a +1 %
file, another +1 % file, and the deletion of the first, each followed by `pachflow run`.
`stage`: in-process Spark in each Spark stage. `engine`: `--spark engine` with no engine
running at the start: the cold run starts and warms it up inside its wall time. Sessions
alternate. Each cell: the run's wall (x the same session's cold run) and train's job.

{table(lines, ["mode", *STEPS, "session", "load at each start"], "lrrrrrl")}

Median session: in-process **{totals["stage"]:.0f} s**, engine **{totals["engine"]:.0f} s**
(engine / in-process = {totals["engine"] / totals["stage"]:.2f}).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument("--sessions", type=int, default=2, help="sessions per mode")
    parser.add_argument("--section", default="a user's session: in-process or engine (issue 26)")
    args = parser.parse_args()
    data.raw_csv(args.rows, seed=42)  # generated before any timing
    results = [session(mode, i, args.rows) for i in range(args.sessions) for mode in MODES]
    write_section(args.section, section(args.rows, results))
    say("written to RESULTS.md")


if __name__ == "__main__":
    main()
