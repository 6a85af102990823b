"""Benchmark (issue 26): where train's fit goes at full size on its Arrow engine, by the
route its sample takes to Spark, each run a fresh process (a cold JVM, as in a run).

Input: etl's partials of the full-size raw file (bench_train_memory.train_input). Each run
does what `pachflow-train` does around the fit, timed step by step: read and survey
(pyarrow, numpy), draw the fit's sample, [write it as Parquet], start Spark (in-process,
the train spec's master and driver memory, Spark's event log on), hand the sample over,
build its cache, fit the depth-5 tree; then the event log's jobs by what they are.

Routes (alternating, run by run):
- `arrow-0.6.4`: train 0.6.4's fit: createDataFrame of the Arrow table after the session
  started, the label without its declared classes (so MLlib runs a max(label) job);
- `arrow`: createDataFrame, the label's two classes declared (data.LABEL_ATTRIBUTE);
- `files`: the sample drawn and written as Parquet (arrow_data.written) before the
  session is asked for, read back file by file (train's route on a Spark on this machine).

    .venv/bin/python bench/bench_train_fit.py [--runs 2] [--routes arrow-0.6.4 files]

Every route must fit the same tree (exit 1 if not): the layout is the same.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import data
from bench_train_memory import spec_env, train_input
from harness import REPO, machine_line, median, say, table, write_section

TITLE = "train fit (issue 26)"
ROUTES = ("arrow-0.6.4", "arrow", "files")
STEPS = ("draw", "write", "session wait", "hand-over", "cache", "fit")


def job_kind(name: str, description: str | None) -> str:
    """What a Spark job of the fit is, from its description or its last stage's name."""
    if description:
        return description
    if "DecisionTreeMetadata.scala" in name:
        return "tree metadata (count, weights)"
    if "RandomForest.scala:1084" in name or "findSplits" in name:
        return "split candidates (sampled pass)"
    if "RandomForest.scala" in name:
        return "tree levels"
    return "label classes (max(label))"


def jobs(events: Path) -> dict[str, float]:
    """Seconds in the fit's Spark jobs by kind (event log of one application)."""
    starts: dict[int, tuple[float, str]] = {}
    seconds: dict[str, float] = defaultdict(float)
    for log in events.rglob("*"):
        if not log.is_file():
            continue
        for line in log.read_text(errors="replace").splitlines():
            ev = json.loads(line)
            kind = ev.get("Event")
            if kind == "SparkListenerJobStart":
                stages = sorted(ev.get("Stage Infos") or [], key=lambda s: s["Stage ID"])
                name = stages[-1]["Stage Name"] if stages else "?"
                desc = (ev.get("Properties") or {}).get("spark.job.description")
                starts[ev["Job ID"]] = (ev["Submission Time"], job_kind(name, desc))
            elif kind == "SparkListenerJobEnd" and ev["Job ID"] in starts:
                t0, what = starts.pop(ev["Job ID"])
                seconds[what] += (ev["Completion Time"] - t0) / 1000
    return dict(seconds)


def one(route: str, etl: Path, work: Path) -> dict[str, Any]:
    """One run of `route` in this process; its steps' seconds, jobs and tree."""
    from pachflow_spark import SparkSettings
    from pachflow_train import arrow_data, classifier
    from pachflow_train import data as train_data
    from pachflow_train.classifier import ModelSettings
    from pachflow_train.spark_start import SessionStart

    env = spec_env(REPO)
    events = work / "events"
    events.mkdir(parents=True)
    conf = (
        ("spark.eventLog.enabled", "true"),
        ("spark.eventLog.dir", events.as_uri()),
        ("spark.eventLog.compress", "false"),
        ("spark.eventLog.rolling.enabled", "false"),
    )
    spark_settings = SparkSettings(
        env["PACHFLOW_SPARK_MASTER"], env["PACHFLOW_SPARK_DRIVER_MEMORY"], conf=conf
    )
    settings = ModelSettings()
    steps: dict[str, float] = {}
    starting = SessionStart("bench-train-fit", spark_settings)  # boots beside the read
    t0 = time.monotonic()
    customers = arrow_data.load_split(train_data.feature_files(etl), settings.test_fraction, 42)
    counts = arrow_data.survey(customers).counts
    steps["read and survey"] = time.monotonic() - t0

    def draw() -> Any:
        t = time.monotonic()
        drawn = arrow_data.fit_sample(customers, counts, "none", settings.negative_fraction, 42)
        steps["draw"] = time.monotonic() - t
        t = time.monotonic()
        if route == "files":
            drawn = arrow_data.written(drawn, work / "sample")
        steps["write"] = time.monotonic() - t
        return drawn

    before = route != "arrow-0.6.4"  # 0.6.4 drew the sample once the session was up
    sample = draw() if before else None
    t = time.monotonic()
    spark = starting.session()
    ready = time.monotonic()
    steps["session wait"] = ready - t
    sample = sample or draw()
    t = time.monotonic()
    train = arrow_data.training_rows(spark, sample)
    if route == "arrow-0.6.4":  # the label as 0.6.4 gave it: no declared classes
        from pyspark.sql import functions as F

        label = F.col(train_data.LABEL).alias(train_data.LABEL, metadata={})
        rows = train.rows.unpersist().select(train_data.FEATURES_VECTOR, label, train_data.WEIGHT)
        train = train_data.TrainingRows(
            rows.cache(), train.positive_weight, train.negative_share, train.negative_weight
        )
    steps["hand-over"] = time.monotonic() - t
    t = time.monotonic()
    spark.sparkContext.setJobDescription("cache (the sample assembled)")
    train.rows.count()
    spark.sparkContext.setJobDescription(None)
    steps["cache"] = time.monotonic() - t
    t = time.monotonic()
    model = classifier.fit(train.rows, settings)
    steps["fit"] = time.monotonic() - t
    steps["after session"] = time.monotonic() - ready
    tree = classifier.tree_text(model).split("\n", 1)[1]  # without the uid line
    spark.stop()
    return {"steps": steps, "jobs": jobs(events), "tree": tree, "rows": sample.rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each route, alternating")
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=["arrow-0.6.4", "files"])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument("--one", choices=ROUTES, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    etl = train_input(args.rows)
    if args.one:
        print(json.dumps(one(args.one, etl, args.work)))
        return
    results: dict[str, list[dict[str, Any]]] = {r: [] for r in args.routes}
    for i in range(args.runs):
        for route in args.routes:
            work = data.scratch(f"train-fit-{route}")
            load_before = float(Path("/proc/loadavg").read_text().split()[0])
            cmd = [sys.executable, __file__, "--one", route, "--work", str(work)]
            cmd += ["--rows", str(args.rows)]
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            r["load"] = (load_before, float(Path("/proc/loadavg").read_text().split()[0]))
            results[route].append(r)
            say(f"{route} {i + 1}: {r['steps']} jobs {r['jobs']} load {r['load']}")
    trees = {r["tree"] for runs in results.values() for r in runs}
    kinds = sorted({k for runs in results.values() for r in runs for k in r["jobs"]})
    rows = []
    for route, runs in results.items():
        steps = {s: median([r["steps"][s] for r in runs]) for s in ("read and survey", *STEPS)}
        after_session = median([r["steps"]["after session"] for r in runs])
        each = ", ".join(f"{r['steps']['after session']:.1f}" for r in runs)
        rows.append(
            [
                route,
                *(f"{steps[s]:.1f}" for s in ("read and survey", *STEPS)),
                f"{after_session:.1f} ({each})",
                *(f"{median([r['jobs'].get(k, 0.0) for r in runs]):.2f}" for k in kinds),
                ", ".join(f"{a:.1f}->{b:.1f}" for r in runs for a, b in [r["load"]]),
            ]
        )
    header = ["route", "read+survey s", *(f"{s} s" for s in STEPS), "after session s (runs)"]
    header += [f"jobs: {k} s" for k in kinds] + ["load start->end"]
    body = f"""
`/work/shared/tools/heavy .venv/bin/python bench/bench_train_fit.py --runs {args.runs}
--routes {" ".join(args.routes)}` ({machine_line()}). train's steps around the fit on
its Arrow engine, a fresh process per run (cold JVM; the train spec's master and driver
memory; the JVM boots beside the read as in train), on etl's output for `gen-paysim
--rows {args.rows} --seed 42` ({results[args.routes[0]][0]["rows"]:,} sampled rows);
routes alternate. Seconds are medians; "session wait": how long the session was still
booting once the sample was ready (0.6.4: once read and surveyed); "after session": from
the session ready to the fitted tree (0.6.4 drew its sample in it), the critical path
the route changes. Jobs: seconds in the Spark jobs of the cache and the
fit, by kind (Spark's event log).

{table(rows, header, "l" + "r" * (len(header) - 2) + "l")}

Trees: {"the same on every route and run" if len(trees) == 1 else f"{len(trees)} DIFFERENT trees"}.
"""
    write_section(TITLE, body)
    say(body)
    if len(trees) != 1:
        sys.exit(1)


if __name__ == "__main__":
    main()
