"""Scoring throughput (issue 30): transactions scored per second by `pachflow score`, cold
(a fresh process: imports, JVM start, model download and load, then the file) and with
the model already loaded (the Scorer of pachflow_scoring, warmed on a small file, then the
big one in the same process: what a long-lived scorer pays per file). Also the lineage
question from a predictions commit back to the raw file commits (`pachflow lineage commit
score@<id> --json`, target < 1 s).

Setup: a fresh PACHFLOW_HOME, a training file through split -> etl -> train (the committed
specs) to a registered model, then the scoring file (another seed: unseen customers).
The full size is the real file's 6,362,620 rows; the lead runs it on a quiet machine:
    /work/shared/tools/heavy .venv/bin/python bench/bench_score.py
Smaller: --rows 200000 --train-rows 200000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import data
from harness import as_dict, machine_line, measure, save_result, say, table, tool, write_section
from local_chain import Chain, write_specs

MODEL = "pachflow-fraud-detector@candidate"
LINEAGE_ROWS = 10_000  # the file the score pipeline scores for the lineage question


def _loaded_rate(home, path, rows: int) -> tuple[float, float]:
    """(seconds, transactions/s) of one file with the model already loaded in-process."""
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{home / 'mlflow.db'}"
    from pachflow_scoring import Scorer, resolve_model

    scorer = Scorer(resolve_model(MODEL))
    scorer.score(data.raw_csv(2_000, seed=44))  # warm-up: Spark up, model loaded
    t0 = time.monotonic()
    scored = scorer.score(path)
    seconds = time.monotonic() - t0
    assert scored.rows_read == rows, (scored.rows_read, rows)
    return seconds, rows / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS, help="rows to score")
    parser.add_argument("--train-rows", type=int, default=1_000_000)
    parser.add_argument("--lineage-repeats", type=int, default=5)
    args = parser.parse_args()
    work = data.scratch(f"score-{args.rows}")
    specs = write_specs(work / "specs", ["split", "etl", "train", "score"])
    chain = Chain(work / "home", specs=specs, logs=work / "logs").fresh()
    chain.put("raw_data", [data.raw_csv(args.train_rows, seed=42)])
    say(f"training on {args.train_rows:,} rows (split -> etl -> train)")
    chain.run(label="train")
    target = data.raw_csv(args.rows, seed=43)

    load_before = os.getloadavg()
    say(f"cold: pachflow score {target.name} ({args.rows:,} rows)")
    cold = measure(
        [
            tool("pachflow"),
            "score",
            "--model",
            MODEL,
            str(target),
            "--out",
            str(work / "scores.parquet"),
        ],
        env=chain.env(),
        log=work / "logs" / "cold.log",
    )
    say(f"cold {cold.wall_s:.1f} s; model loaded: same file in-process")
    loaded_s, loaded_rate = _loaded_rate(chain.home, target, args.rows)

    say("lineage: score pipeline on a small file, then lineage commit score@<id>")
    chain.put("transactions", [data.raw_csv(LINEAGE_ROWS, seed=45)])
    chain.run(label="score-pipeline")
    score_commit = chain.pachflow_json("inspect", "commit", "score@master")["commit"].split("@")[1]
    lineage_walls = []
    for i in range(args.lineage_repeats):
        m = measure(
            [tool("pachflow"), "lineage", "commit", f"score@{score_commit}", "--json"],
            env=chain.env(),
            log=work / "logs" / f"lineage-{i}.log",
        )
        lineage_walls.append(m.wall_s)
    lineage_s = statistics.median(lineage_walls)

    result = {
        "rows": args.rows,
        "train_rows": args.train_rows,
        "cold": as_dict(cold) | {"transactions_per_s": args.rows / cold.wall_s},
        "loaded": {"seconds": loaded_s, "transactions_per_s": loaded_rate},
        "lineage_commit_s": lineage_walls,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    save_result("score", result)
    rows = [
        [
            "cold (`pachflow score FILE`, new process)",
            f"{cold.wall_s:.1f}",
            f"{args.rows / cold.wall_s:,.0f}",
            f"{cold.peak_rss_mb:,.0f}",
        ],
        ["model loaded (Scorer, same process)", f"{loaded_s:.1f}", f"{loaded_rate:,.0f}", "-"],
    ]
    body = (
        f"`bench/bench_score.py --rows {args.rows} --train-rows {args.train_rows}`: scoring "
        f"{args.rows:,} PaySim rows (unseen customers) with the model trained on "
        f"{args.train_rows:,}. {machine_line()}; load before {load_before[0]:.1f}.\n\n"
        + table(rows, ["how", "seconds", "transactions/s", "peak RSS MB"], "lrrr")
        + f"\n\n`pachflow lineage commit score@<id> --json` (predictions back to the raw "
        f"file commits): median {lineage_s:.2f} s of {len(lineage_walls)} "
        f"({', '.join(f'{w:.2f}' for w in lineage_walls)}; target < 1 s).\n"
    )
    write_section("score", body)
    say(
        f"cold {args.rows / cold.wall_s:,.0f} tx/s, loaded {loaded_rate:,.0f} tx/s, "
        f"lineage {lineage_s:.2f} s"
    )


if __name__ == "__main__":
    main()
