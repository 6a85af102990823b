"""Benchmark: `pachflow-train` on full-size features (6.35M customers).

Target (issue 4): train + evaluate + log under 70 s on this machine, model logging < 3 s.
Each repetition runs the real CLI as a fresh process (JVM start included) against a real
MLflow server on loopback (SQLite, proxied artifacts), with a Pachyderm-like env so every
repetition is its own job; phase times come from the stage's progress lines, and the CPU
seconds of the stage's process tree (python + JVM) are sampled with psutil (comparable
under load, unlike wall).

    .venv/bin/python bench/bench_train.py [--features DIR] [--reps 3] [-- extra train options]

Without --features, synthetic FEATURES-contract Parquet (pachflow_testing.features, PaySim's
customer count and a 0.13% fraud rate) is generated once under --work.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from pachflow_testing.features import write_features
from pachflow_testing.mlflow_server import run_mlflow_server

FULL_CUSTOMERS = 6_353_307  # distinct nameOrig in the real PaySim file
FRAUD_RATE = 0.0013
PHASES = {
    "start+read+count": re.compile(r"\[train \+([\d.]+)s\] \d+ customers"),
    "fit": re.compile(r"fitted \S+ in ([\d.]+)s"),
    "evaluate": re.compile(r"evaluated in ([\d.]+)s"),
    "log": re.compile(r"logged in ([\d.]+)s"),
    "log_model": re.compile(r"\(model ([\d.]+)s\)"),
}


def ensure_features(work: Path, rows: int) -> Path:
    out = work / f"features-{rows}"
    if not any(out.rglob("*.parquet")):
        t0 = time.monotonic()
        write_features(out, rows, fraud_rate=FRAUD_RATE, n_files=4)
        print(f"generated {rows} customers in {time.monotonic() - t0:.1f}s -> {out}")
    return out


def run_once(features: Path, uri: str, out: Path, extra: list[str], log: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "PACH_JOB_ID": uuid.uuid4().hex,
        "PACH_DATUM_ID": "bench",
        "PPS_PIPELINE_NAME": "train",
        "etl": "/pfs/etl",
        "etl_COMMIT": uuid.uuid4().hex,
    }
    exe = Path(sys.executable).with_name("pachflow-train")
    cmd = [str(exe), "--experiment", "bench-train", *extra, str(features), str(out)]
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        cpu = _tree_cpu_until_exit(proc)
        wall = time.monotonic() - t0
        err.seek(0)
        stderr = err.read()
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(stderr)  # the stage's progress lines, for the phases not parsed here
    if proc.returncode != 0:
        sys.exit(f"train failed ({proc.returncode}):\n{stderr[-3000:]}")
    result = {"wall": wall, "cpu": cpu}
    for name, pattern in PHASES.items():
        match = pattern.search(stderr)
        result[name] = float(match.group(1)) if match else float("nan")
    return result


def _tree_cpu_until_exit(proc: subprocess.Popen[str]) -> float:
    """CPU seconds (user+system) of the stage process and its children (the Spark JVM),
    sampled until it exits: what the run costs regardless of other load on the machine."""
    root = psutil.Process(proc.pid)
    seen: dict[int, float] = {}
    while proc.poll() is None:
        try:
            for p in [root, *root.children(recursive=True)]:
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
        time.sleep(0.2)
    return sum(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, help="features dir (default: generate)")
    parser.add_argument("--rows", type=int, default=FULL_CUSTOMERS)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pachflow-bench")
    parser.add_argument("extra", nargs="*", help="options passed to pachflow-train")
    args = parser.parse_args()
    features = args.features or ensure_features(args.work, args.rows)
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_mlflow_server(Path(tmp) / "mlflow") as server,
    ):
        runs = []
        for i in range(args.reps):
            log = args.work / f"train-rep{i + 1}.log"
            r = run_once(features, server.uri, Path(tmp) / f"out{i}", args.extra, log)
            runs.append(r)
            print(f"rep {i + 1}: " + ", ".join(f"{k} {v:.1f}s" for k, v in r.items()), flush=True)
    print(f"load average now: {os.getloadavg()[0]:.1f}")
    print("| phase | median s | runs |\n|---|---:|---|")
    for key in ["wall", "cpu", *PHASES]:
        values = [r[key] for r in runs]
        print(
            f"| {key} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |"
        )


if __name__ == "__main__":
    main()
