"""End to end with `pachflow run` (issue 8 items 1, 2, 3, 6).

- cold: a fresh PACHFLOW_HOME (MLflow: SQLite under it, the runner's default), `pachflow
  put raw_data <raw CSV>`, then `pachflow run` of the committed specs (split -> etl ->
  train -> provenance) to a registered model. Each stage's wall time comes from its job,
  its peak RSS from the processes of that stage (its JVM included) during the run.
- incremental: on the store of the last cold run, `pachflow run` again with nothing
  changed (every datum skipped), then a +1 % raw file and `pachflow run`, another +1 %
  file and run, then `pachflow delete file` of the first +1 % file and run; finally a cold
  run over the remaining files, whose features must equal the incremental ones row for
  row (checked here, bench/features_check.py).
- scaling: cold at 1x, 2x, 4x the rows (one raw file each, generated).

Usage: .venv/bin/python bench/bench_e2e.py [--rows N] [--runs 3] [--what cold,incremental,scaling]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import data
from harness import (
    Measurement,
    as_dict,
    load_result,
    loads,
    machine_line,
    median,
    median_of,
    save_result,
    say,
    table,
    walls,
    write_section,
)
from local_chain import Chain

STAGES = ("split", "etl", "train", "provenance")
MB = 1 << 20


def cold_run(raw: list[Path], label: str) -> dict[str, Any]:
    """One cold end-to-end run; returns its measurements."""
    work = data.scratch(label)
    chain = Chain(work / "home", logs=work / "logs").fresh()
    put = chain.put("raw_data", raw, label="put")
    say(f"{label}: put {put.wall_s:.1f} s; running the DAG")
    run = chain.run(label="run")
    jobs = chain.latest_jobs()
    manifest = json.loads(chain.read("train@master:/run.json", work / "run.json").read_text())
    metrics = manifest.get("metrics", {})
    customers = int(metrics.get("train_rows", 0) + metrics.get("test_rows", 0))
    say(f"{label}: run {run.wall_s:.1f} s, peak {run.peak_rss_mb:.0f} MB")
    return {
        "label": label,
        "home": str(chain.home),
        "put": as_dict(put),
        "run": as_dict(run),
        "jobs": {
            p: {k: j[k] for k in ("duration_s", "processed", "skipped", "total")}
            for p, j in jobs.items()
        },
        "customers": customers,
        "model": manifest.get("registered_model"),
        "test_areaUnderPR": metrics.get("test_areaUnderPR"),
    }


def rows_of(raw: list[Path]) -> int:
    total = 0
    for path in raw:
        with path.open("rb") as fh:
            total += sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 24), b"")) - 1
    return total


def _m(d: dict[str, Any]) -> Measurement:
    return Measurement(**d)


def model_name(model: dict[str, Any] | None) -> str:
    if not model:
        return "none registered"
    return f"{model['name']} v{model['version']} ({model['uri']})"


def cold(rows: int, runs: int) -> list[dict[str, Any]]:
    raw = [data.raw_csv(rows, seed=42)]
    results = [cold_run(raw, f"cold-{rows}-{i}") for i in range(runs)]
    for r in results:
        r["rows"] = rows
    save_result(f"e2e_cold_{rows}", results)
    return results


def cold_section(results: list[dict[str, Any]]) -> str:
    rows = results[0]["rows"]
    ms = [_m(r["run"]) for r in results]
    med = median_of(ms)
    mid = results[ms.index(med)]
    put = median([r["put"]["wall_s"] for r in results])
    mono = load_result(f"monolithic_{rows}")
    ratio = ""
    if mono:
        ratio = (
            f"\n**ours / monolithic** = {med.wall_s:.1f} / {mono['median_wall_s']:.1f} = "
            f"**{med.wall_s / mono['median_wall_s']:.2f}** (target <= 1.2; monolithic: its "
            "own section).\n"
        )
    stage_rows = []
    for stage in STAGES:
        durations = [r["jobs"][stage]["duration_s"] for r in results if stage in r["jobs"]]
        peaks = [r["run"]["group_peaks"].get(stage, 0) / MB for r in results]
        if not durations:
            continue
        d = median(durations)
        n = rows if stage in ("split", "etl") else mid["customers"]
        unit = "tx" if stage in ("split", "etl") else "customers"
        rate = f"{n / d:,.0f} {unit}/s" if stage != "provenance" and d else "-"
        stage_rows.append(
            [
                stage,
                f"{d:.1f}",
                rate,
                f"{median(peaks):.0f}",
                ", ".join(f"{x:.1f}" for x in durations),
            ]
        )
    runner_peak = median([r["run"]["group_peaks"].get("runner", 0) / MB for r in results])
    run_loads = loads(ms)
    put_runs = ", ".join(f"{r['put']['wall_s']:.1f}" for r in results)
    top = table(
        [
            ["`pachflow put raw_data` (copy into the store)", f"{put:.1f} s", put_runs],
            [
                "**`pachflow run`: raw file -> registered model**",
                f"**{med.wall_s:.1f} s** (target < 120 s)",
                walls(ms),
            ],
            ["peak RSS of the whole run (all processes)", f"{med.peak_rss_mb:.0f} MB", ""],
            ["CPU time (user+sys, all processes)", f"{med.cpu_s:.0f} s", ""],
        ],
        ["what", "median", "runs (s)"],
        "lrl",
    )
    return f"""
`.venv/bin/python bench/bench_e2e.py --rows {rows} --runs {len(results)} --what cold`
({machine_line()}; 1-minute load average at the start -> highest during each run: {run_loads}).

A fresh PACHFLOW_HOME per run, MLflow on SQLite under it (the runner's default), the
committed specs (`pipelines/*.json`: split 16 shards, etl with datum batching, train
depth-5 tree, provenance). Raw file: `pachflow gen-paysim --rows {rows} --seed 42`.

{top}
{ratio}
Each stage inside those runs (wall = its job's duration, from `pachflow jobs`; peak RSS =
the stage's processes and its JVM; the runner's own process peaked at {runner_peak:.0f} MB):

{table(stage_rows, ["stage", "wall s (median)", "rows/s", "peak RSS MB", "runs (s)"], "lrrrl")}

Model of the median run: {model_name(mid["model"])}, test areaUnderPR {mid["test_areaUnderPR"]:.4f}
({mid["customers"]:,} customers).
"""


def _jobs(chain: Chain) -> dict[str, dict[str, Any]]:
    return {
        p: {k: j[k] for k in ("duration_s", "processed", "skipped", "total")}
        for p, j in chain.latest_jobs().items()
    }


def incremental(rows: int, runs: int, extra_runs: int) -> dict[str, Any]:
    """On the last cold run's store: unchanged reruns, +1 %, +1 % again, delete the first;
    then a cold run over the remaining files and the features check."""
    from features_check import same_features

    cold_results = load_result(f"e2e_cold_{rows}")
    if not cold_results:
        cold_results = cold(rows, 1)
    base = cold_results[-1]
    chain = Chain(Path(base["home"]), logs=data.DATA / "work" / "incremental-logs")
    unchanged = []
    for i in range(runs):
        m = chain.run(label=f"unchanged-{i}")
        unchanged.append(as_dict(m))
        say(f"unchanged rerun {i}: {m.wall_s:.2f} s")
    steps = []
    extra_rows = max(1, rows // 100)
    extras = [
        data.raw_csv(extra_rows, seed=1000 + i, name=f"extra-{extra_rows}-{i}")
        for i in range(max(2, extra_runs))
    ]
    for i, raw in enumerate(extras[:2]):
        put = chain.put("raw_data", [raw], label=f"put-extra-{i}")
        m = chain.run(label=f"extra-{i}")
        steps.append(
            {
                "what": f"+1 % ({raw.name})",
                "put": as_dict(put),
                "run": as_dict(m),
                "jobs": _jobs(chain),
            }
        )
        say(f"+1 % file {i}: {m.wall_s:.1f} s")
    put = chain.delete(f"raw_data@master:/{extras[0].name}", label="delete-extra-0")
    m = chain.run(label="delete-extra-0")
    steps.append(
        {
            "what": f"delete {extras[0].name}",
            "put": as_dict(put),
            "run": as_dict(m),
            "jobs": _jobs(chain),
        }
    )
    say(f"delete the first +1 % file: {m.wall_s:.1f} s")
    base_raw = data.raw_csv(rows, seed=42)
    check = cold_run([base_raw, extras[1]], "incremental-check")
    same = same_features(chain.home, Path(check["home"]))
    say(f"features after +1 %, +1 %, -1 % == cold run on the remaining files: {same}")
    result = {
        "rows": rows,
        "extra_rows": extra_rows,
        "cold_run_s": median([r["run"]["wall_s"] for r in cold_results]),
        "cold_etl_s": median([r["jobs"]["etl"]["duration_s"] for r in cold_results]),
        "unchanged": unchanged,
        "steps": steps,
        "check": {"run": check["run"], "jobs": check["jobs"], **same},
    }
    save_result(f"e2e_incremental_{rows}", result)
    return result


def incremental_section(r: dict[str, Any]) -> str:
    un = [_m(d) for d in r["unchanged"]]
    cold_s, cold_etl = r["cold_run_s"], r["cold_etl_s"]
    rows = [
        [
            "**`pachflow run` again, nothing changed** (every datum skipped)",
            f"**{median_of(un).wall_s:.2f} s** (target < 2 s)",
            "",
            ", ".join(f"{m.wall_s:.2f}" for m in un),
        ]
    ]
    for step in r["steps"]:
        run = _m(step["run"])
        etl_s = step["jobs"].get("etl", {}).get("duration_s", 0)
        rows.append(
            [
                f"`pachflow run` after {step['what']}",
                f"**{run.wall_s:.1f} s** = {run.wall_s / cold_s:.2f}x cold",
                f"{etl_s:.1f} s = {etl_s / cold_etl:.0%} of cold etl",
                f"load {run.load_before:.1f}->{run.load_max:.1f}",
            ]
        )
    jobs = [
        [step["what"]]
        + [
            f"{j['processed']} run, {j['skipped']} skipped ({j['duration_s']:.1f} s)"
            for p in STAGES
            for j in [
                step["jobs"].get(p, {"processed": 0, "skipped": 0, "total": 0, "duration_s": 0})
            ]
        ]
        for step in r["steps"]
    ]
    c = r["check"]
    verdict = "**equal**" if c["equal"] else "**NOT equal**"
    return f"""
`.venv/bin/python bench/bench_e2e.py --rows {r["rows"]} --what incremental` ({machine_line()}).

On the store of the last cold run ({r["rows"]:,} rows; cold run {cold_s:.1f} s, its etl
{cold_etl:.1f} s, medians of the cold section): unchanged reruns, then a +1 % raw file
({r["extra_rows"]:,} rows), another +1 % file, then `pachflow delete file` of the first.

{table(rows, ["what", "wall", "etl (its job)", "runs / load"], "lrrl")}

Datums per pipeline (run, skipped; job duration):

{table(jobs, ["step", *STAGES], "lllll")}

Check: the features (pachflow_features.read_features over etl@master) after +1 %, +1 %,
-1 % against a cold run over the remaining two files on a fresh store
({c["run"]["wall_s"]:.1f} s): {c["rows"]:,} customers each, {verdict} row for row
(exceptAll both ways: {c["only_incremental"]} / {c["only_cold"]} rows differ).

etl runs only the new file's 16 (shard, file) datums, each a ~4,000-row file aggregated
with Arrow in the etl process (no Spark job, no JVM start: `--arrow-max-bytes`); a deleted
file's datums vanish from etl's output commit without running anything. train still
refits on every customer (a decision tree cannot be updated): it is the floor of an
incremental run, and reads the partials through the merge (pachflow_features: base rows
pass through, only the customers of a newer file are grouped; on train's Arrow engine with
pyarrow, on its Spark engine with a broadcast anti-join).
"""


def scaling(rows: int, scales: list[int]) -> list[dict[str, Any]]:
    out = []
    for k in scales:
        prior = load_result(f"e2e_cold_{rows * k}")
        if k == 1 and prior:
            r = median_of_runs(prior)
        else:
            raw = [data.raw_csv(rows * k, seed=42)]
            r = cold_run(raw, f"scale-{k}x")
            r["rows"] = rows * k
        r["scale"] = k
        out.append(r)
    save_result(f"e2e_scaling_{rows}", out)
    return out


def median_of_runs(results: list[dict[str, Any]]) -> dict[str, Any]:
    ms = [_m(r["run"]) for r in results]
    return results[ms.index(median_of(ms))]


def scaling_section(out: list[dict[str, Any]]) -> str:
    base = out[0]
    rows = []
    for r in out:
        run = r["run"]
        cells = [
            f"{r['scale']}x ({r['rows']:,})",
            f"{run['wall_s']:.1f}",
            f"{run['wall_s'] / base['run']['wall_s'] / r['scale']:.2f}",
        ]
        for stage in ("split", "etl", "train"):
            j = r["jobs"].get(stage, {})
            cells.append(f"{j.get('duration_s', 0):.1f}")
        cells.append(f"{run['group_peaks'].get('split', 0) / MB:.0f}")
        cells.append(f"{run['peak_rss'] / MB:.0f}")
        cells.append(f"{run['load_before']:.1f}->{run.get('load_max', 0):.1f}")
        rows.append(cells)
    return f"""
`.venv/bin/python bench/bench_e2e.py --what scaling` ({machine_line()}). One cold run per
size (1x: the median cold run if one was recorded before, else its own run in the same
pass); each size is one raw file from `pachflow gen-paysim --rows N --seed 42`.
"per row vs 1x" = (wall / rows) / (1x wall / 1x rows): 1.00 is linear.

{
        table(
            rows,
            [
                "rows",
                "run s",
                "per row vs 1x",
                "split s",
                "etl s",
                "train s",
                "split peak RSS MB",
                "run peak RSS MB",
                "load start->max",
            ],
            "lrrrrrrrr",
        )
    }

Split's peak RSS must stay flat in the input size (target < 500 MB at any size).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--what", default="cold,incremental,scaling")
    parser.add_argument("--scales", default="1,2,4")
    parser.add_argument("--extra-runs", type=int, default=None, help="+1 %% runs [--runs]")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the sections from results.json"
    )
    args = parser.parse_args()
    what = args.what.split(",")
    if args.render:
        for name, title, render in (
            (f"e2e_cold_{args.rows}", "end to end, cold", cold_section),
            (f"e2e_incremental_{args.rows}", "incremental", incremental_section),
            (f"e2e_scaling_{args.rows}", "scaling", scaling_section),
        ):
            saved = load_result(name)
            if saved:
                write_section(title, render(saved))
        return
    if "cold" in what:
        write_section("end to end, cold", cold_section(cold(args.rows, args.runs)))
    if "incremental" in what:
        write_section(
            "incremental",
            incremental_section(incremental(args.rows, args.runs, args.extra_runs or args.runs)),
        )
    if "scaling" in what:
        scales = [int(s) for s in args.scales.split(",")]
        write_section("scaling", scaling_section(scaling(args.rows, scales)))


if __name__ == "__main__":
    main()
