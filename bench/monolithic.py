"""Monolithic reference (issue 8 item 5): one Spark session, no pipeline.

Reads the raw PaySim CSV, computes the per-customer features with etl's own definitions
(`etl_features.customer_features`, imported from the etl package: nothing re-implemented
here), then fits and evaluates train's model (train's `fit` and `evaluate`: depth-5
decision tree, seeded 80/20 split, the same negative sampling and metrics). No MLflow, no
Parquet in between.

    .venv/bin/python bench/monolithic.py job RAW.csv        # one run, prints phase times
    .venv/bin/python bench/monolithic.py bench [--rows N] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


def spark_schema():  # the TRANSACTIONS contract as a Spark schema, to read the CSV typed
    import pyarrow as pa
    from pyspark.sql import types as T

    from pachflow_contracts import TRANSACTIONS

    kinds = {
        pa.int8(): T.ByteType(),
        pa.int32(): T.IntegerType(),
        pa.int64(): T.LongType(),
        pa.float64(): T.DoubleType(),
        pa.string(): T.StringType(),
    }
    return T.StructType([T.StructField(f.name, kinds[f.type], False) for f in TRANSACTIONS.schema])


PHASES = ("session", "read_and_features", "fit", "evaluate")


def job(csv: Path, master: str, driver_memory: str) -> dict[str, Any]:
    """The whole monolithic job; returns the seconds of each phase and the metrics."""
    from etl_features import customer_features

    from pachflow_spark import SparkSettings, build_session
    from pachflow_train.classifier import ModelSettings, evaluate, fit
    from pachflow_train.data import prepare, survey, training_rows

    times: dict[str, Any] = {}
    t = time.perf_counter()
    spark = build_session("monolithic", SparkSettings(master, driver_memory, None))
    times["session"] = time.perf_counter() - t

    t = time.perf_counter()
    settings = ModelSettings()
    raw = spark.read.csv(str(csv), header=True, schema=spark_schema())
    features = customer_features(raw)
    prepared = (
        prepare(features, settings.test_fraction, settings.seed)
        .repartition(spark.sparkContext.defaultParallelism)
        .cache()
    )
    counts = survey(prepared, ranges=False).counts  # the first action: read, featurise
    times["read_and_features"] = time.perf_counter() - t

    t = time.perf_counter()
    train = training_rows(
        prepared, counts, settings.class_weight, settings.negative_fraction, settings.seed
    )
    model = fit(train.rows, settings)
    times["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    parts = evaluate(model, prepared, heldout=False).parts
    times["evaluate"] = time.perf_counter() - t
    times["customers"] = counts.rows
    times["test_areaUnderPR"] = parts["test"].area_under_pr
    times["metrics"] = parts["test"].metrics("test") | parts["train"].metrics("train")
    spark.stop()
    return times


def bench(rows: int, runs: int, master: str, driver_memory: str) -> None:
    import data
    from harness import (
        loads,
        machine_line,
        measure,
        median_of,
        save_result,
        say,
        table,
        write_section,
    )

    raw = data.raw_csv(rows, seed=42)
    work = data.scratch(f"monolithic-{rows}")
    results = []
    for i in range(runs):
        out = work / f"phases-{i}.json"
        cmd = [
            sys.executable,
            __file__,
            "job",
            str(raw),
            "--json",
            str(out),
            "--master",
            master,
            "--driver-memory",
            driver_memory,
        ]
        m = measure(cmd, log=work / f"run-{i}.log")
        phases = json.loads(out.read_text())
        say(f"monolithic run {i}: {m.wall_s:.1f} s {phases}")
        results.append((m, phases))
    ms = [m for m, _ in results]
    med = median_of(ms)
    phases = results[ms.index(med)][1]
    save_result(
        f"monolithic_{rows}",
        {
            "median_wall_s": med.wall_s,
            "walls": [m.wall_s for m in ms],
            "peak_rss": med.peak_rss,
            "phases": phases,
            "loads": loads(ms),
        },
    )
    phase_rows = [[k, f"{phases[k]:.1f}"] for k in PHASES]
    startup = med.wall_s - sum(phases[k] for k in PHASES)
    top = table(
        [
            [
                f"**wall, whole process (median of {runs})**",
                f"**{med.wall_s:.1f} s**",
                ", ".join(f"{m.wall_s:.1f}" for m in ms),
            ],
            ["peak RSS (Python + JVM)", f"{med.peak_rss_mb:.0f} MB", ""],
            ["CPU time", f"{med.cpu_s:.0f} s", ""],
            ["Python start and imports before the session", f"{startup:.1f} s", ""],
        ],
        ["what", "value", "runs (s)"],
        "lrl",
    )
    write_section(
        "monolithic reference",
        f"""
`.venv/bin/python bench/monolithic.py bench --rows {rows} --runs {runs}` ({machine_line()};
1-minute load average at the start -> highest during each run: {loads(ms)}).

One process, one Spark session (`{master}`, driver memory {driver_memory}): read the raw CSV
(`gen-paysim --rows {rows} --seed 42`), etl's per-customer features (imported from the etl
package), train's depth-5 tree on a seeded 80/20 split and its evaluation. No pipeline,
no Parquet in between, no MLflow.

{top}

Phases of the median run (s):

| phase | s |
|---|---:|
{chr(10).join(f"| {a} | {b} |" for a, b in phase_rows)}

{phases["customers"]:,.0f} customers; test areaUnderPR {phases["test_areaUnderPR"]:.4f}.
Reference figure from the issue (same machine kind, warm cache): 80-95 s, 22 s of it
reading and featurising the CSV. Ours / monolithic: see "end to end, cold".
""",
    )


def main() -> None:
    sys.path.insert(0, str(BENCH))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("job")
    j.add_argument("csv", type=Path)
    j.add_argument("--json", type=Path)
    b = sub.add_parser("bench")
    b.add_argument("--rows", type=int, default=6_362_620)
    b.add_argument("--runs", type=int, default=3)
    for p in (j, b):
        p.add_argument("--master", default="local[2]")
        p.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    if args.cmd == "job":
        phases = job(args.csv, args.master, args.driver_memory)
        text = json.dumps(phases)
        if args.json:
            args.json.write_text(text)
        print(text)
    else:
        bench(args.rows, args.runs, args.master, args.driver_memory)


if __name__ == "__main__":
    main()
