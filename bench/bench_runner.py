"""Runner overhead per datum: what `pachflow run` adds around a datum's own work.

A store with N one-file datums (glob /*) and a no-op stage (`true`), parallelism 1:
  - spawn:   N bare subprocess starts of `true` (the OS's share, not the runner's)
  - run:     `pachflow run` of the pipeline (materialize, env, spawn, collect, record)
  - skip:    the same run again after a new commit that changes nothing for old datums
             (N datums skipped + 1 processed)
  - batched: datumBatching with a minimal batch_all_datums loop (one process; per-datum
             NextDatum round trip + materialize + collect)
Overhead per datum = (run - spawn) / N. Target: under 100 ms.

Usage: .venv/bin/python bench/bench_runner.py [--datums 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from pachflow.local.progress import Progress
from pachflow.local.runner import Runner
from pachflow.local.specs import load_specs
from pachflow_store import Store

BATCHED = textwrap.dedent(
    """
    from pachyderm_sdk import batch_all_datums

    @batch_all_datums
    def noop():
        pass

    noop()
    """
)


def spec(name: str, cmd: list[str], batching: bool = False) -> dict:
    transform: dict = {"image": f"bench/{name}:0.1.0", "cmd": cmd}
    if batching:
        transform["datumBatching"] = True
    return {
        "pipeline": {"name": name},
        "transform": transform,
        "input": {"pfs": {"repo": "raw", "glob": "/*"}},
        "parallelismSpec": {"constant": 1},
    }


def timed_run(store: Store, specs_dir: Path) -> float:
    start = time.perf_counter()
    summary = Runner(store, load_specs(specs_dir), progress=Progress(quiet=True)).run()
    elapsed = time.perf_counter() - start
    assert not summary.failed, summary.failed
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datums", type=int, default=200)
    n = parser.parse_args().datums
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = []
        for i in range(n):
            f = root / "in" / f"f{i:04d}.txt"
            f.parent.mkdir(exist_ok=True)
            f.write_text(str(i))
            files.append((f"/{f.name}", f))
        specs_dir = root / "specs"
        specs_dir.mkdir()
        (specs_dir / "noop.json").write_text(json.dumps(spec("noop", ["true"])))
        batch_script = root / "batched.py"
        batch_script.write_text(BATCHED)
        bspecs = root / "bspecs"
        bspecs.mkdir()
        (bspecs / "bnoop.json").write_text(
            json.dumps(spec("bnoop", [sys.executable, str(batch_script)], batching=True))
        )

        start = time.perf_counter()
        for _ in range(n):
            subprocess.run(["true"], check=True)
        spawn = time.perf_counter() - start

        with Store(root / "home") as store:
            store.put_files("raw", files)
            run = timed_run(store, specs_dir)
            # one more datum, not new data: a copy of the first file on purpose
            store.put_files("raw", [("/extra.txt", files[0][1])], allow_duplicate=True)
            skip = timed_run(store, specs_dir)
        with Store(root / "bhome") as store:
            store.put_files("raw", files)
            batched = timed_run(store, bspecs)

    per = (run - spawn) / n * 1000
    print(f"datums: {n} (cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f})")
    print(f"spawn `true` x{n}:      {spawn:6.2f} s  ({spawn / n * 1000:.1f} ms each)")
    print(f"run (process/datum):   {run:6.2f} s  ({run / n * 1000:.1f} ms/datum)")
    print(f"  runner overhead:     {per:.1f} ms/datum (run - spawn)  target < 100 ms")
    print(f"rerun, {n} skipped + 1: {skip:6.2f} s  ({skip / n * 1000:.1f} ms/datum)")
    print(
        f"datum batching:        {batched:6.2f} s  ({batched / n * 1000:.1f} ms/datum, one start)"
    )


if __name__ == "__main__":
    main()
