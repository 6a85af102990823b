"""`pachflow reproduce` against the original run (issue 16: reproduced in < 1.2x the
original run's time).

A fresh PACHFLOW_HOME (MLflow: SQLite under it, the runner's default), `pachflow put
raw_data <raw CSV>`, a cold `pachflow run` of the committed specs to a registered model,
then `pachflow reproduce MODEL/VERSION --json` of that model version (a new store of its
own: copies of the root commits, the same stage versions, the compare). Both wall clocks
come from the commands as a user runs them; the ratio is reproduce / run.

Usage: .venv/bin/python bench/bench_reproduce.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import os

import data
from harness import as_dict, machine_line, measure, save_result, say, table, tool, write_section
from local_chain import Chain

TARGET_RATIO = 1.2


def _verdict(log: str) -> dict:
    """The --json verdict from the command's log (its progress lines come first)."""
    start = 0 if log.startswith("{") else log.index("\n{") + 1
    return json.JSONDecoder().raw_decode(log[start:])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    raw = [data.raw_csv(args.rows, seed=42)]
    work = data.scratch(f"reproduce-{args.rows}")
    chain = Chain(work / "home", logs=work / "logs").fresh()
    chain.put("raw_data", raw)
    load_before = os.getloadavg()
    say(f"{args.rows} rows: running the chain (pachflow run)")
    run = chain.run(label="run")
    manifest = json.loads(chain.read("train@master:/run.json", work / "run.json").read_text())
    model = manifest["registered_model"]
    subject = f"{model['name']}/{model['version']}"
    say(f"run {run.wall_s:.1f} s; pachflow reproduce {subject}")
    out = work / "logs" / "reproduce.json"
    cmd = [tool("pachflow"), "reproduce", subject, "--json"]
    rep = measure(cmd, env=chain.env(), log=out, check=False)
    verdict = _verdict(out.read_text())
    ratio = rep.wall_s / run.wall_s
    say(f"reproduce {rep.wall_s:.1f} s ({ratio:.2f}x), verdict {verdict['verdict']}")
    result = {
        "rows": args.rows,
        "run": as_dict(run),
        "reproduce": as_dict(rep),
        "exit": rep.returncode,
        "verdict": verdict["verdict"],
        "ratio": ratio,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    save_result(f"reproduce_{args.rows}", result)
    fmt = "{:.1f} / {:.1f} / {:.1f}"
    rows = [
        [
            f"{args.rows:,}",
            f"{run.wall_s:.1f}",
            f"{rep.wall_s:.1f}",
            f"**{ratio:.2f}x**",
            "yes" if ratio < TARGET_RATIO else "no",
            f"{verdict['verdict']} (exit {rep.returncode})",
            fmt.format(*load_before) + " -> " + fmt.format(*result["load_after"]),
        ]
    ]
    header = ["rows", "run s", "reproduce s", "ratio", f"< {TARGET_RATIO}x", "verdict", "load"]
    body = (
        f"`.venv/bin/python bench/bench_reproduce.py --rows {args.rows}` under `flock "
        f"/work/bench.lock` ({machine_line()}). One cold `pachflow run` (split -> etl -> "
        f"train -> provenance, MLflow SQLite under PACHFLOW_HOME), then `pachflow reproduce "
        f"{subject}` as a user runs it (plan, new store, chain, compare, verdict).\n\n"
        + table(rows, header, "rrrrlll")
    )
    write_section("reproduce", body)


if __name__ == "__main__":
    main()
