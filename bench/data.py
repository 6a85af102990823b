"""Benchmark inputs, generated once and cached: PaySim-like raw CSVs (`pachflow
gen-paysim`, deterministic for rows + seed) under $PACHFLOW_BENCH_DATA (default
bench/.data, git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path

from harness import BENCH_DIR, measure, say, tool

FULL_ROWS = 6_362_620  # the real PaySim1 file
DATA = Path(os.environ.get("PACHFLOW_BENCH_DATA", BENCH_DIR / ".data"))


def raw_csv(rows: int, seed: int = 42, customers: int | None = None, name: str = "") -> Path:
    """A PaySim-like CSV of `rows` rows; written once, reused afterwards.

    `name` sets the file's stem (the stem becomes split's output file name, so two raw
    files in one repo need different stems)."""
    stem = name or f"paysim-{rows}-s{seed}" + (f"-c{customers}" if customers else "")
    path = DATA / "raw" / f"{stem}.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [tool("pachflow"), "gen-paysim", "--rows", str(rows), "--seed", str(seed)]
    if customers:
        cmd += ["--customers", str(customers)]
    say(f"generating {path.name} ({rows:,} rows)")
    measure([*cmd, "--out", str(path)])
    return path


def scratch(name: str) -> Path:
    """A fresh (emptied) working directory for one measurement."""
    import shutil

    path = DATA / "work" / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
