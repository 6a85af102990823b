"""Where the time of a cold `pachflow run` goes: py-spy for the Python side (the runner
and every stage process), Spark's own event log for the JVM side.

One cold run (fresh PACHFLOW_HOME) under `py-spy record --subprocesses --idle` (idle:
a Python thread waiting for the JVM counts, so a Spark action shows up as the Python call
that waits for it), with Spark's event log switched on through PACHFLOW_SPARK_CONF. The
profile slows the run a little: its timings are for proportions, not for the record.

    .venv/bin/python bench/profile_run.py [--rows N] [--rate 20]

Writes bench/.data/work/profile/{pyspy.txt,events/} and the RESULTS.md section "profile".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import data  # noqa: E402
from harness import machine_line, measure, say, table, tool, write_section  # noqa: E402
from local_chain import Chain, stage_of  # noqa: E402

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
MB = 1 << 20
FIRST_PARTY = re.compile(r"pachflow(_[a-z]+)?/")


def parse_pyspy(path: Path) -> dict[str, list[tuple[list[str], int]]]:
    """{stage: [(frames, samples)]} from py-spy's raw (collapsed) output."""
    stacks: dict[str, list[tuple[list[str], int]]] = defaultdict(list)
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("process ") or " " not in line:
            continue
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        parts = stack.split(";")
        # a child's stacks are nested under its parents: `process A;process B;frames`
        last = max(i for i, p in enumerate(parts) if p.startswith("process "))
        proc, frames = parts[last], parts[last + 1 :]
        if not frames or not frames[0].startswith("<module>"):
            continue  # only main threads: idle helper threads would count many times over
        cmd = proc.split(":", 1)[1].strip('"') if ":" in proc else proc
        stage = stage_of(cmd.split()) or "other"
        stacks[stage].append((frames, int(count)))
    return stacks


def _file(frame: str) -> str:
    m = FRAME.match(frame)
    return m.group("file") if m else ""


def _short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    f = m.group("file")
    f = f.split("site-packages/")[-1].split("/src/")[-1]
    return f"{m.group('func')} ({f})"


def summarize(stacks: list[tuple[list[str], int]], top: int) -> tuple[int, list, list]:
    """(total samples, first-party functions by inclusive samples, library calls made
    directly by first-party code by inclusive samples; imports as one bucket)."""
    total = sum(c for _, c in stacks)
    own: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for frames, count in stacks:
        seen_own: set[str] = set()
        seen_call: set[str] = set()
        importing = any(f.startswith("_find_and_load ") for f in frames)
        for i, frame in enumerate(frames):
            if FIRST_PARTY.search(_file(frame)):
                seen_own.add(_short(frame))
                nxt = frames[i + 1] if i + 1 < len(frames) else None
                if nxt is not None and not FIRST_PARTY.search(_file(nxt)):
                    seen_call.add("imports" if importing else _short(nxt))
        if not seen_own:
            seen_call.add("imports" if importing else "(outside first-party code)")
        own.update(dict.fromkeys(seen_own, count))
        calls.update(dict.fromkeys(seen_call, count))
    return total, own.most_common(top), calls.most_common(top)


def _site(ev: dict) -> str:
    props = ev.get("Properties") or {}
    site = props.get("callSite.short") or props.get("spark.job.description")
    if not site:  # jobs started by Spark ML or a writer: name of the job's result stage
        stages = sorted(ev.get("Stage Infos") or [], key=lambda s: s.get("Stage ID", 0))
        site = stages[-1].get("Stage Name", "?") if stages else "?"
    return site.split("/")[-1] if " at /" in site else site


def spark_jobs(events: Path, top: int) -> dict[str, tuple[str, list[tuple[str, float]]]]:
    """{application: (task totals, [(call site, seconds in its jobs)])}, longest first."""
    out: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    for log in sorted(events.glob("*")):
        app = log.name
        starts: dict[int, tuple[float, str]] = {}
        by_site: Counter[str] = Counter()
        count = 0
        metrics: Counter[str] = Counter()
        # rolling logs (Spark 4's default) are a directory of events_N_* files per app
        files = sorted(log.glob("events_*")) if log.is_dir() else [log]
        for f in files:
            for line in f.read_text(errors="replace").splitlines():
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError:
                    continue
                kind = ev.get("Event")
                if kind == "SparkListenerApplicationStart":
                    app = ev.get("App Name", app)
                elif kind == "SparkListenerJobStart":
                    starts[ev["Job ID"]] = (ev["Submission Time"], _site(ev))
                elif kind == "SparkListenerJobEnd" and ev["Job ID"] in starts:
                    t0, site = starts.pop(ev["Job ID"])
                    by_site[site] += (ev["Completion Time"] - t0) / 1000
                    count += 1
                elif kind == "SparkListenerTaskEnd":
                    tm = ev.get("Task Metrics") or {}
                    metrics["tasks"] += 1
                    metrics["run"] += tm.get("Executor Run Time", 0)
                    metrics["gc"] += tm.get("JVM GC Time", 0)
                    metrics["spill"] += tm.get("Disk Bytes Spilled", 0)
                    sw = tm.get("Shuffle Write Metrics") or {}
                    metrics["shuffle"] += sw.get("Shuffle Bytes Written", 0)
                    metrics["input"] += (tm.get("Input Metrics") or {}).get("Bytes Read", 0)
        totals = (
            f"{count} jobs, {sum(by_site.values()):.1f} s in jobs; {metrics['tasks']} tasks: "
            f"{metrics['run'] / 1000:.1f} s executor run time, {metrics['gc'] / 1000:.1f} s "
            f"JVM GC, input {metrics['input'] / MB:.0f} MB, shuffle write "
            f"{metrics['shuffle'] / MB:.0f} MB, spilled to disk {metrics['spill'] / MB:.0f} MB"
        )
        out[app] = (totals, by_site.most_common(top))
    return out


def _seconds_table(rows: list[tuple[str, int]], label: str, rate: float, total: int) -> str:
    """Sample counts as seconds and shares of the stage's samples (one markdown table)."""
    cells = [[name, f"{c / rate:.1f}", f"{100 * c / total:.0f} %"] for name, c in rows]
    return table(cells, [label, "s", "share"], "lrr") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=data.FULL_ROWS)
    parser.add_argument("--rate", type=int, default=20, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--specs", type=Path, default=None, help="default: pipelines/")
    args = parser.parse_args()

    raw = data.raw_csv(args.rows, seed=42)
    work = data.scratch("profile")
    events = work / "events"
    events.mkdir()
    chain = Chain(work / "home", logs=work / "logs").fresh()
    if args.specs:
        chain.specs = args.specs
    chain.put("raw_data", [raw])
    env = chain.env()
    # The runner passes a stage only the host variables a worker would see
    # (pachflow.local.env.PASS_THROUGH): PACHFLOW_SPARK_CONF is one, PYSPARK_SUBMIT_ARGS not.
    env["PACHFLOW_SPARK_CONF"] = (
        f"spark.eventLog.enabled=true spark.eventLog.dir=file://{events} "
        "spark.eventLog.compress=false spark.eventLog.rolling.enabled=false"
    )
    out = work / "pyspy.txt"
    cmd = [
        tool("py-spy"),
        "record",
        "--subprocesses",
        "--idle",
        "--rate",
        str(args.rate),
        "--format",
        "raw",
        "-o",
        str(out),
        "--",
        tool("pachflow"),
        "run",
        "--specs",
        str(chain.specs),
        "--quiet",
    ]
    say("profiling a cold run")
    m = measure(cmd, env=env, log=work / "run.log")
    jobs = chain.latest_jobs()
    say(f"profiled run: {m.wall_s:.1f} s")

    parts = [
        f"""
`.venv/bin/python bench/profile_run.py --rows {args.rows}` ({machine_line()}; load average at
the start -> highest during the run {m.load_before:.1f} -> {
            m.load_max:.1f}). One cold `pachflow run` ({args.rows:,} rows) under py-spy
(--idle, {args.rate} Hz, all Python processes) with Spark's event log on: {m.wall_s:.0f} s
(profiling included). Job durations: {
            ", ".join(f"{p} {j['duration_s']:.1f} s" for p, j in jobs.items())
        }. Seconds below = samples / rate.
"""
    ]
    stacks = parse_pyspy(out)
    for stage in ("runner", "split", "etl", "train", "provenance"):
        if stage not in stacks:
            continue
        total, own, calls = summarize(stacks[stage], args.top)
        rate = args.rate
        parts.append(f"### {stage}: {total / rate:.1f} s sampled\n")
        parts.append(
            "Library calls made by first-party code (inclusive; the JVM's work "
            "appears as the pyspark call waiting for it):\n"
        )
        parts.append(_seconds_table(calls, "call", rate, total))
        parts.append("First-party functions (inclusive):\n")
        parts.append(_seconds_table(own, "function", rate, total))
    for app, (totals, sites) in spark_jobs(events, args.top).items():
        parts.append(f"### Spark jobs of {app}\n\n{totals}.\n")
        parts.append(
            table([[site, f"{s:.1f}"] for site, s in sites], ["call site", "s in jobs"], "lr")
            + "\n"
        )
    write_section("profile", "\n".join(parts))


if __name__ == "__main__":
    main()
