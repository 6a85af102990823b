"""Many writers on the production-like MLflow server: runs/s logged and registered at
1, 4 and 8 concurrent writers, and the latency of one full train-log-register cycle.

Server: pachflow_testing.mlflow_production (PostgreSQL 15, basic auth, artifacts proxied
to s3rver), with MLflow's default 4 uvicorn workers. Each writer is its own process with
its own Spark driver (local[1], started before the clock, like a warm worker) and
repeats train's cycle through train's own code (pachflow_train.mlflow_run.Tracker): look
up the experiment and an earlier run of the job + datum, start the run (tags, params),
log the dataset input, fit and evaluate a small decision tree (1,000 customers, depth 3),
log ~40 metrics and 4 artifacts, log the Spark model, register a version of one shared
registered model and move the `candidate` alias, end the run. Every writer of a level
registers into the same model; at the end the registry is checked (versions 1..N, one
per run, alias on the newest).

Usage: flock /work/bench.lock .venv/bin/python bench/bench_mlflow_writers.py
       [--writers 1,4,8] [--cycles 12]   (cycles per level, split among its writers)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import harness  # bench/ is on sys.path when run as a script

ROWS = 1000
SECTION = "mlflow writers"


def _ctx(job: str) -> Any:
    from pachflow_contracts.worker_context import PachydermContext

    env = {
        "PACH_JOB_ID": job,
        "PACH_OUTPUT_COMMIT_ID": job,
        "PACH_DATUM_ID": "datum-0",
        "PPS_PIPELINE_NAME": "train",
        "PPS_SPEC_COMMIT": "5" * 32,
        "etl": "/pfs/etl",
        "etl_COMMIT": uuid.uuid4().hex,
    }
    return PachydermContext.from_env(env, default_pipeline="train")


def _cycle(spark: Any, files: list[Path], arts: Path, uri: str, exp: str, model: str) -> dict:
    """One train-log-register cycle; returns its timings in s."""
    from mlflow.models import infer_signature

    from pachflow_train import classifier, data
    from pachflow_train.mlflow_run import Tracker
    from pachflow_train.run import features_mlflow_schema

    settings = classifier.ModelSettings(max_depth=3, negative_fraction=1.0)
    t0 = time.perf_counter()
    tracker = Tracker(uri, exp, _ctx(uuid.uuid4().hex))
    tracker.start(tracker.previous_run(), settings.params())
    tracker.log_inputs(schema=features_mlflow_schema())
    t_fit = time.perf_counter()
    df = data.load_split(spark, files, settings.test_fraction, settings.seed, None)
    counts = data.survey(df, ranges=False).counts
    train = data.training_rows(df, counts, "none", 1.0, settings.seed)
    fitted = classifier.fit(train.rows, settings)
    parts = classifier.evaluate(fitted, df, heldout=False).parts
    fit_s = time.perf_counter() - t_fit
    tracker.log_metrics(parts["test"].metrics("test") | parts["train"].metrics("train"))
    tracker.log_artifacts(arts)
    example = data.example_rows(files)[list(classifier.MODEL_INPUTS)]
    sample = fitted.transform(spark.createDataFrame(example)).select("prediction").toPandas()
    tracker.log_model(fitted, example, infer_signature(example, sample["prediction"]))
    registered, _ = tracker.register(model)
    tracker.point_alias_at_newest(model, registered.alias)
    tracker.end("FINISHED")
    df.unpersist()
    total = time.perf_counter() - t0
    return {"total_s": total, "fit_s": fit_s, "mlflow_s": total - fit_s}


def _writer(
    wid: int, cycles: int, uri: str, exp: str, model: str, creds: dict, start: Any, out: Any
) -> None:
    os.environ.update(creds)
    os.environ.update(
        {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    )
    from pachflow_spark import SparkSettings, build_session
    from pachflow_testing.features import write_features

    work = Path(tempfile.mkdtemp(prefix=f"bench-writer{wid}-"))
    files = write_features(work / "etl", ROWS, seed=wid, fraud_rate=0.05)
    arts = work / "arts"
    arts.mkdir()
    for name, size in (("tree.txt", 2_000), ("metrics.json", 4_000), ("a.png", 20_000)):
        (arts / name).write_bytes(os.urandom(size))
    (arts / "b.png").write_bytes(os.urandom(20_000))
    spark = build_session(f"bench-writer{wid}", SparkSettings("local[1]", "768m", 1))
    spark.range(10).count()  # warm: the clock starts once every writer is ready
    start.wait()
    for _ in range(cycles):
        try:
            out.put((wid, _cycle(spark, files, arts, uri, exp, model), ""))
        except Exception as exc:  # counted and reported, never hidden
            out.put((wid, {}, f"{type(exc).__name__}: {str(exc)[:200]}"))
    spark.stop()


def _pct(values: list[float], p: int) -> float:
    """The p-th percentile (inclusive method: with few samples p95 is near the maximum)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _level(server: Any, writers: int, cycles: int) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    exp, model = f"bench-{writers}w-{uuid.uuid4().hex[:6]}", f"bench-model-{writers}w"
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(writers + 1), ctx.Queue()
    per = [cycles // writers + (1 if i < cycles % writers else 0) for i in range(writers)]
    creds = server.credentials.env()
    procs = [
        ctx.Process(target=_writer, args=(i, n, server.uri, exp, model, creds, start, out))
        for i, n in enumerate(per)
    ]
    for p in procs:
        p.start()
    harness.say(f"{writers} writer(s): starting their Spark drivers")
    start.wait()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    results = [out.get() for _ in range(sum(per))]
    wall = time.perf_counter() - t0
    load_end = os.getloadavg()[0]
    for p in procs:
        p.join()
    ok = [r for _, r, err in results if not err]
    errors = [err for _, _, err in results if err]
    os.environ.update(creds)
    client = MlflowClient(server.uri)
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{model}'"))
    alias = client.get_model_version_by_alias(model, "candidate").version if versions else None
    registry_ok = versions == list(range(1, len(ok) + 1)) and alias == str(len(ok))
    row = {
        "writers": writers,
        "cycles": len(ok),
        "errors": errors,
        "wall_s": wall,
        "runs_per_s": len(ok) / wall,
        "p50_s": _pct([r["total_s"] for r in ok], 50),
        "p95_s": _pct([r["total_s"] for r in ok], 95),
        "mlflow_p50_s": _pct([r["mlflow_s"] for r in ok], 50),
        "mlflow_p95_s": _pct([r["mlflow_s"] for r in ok], 95),
        "fit_p50_s": _pct([r["fit_s"] for r in ok], 50),
        "registry_ok": registry_ok,
        "load": (load, load_end),
    }
    harness.say(
        f"{writers} writer(s): {len(ok)} cycles in {wall:.1f}s = {row['runs_per_s']:.3f} runs/s, "
        f"p50 {row['p50_s']:.1f}s p95 {row['p95_s']:.1f}s, errors {len(errors)}, "
        f"registry {'ok' if registry_ok else 'WRONG'} (load {load:.1f} -> {load_end:.1f})"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", default="1,4,8")
    parser.add_argument("--cycles", type=int, default=12, help="cycles per level")
    parser.add_argument(
        "--auth-cache", type=int, default=0, help="auth_cache_ttl_seconds (0: check every request)"
    )
    args = parser.parse_args()
    from pachflow_testing.mlflow_production import run_production_mlflow

    levels = [int(w) for w in args.writers.split(",")]
    root = Path(tempfile.mkdtemp(prefix="bench-mlflow-"))
    harness.say("starting PostgreSQL, s3rver and MLflow (basic auth, 4 workers)")
    with run_production_mlflow(
        root / "server", workers=4, require_s3=True, auth_cache_ttl_s=args.auth_cache
    ) as server:
        rows = [_level(server, w, max(args.cycles, w)) for w in levels]
    harness.save_result("mlflow_writers", rows)
    table = harness.table(
        [
            [
                r["writers"],
                r["cycles"],
                len(r["errors"]),
                f"{r['wall_s']:.1f}",
                f"**{r['runs_per_s']:.3f}**",
                f"{r['p50_s']:.1f} / {r['p95_s']:.1f}",
                f"{r['mlflow_p50_s']:.1f} / {r['mlflow_p95_s']:.1f}",
                f"{r['fit_p50_s']:.1f}",
                "yes" if r["registry_ok"] else "NO",
                f"{r['load'][0]:.1f} -> {r['load'][1]:.1f}",
            ]
            for r in rows
        ],
        [
            "writers",
            "runs",
            "errors",
            "wall s",
            "runs/s",
            "cycle p50 / p95 s",
            "MLflow part p50 / p95 s",
            "fit+eval p50 s",
            "registry 1..N, alias on newest",
            "load avg (start -> end)",
        ],
        "rrrrrrrrlr",
    )
    body = (
        f"`{' '.join(['.venv/bin/python bench/bench_mlflow_writers.py', *sys.argv[1:]])}` "
        f"under `flock /work/bench.lock` ({time.strftime('%Y-%m-%d')}; {harness.machine_line()}). "
        "Server: PostgreSQL 15 + MLflow 3.17.2 basic-auth app "
        f"(auth_cache_ttl_seconds {args.auth_cache}), 4 uvicorn workers, "
        "artifacts proxied to s3rver, all on this machine. One writer = one process with its "
        "own Spark driver (local[1]) doing train's whole cycle through `Tracker` (run, tags, "
        "params, dataset input, fit + evaluate a depth-3 tree on 1,000 customers, ~40 "
        "metrics, 4 artifacts, Spark model, model version + `candidate` alias) into one "
        "shared registered model.\n\n" + table + "\n"
    )
    harness.write_section(SECTION, body)
    harness.say(f"wrote section '{SECTION}' of {harness.results_md()}")


if __name__ == "__main__":
    main()
