"""Benchmark (issue 26, item 3): `pachflow-train` at full size, before and after a change:
wall, peak RSS of its process tree (Python + the Spark JVM), CPU, and whether the model
and metrics are the same.

Input: etl's partials of the full-size raw file (`gen-paysim --rows 6362620 --seed 42`,
`pachflow-split --shards 16`, `pachflow-etl`: what the chain's train reads), made once
under bench/.data/work/train-input. Each run is the real CLI as a fresh process, as
`pachflow run` starts it: the committed spec's transform.env (its Spark master and driver
memory) of the checkout being measured, MLflow on SQLite in a fresh directory that is the
working directory. Runs alternate before / after.

    .venv/bin/python bench/bench_train_memory.py --before CHECKOUT [--runs 2]
    .venv/bin/python bench/bench_train_memory.py --engines [--runs 2]

`--section TITLE` writes the result to another RESULTS.md section (a later change's own).

CHECKOUT is another worktree (with its own .venv) of the code to compare against, e.g.
`git worktree add --detach /tmp/before <commit> && (cd /tmp/before && uv sync)`.
`--engines` compares this checkout's two data engines instead (section "train engines"):
the Spark engine (`PACHFLOW_TRAIN_ARROW_MAX_BYTES=0`: every pass a Spark job) against the
Arrow engine (the data in train's Python process, Spark only fits; any size), and
reports the Python process's own peak too (what `pachflow_train.engine`'s bound covers).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import data
from harness import (
    REPO,
    Measurement,
    loads,
    machine_line,
    measure,
    median,
    say,
    table,
    walls,
    write_section,
)

TITLE = "train memory (issue 26, item 3)"
ENGINES_TITLE = "train engines (issue 26)"
PHASES = {
    "first progress line": re.compile(r"\[train \+([\d.]+)s\]"),
    "session ready": re.compile(r"\[train \+([\d.]+)s\] Spark: "),
    "survey done": re.compile(r"\[train \+([\d.]+)s\] \d+ customers"),
    "read and surveyed": re.compile(r"read and surveyed in ([\d.]+)s"),
    "fit": re.compile(r"fitted \S+ in ([\d.]+)s"),
    "evaluate": re.compile(r"evaluated in ([\d.]+)s"),
    "log": re.compile(r"logged in ([\d.]+)s"),
}
HEADER = [
    "code",
    "wall s (runs)",
    "peak RSS MB (runs)",
    "Python peak MB",
    "cpu s",
    "session ready s",
    "survey done s",
    "Arrow read+survey s",
    "fit s",
    "evaluate s",
    "log s",
    "driver memory",
    "load start->max",
]
#: Metrics that are timings, not results: they may differ between identical fits.
TIMINGS = ("fit_seconds", "evaluate_seconds")


def train_input(rows: int) -> Path:
    """etl's output for the full-size raw file, made once with the stages' own CLIs."""
    root = data.DATA / "work" / "train-input"
    etl = root / "etl"
    if any(etl.rglob("*.parquet")):
        return etl
    raw = data.raw_csv(rows, seed=42)
    if root.exists():
        shutil.rmtree(root)
    (root / "raw").mkdir(parents=True)
    (root / "raw" / raw.name).hardlink_to(raw)
    bin_dir = Path(sys.executable).parent
    say("making train's input: split (16 shards) and etl")
    measure([bin_dir / "pachflow-split", "--shards", "16", root / "raw", root / "split"])
    measure([bin_dir / "pachflow-etl", root / "split", etl])
    return etl


def spec_env(checkout: Path) -> dict[str, str]:
    """The train spec's transform.env of `checkout`, without its cluster MLflow URL."""
    spec = json.loads((checkout / "pipelines" / "train.json").read_text())
    env = dict(spec["transform"].get("env", {}))
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def by_process(cmdline: list[str]) -> str | None:
    """The JVM apart from train's Python process (harness groups)."""
    if cmdline and Path(cmdline[0]).name == "java":
        return "jvm"
    return "python" if any("pachflow-train" in part for part in cmdline) else None


def run_once(
    checkout: Path, etl: Path, work: Path, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One fresh `pachflow-train` of `checkout` on `etl`; its measurement and outputs."""
    import os

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PACHFLOW_"))}
    env |= spec_env(checkout) | (extra_env or {})
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    exe = checkout / ".venv" / "bin" / "pachflow-train"
    log = work / "train.log"
    m = measure([exe, etl, work / "out"], env=env, cwd=work, log=log, group_of=by_process)
    text = log.read_text()
    phases = {}
    for name, pattern in PHASES.items():
        match = pattern.search(text)
        phases[name] = float(match.group(1)) if match else float("nan")
    manifest = json.loads((work / "out" / "run.json").read_text())
    return {"m": m, "phases": phases, "metrics": manifest["metrics"], "out": work / "out"}


def model_tables(out: Path) -> list[Any]:
    """The fitted PipelineModel's data (the tree's nodes), file by file."""
    import pyarrow.parquet as pq

    files = sorted((out / "model" / "stages").glob("*/data/*.parquet"))
    return [pq.read_table(f) for f in files]


def same_result(a: dict[str, Any], b: dict[str, Any]) -> tuple[bool, bool, bool]:
    """(same metrics but timings, same model data, same held-out scores file bytes)."""
    metrics = [{k: v for k, v in r["metrics"].items() if k not in TIMINGS} for r in (a, b)]
    heldout = "evaluation/heldout_scores.parquet"
    return (
        metrics[0] == metrics[1],
        model_tables(a["out"]) == model_tables(b["out"]),
        (a["out"] / heldout).read_bytes() == (b["out"] / heldout).read_bytes(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--before", type=Path, help="checkout to compare with")
    what.add_argument("--engines", action="store_true", help="compare train's two engines")
    parser.add_argument("--runs", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument(
        "--section", help="the RESULTS.md section to write (default: by the comparison)"
    )
    args = parser.parse_args()
    etl = train_input(args.rows)
    variants: dict[str, tuple[Path, dict[str, str]]]
    if args.engines:
        variants = {
            "Spark engine": (REPO, {"PACHFLOW_TRAIN_ARROW_MAX_BYTES": "0"}),
            # any size: what the Arrow engine costs is what sets its default limit
            "Arrow engine": (REPO, {"PACHFLOW_TRAIN_ARROW_MAX_BYTES": str(1 << 40)}),
        }
    else:
        variants = {"before": (args.before.resolve(), {}), "after": (REPO, {})}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for i in range(args.runs):
        for name, (checkout, extra) in variants.items():
            slug = name.split()[0].lower()
            r = run_once(checkout, etl, data.DATA / "work" / f"train-memory-{slug}", extra)
            results[name].append(r)
            m: Measurement = r["m"]
            say(
                f"{name} {i + 1}: {m.wall_s:.1f} s, peak {m.peak_rss_mb:.0f} MB, "
                f"cpu {m.cpu_s:.0f} s, load {m.load_before:.1f}->{m.load_max:.1f}, {r['phases']}"
            )
            r["out"] = _keep(r["out"], data.DATA / "work" / f"train-memory-{slug}-{i}")
    first, second = results.values()
    same = same_result(first[-1], second[-1])
    rows = []
    for name, runs in results.items():
        ms = [r["m"] for r in runs]
        phase = {k: median([r["phases"][k] for r in runs]) for k in PHASES}
        rows.append(
            [
                name,
                f"{median([m.wall_s for m in ms]):.1f} ({walls(ms)})",
                f"{max(m.peak_rss_mb for m in ms):.0f} "
                f"({', '.join(f'{m.peak_rss_mb:.0f}' for m in ms)})",
                f"{max(m.group_peaks.get('python', 0) for m in ms) / 2**20:.0f}",
                f"{median([m.cpu_s for m in ms]):.0f}",
                f"{phase['session ready']:.1f}",
                f"{phase['survey done']:.1f}",
                f"{phase['read and surveyed']:.1f}",
                f"{phase['fit']:.1f}",
                f"{phase['evaluate']:.1f}",
                f"{phase['log']:.1f}",
                spec_env(variants[name][0]).get("PACHFLOW_SPARK_DRIVER_MEMORY", "default"),
                loads(ms),
            ]
        )
    test_pr = second[-1]["metrics"]["test_areaUnderPR"]
    a, b = variants
    option = "--engines" if args.engines else "--before CHECKOUT"
    if args.section:
        option += f' --section "{args.section}"'
    body = f"""
`/work/shared/tools/heavy .venv/bin/python bench/bench_train_memory.py {option}
--runs {args.runs}` ({machine_line()}). `pachflow-train` alone, a fresh process per run as
`pachflow run` starts it (the checkout's committed spec env, MLflow on SQLite), on etl's
output for `gen-paysim --rows {args.rows} --seed 42` (16 shards); {a} / {b} alternate.
Peak RSS = summed RSS of the process tree (Python + the Spark JVM), polled every 50 ms;
Python peak: train's Python process alone. Phases: seconds since the process started
when the session was ready and when the first Spark pass over the data (counts) was
done, or the seconds the Arrow engine took to read and survey the data; fit, evaluate,
log as the stage prints them.

{table(rows, HEADER, "lrrrrrrrrrrll")}

Same results, last {a} run against last {b} run: metrics (all but the two timings)
{"identical" if same[0] else "DIFFERENT"}, model data (the tree's nodes)
{"identical" if same[1] else "DIFFERENT"}, held-out scores file
{"byte for byte identical" if same[2] else "DIFFERENT"}; test areaUnderPR {test_pr:.4f}.
"""
    write_section(args.section or (ENGINES_TITLE if args.engines else TITLE), body)
    say(body)


def _keep(out: Path, where: Path) -> Path:
    """Move a run's OUTPUT_DIR aside (the next run of the same code reuses the work dir)."""
    if where.exists():
        shutil.rmtree(where)
    shutil.move(str(out), where)
    return where


if __name__ == "__main__":
    main()
