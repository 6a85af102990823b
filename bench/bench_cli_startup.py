"""How long every console script takes to start: `<script> --help` wall time (a fresh
process: interpreter + imports + click), and which heavy libraries it imported, for this
tree and, with `--before DIR`, for another checkout of the repo (its packages' sources put
first on PYTHONPATH, run by this venv's scripts), alternating the two (issue 26, item 4).

    .venv/bin/python bench/bench_cli_startup.py [--repeat 5] [--before /tmp/old-checkout]

Results: bench/RESULTS.md, section "## CLI start-up".
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from harness import REPO, machine_line, median, save_result, say, table, tool, write_section

HEAVY = ("mlflow", "pachyderm_sdk", "grpc", "pyspark", "pandas", "pyarrow", "numpy")
# The imports a script's `--help` made, from inside the same kind of fresh process.
PROBE = """
import sys
from {module} import {function}
try:
    {function}(["--help"], prog_name="{script}")
except SystemExit:
    pass
print("\\nHEAVY: " + " ".join(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))))
"""


def scripts() -> dict[str, str]:
    found: dict[str, str] = {}
    for pyproject in sorted(REPO.glob("*/*/pyproject.toml")):
        found.update(tomllib.loads(pyproject.read_text()).get("project", {}).get("scripts", {}))
    return found


def source_path(root: Path) -> str:
    """PYTHONPATH that makes this venv import the packages of checkout `root`."""
    return os.pathsep.join(str(p) for p in sorted(root.glob("*/*/src")))


def wall(script: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([tool(script), "--help"], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def heavy_imports(script: str, target: str, env: dict[str, str]) -> str:
    module, _, function = target.partition(":")
    code = PROBE.format(module=module, function=function, script=script, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    found = [ln for ln in out.stdout.splitlines() if ln.startswith("HEAVY:")]
    return found[-1].removeprefix("HEAVY:").strip() if found else "?"


# What `pachflow-provenance link` imports when it runs, per backend (after the CLI start).
RUN_IMPORTS = {
    "link: resolve with the local store (Tracking reads through sqlite/REST)": (
        "import pachflow_provenance.link; from pachflow_lineage.tracking import Tracking; "
        "from pachflow_lineage.backends.local import LocalBackend"
    ),
    "link: + MlflowClient, for writes to a SQLite or other non-http store": (
        "import pachflow_provenance.link; from mlflow.tracking import MlflowClient"
    ),
    "link: + the Pachyderm backend (pachyderm_sdk, grpc)": (
        "import pachflow_provenance.link; from pachflow_lineage.backends.pachyderm import "
        "PachydermBackend"
    ),
}


def run_imports(repeat: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for label, code in RUN_IMPORTS.items():
        walls = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            walls.append(time.perf_counter() - t0)
        rows.append([label, f"**{median(walls):.2f}** ({', '.join(f'{w:.2f}' for w in walls)})"])
        say(f"{label}: {median(walls):.2f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change")
    args = parser.parse_args()
    trees = {"after": dict(os.environ)}
    if args.before:
        trees = {"before": {**os.environ, "PYTHONPATH": source_path(args.before)}, **trees}
    load_before = os.getloadavg()
    results: dict[str, dict[str, object]] = {}
    for script, target in scripts().items():
        runs: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.repeat):  # alternate, so drift in the load hits both alike
            for name, env in trees.items():
                runs[name].append(wall(script, env))
        heavy = {name: heavy_imports(script, target, env) for name, env in trees.items()}
        results[script] = {"walls": runs, "heavy": heavy}
        say(f"{script}: " + ", ".join(f"{n} {median(r):.2f} s" for n, r in runs.items()))
    later = run_imports(args.repeat)
    load_after = os.getloadavg()
    save_result(
        "cli_startup", {"results": results, "run_imports": later, "load": [load_before, load_after]}
    )
    header = ["command"]
    for name in trees:
        header += [f"{name}: median s (runs)", f"{name}: heavy modules imported"]
    rows = []
    for script, r in results.items():
        row: list[object] = [f"`{script} --help`"]
        for name in trees:
            w = r["walls"][name]  # type: ignore[index]
            row += [
                f"**{median(w):.2f}** ({', '.join(f'{x:.2f}' for x in w)})",
                r["heavy"][name] or "none",  # type: ignore[index]
            ]
        rows.append(row)
    body = (
        "`.venv/bin/python bench/bench_cli_startup.py --repeat "
        f"{args.repeat}{' --before <checkout>' if args.before else ''}` (issue 26, item 4): "
        "each console script's `--help` as a fresh process (interpreter, imports, click), "
        f"{args.repeat} runs each, before and after alternating; the heavy libraries its "
        "start imported (of " + ", ".join(HEAVY) + "). tests/architecture/"
        "test_cli_startup_imports.py holds every script to none of mlflow, pachyderm_sdk, "
        "grpc, pyspark, pandas.\n\n"
        + table(rows, header)
        + "\n\nWhat `pachflow-provenance link` imports once it runs (this tree; a fresh "
        "interpreter each, wall s): the lineage it resolves costs almost nothing; MLflow's "
        "client costs seconds (mlflow pulls pandas and pyspark in), so the link writes "
        "through the server's REST API when the tracking URI is http(s) (a cluster's "
        "MLflow: mlflow is never imported, tested) and imports MlflowClient only for a "
        "SQLite store (`pachflow run`'s default) or another store.\n\n"
        + table(later, ["imports", "median s (runs)"])
        + f"\n\nLoad average (1/5/15 min) before: {load_before[0]:.1f} / {load_before[1]:.1f} / "
        f"{load_before[2]:.1f}; after: {load_after[0]:.1f} / {load_after[1]:.1f} / "
        f"{load_after[2]:.1f} (other helpers' jobs running). {machine_line()}\n"
    )
    write_section("CLI start-up", body)
    print(body)


if __name__ == "__main__":
    main()
