"""Shared benchmark harness: timing and peak memory of a whole process tree, medians,
machine facts, and rewriting one's own section of bench/RESULTS.md.

Peak RSS is the maximum, over polls every `poll_s`, of the summed RSS of the measured
process and all its live descendants (the Spark JVM is a child of the stage's Python
process, so it is included). Summing RSS counts shared pages once per process, so the
figure is an upper bound; short-lived peaks between two polls can be missed. A child whose
command line is still its parent's (forked or vforked, not exec'd yet: the JVM starts
`chmod` this way for each file Hadoop writes) shares its parent's pages and is not counted
again: counted, a poll that caught a 3 GB JVM mid-fork read ~2x its memory.
Processes are attributed to a "group" by a caller-given function of their command line
(e.g. which stage a process belongs to), so one `pachflow run` also yields each stage's
own peak.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


# PACHFLOW_BENCH_RESULTS=path.md sends a trial run's sections (and its results .json
# beside it) elsewhere, so bench/RESULTS.md only ever holds real measurements.
def results_md() -> Path:
    return Path(os.environ.get("PACHFLOW_BENCH_RESULTS", BENCH_DIR / "RESULTS.md"))


def results_json() -> Path:
    md = results_md()
    return md.with_name(md.stem.lower() + ".json")


VENV_BIN = Path(sys.executable).parent
MB = 1 << 20

Grouper = Callable[[list[str]], str | None]


@dataclass(frozen=True)
class Measurement:
    """One measured command."""

    wall_s: float
    peak_rss: int  # bytes, whole tree
    cpu_s: float  # user + sys of the tree's processes, as last polled
    returncode: int
    load_before: float  # 1-minute load average when the command started
    group_peaks: dict[str, int] = field(default_factory=dict)  # bytes per group
    group_first_seen: dict[str, float] = field(default_factory=dict)  # s after start
    group_last_seen: dict[str, float] = field(default_factory=dict)
    load_max: float = 0.0  # highest 1-minute load average seen while it ran

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss / MB


class CommandFailed(RuntimeError):
    pass


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _unexeced_fork(p: psutil.Process, tree: dict[int, psutil.Process]) -> bool:
    """A child of a process in `tree` that has not exec'd yet (its parent's command line):
    it shares the parent's memory, which the parent already counts."""
    parent = tree.get(p.ppid())
    return parent is not None and p.cmdline() == parent.cmdline()


def _group(p: psutil.Process, root_pid: int, group_of: Grouper) -> str | None:
    """A process's own group, else its nearest grouped ancestor's (a stage's JVM belongs to
    the stage). Command lines are read every poll: a fresh child shows its parent's until
    it execs."""
    q: psutil.Process | None = p
    while q is not None:
        g = group_of(q.cmdline())
        if g is not None or q.pid == root_pid:
            return g
        q = q.parent()
    return None


def measure(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    log: Path | None = None,
    group_of: Grouper | None = None,
    poll_s: float = 0.05,
    check: bool = True,
) -> Measurement:
    """Run `cmd` to completion; wall time, peak RSS of its tree, CPU time.

    stdout+stderr go to `log` (or are discarded). With `check`, a non-zero exit raises
    CommandFailed naming the log.
    """
    argv = [str(c) for c in cmd]
    load = os.getloadavg()[0]
    sink = log.open("wb") if log else subprocess.DEVNULL
    cpu_seen: dict[tuple[int, float], float] = {}  # (pid, start time) -> user+sys so far
    peak = 0
    load_max = load
    peaks: dict[str, int] = {}
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv, env=dict(env) if env else None, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT
        )
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            by_group: dict[str, int] = {}
            now = time.perf_counter() - start
            tree = _tree(root)
            pids = {p.pid: p for p in tree}
            for p in tree:
                try:
                    t = p.cpu_times()
                    cpu_seen[(p.pid, p.create_time())] = t.user + t.system
                    rss = 0 if _unexeced_fork(p, pids) else p.memory_info().rss
                    g = _group(p, root.pid, group_of) if group_of else None
                    if g is not None:
                        by_group[g] = by_group.get(g, 0) + rss
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                total += rss
            peak = max(peak, total)
            load_max = max(load_max, os.getloadavg()[0])
            for g, rss in by_group.items():
                peaks[g] = max(peaks.get(g, 0), rss)
                first.setdefault(g, now)
                last[g] = now
            time.sleep(poll_s)
        wall = time.perf_counter() - start
    finally:
        if log:
            sink.close()  # type: ignore[union-attr]
    # Summed from polls, not getrusage: a JVM whose Python parent exits without waiting
    # for it is reparented and never reaped by us, so RUSAGE_CHILDREN would miss it.
    cpu = sum(cpu_seen.values())
    m = Measurement(wall, peak, cpu, proc.returncode, load, peaks, first, last, load_max)
    if check and proc.returncode != 0:
        where = f"; see {log}" if log else ""
        raise CommandFailed(f"{' '.join(argv)} exited {proc.returncode}{where}")
    return m


def median_of(ms: Sequence[Measurement]) -> Measurement:
    """The run with the median wall time (its RSS and CPU go with it)."""
    ordered = sorted(ms, key=lambda m: m.wall_s)
    return ordered[(len(ordered) - 1) // 2]


def walls(ms: Sequence[Measurement]) -> str:
    return ", ".join(f"{m.wall_s:.1f}" for m in ms)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --- machine facts -----------------------------------------------------------------


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "?"


def machine() -> dict[str, str]:
    cpu = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else "?"
    try:
        import pyspark

        spark = pyspark.__version__
    except ImportError:
        spark = "not installed"
    java = shutil.which("java")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{psutil.virtual_memory().total / (1 << 30):.1f} GiB",
        "python": platform.python_version(),
        "java": _first_line([java, "-version"]) if java else "not found",
        "spark": spark,
        "load": "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg()),
    }


def machine_line() -> str:
    m = machine()
    return (
        f"{m['date']}; {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, "
        f"Python {m['python']}, {m['java']}, PySpark {m['spark']}; "
        f"load average (1/5/15 min) at the end: {m['load']}"
    )


def wait_for_quiet(max_load: float, max_wait_s: float, say: Callable[[str], None]) -> float:
    """Wait (up to max_wait_s) for the 1-minute load average to drop below max_load."""
    deadline = time.monotonic() + max_wait_s
    load = os.getloadavg()[0]
    while load > max_load and time.monotonic() < deadline:
        say(f"load average {load:.1f} > {max_load}: waiting")
        time.sleep(15)
        load = os.getloadavg()[0]
    return load


# --- RESULTS.md --------------------------------------------------------------------


def write_section(title: str, body: str, path: Path | None = None) -> None:
    """Replace `## title` (up to the next `## ` heading) in RESULTS.md, or append it.

    Only that section changes: the other helpers' sections are left as they are.
    """
    path = path or results_md()
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    block = f"## {title}\n\n{body.strip()}\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == f"## {title}"), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
            len(lines),
        )
        tail = "".join(lines[end:])
        text = "".join(lines[:start]) + block + ("\n" + tail if tail else "")
    path.write_text(text)


def table(rows: Sequence[Sequence[object]], header: Sequence[str], align: str = "") -> str:
    """A Markdown table; `align` is one char per column: l or r (default l)."""
    sep = ["---:" if (align[i : i + 1] == "r") else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tool(name: str) -> str:
    """A console script of the workspace venv (the one running this script)."""
    path = VENV_BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `make setup` first")
    return str(path)


# --- raw numbers (bench/results.json), so sections can quote each other -------------


def save_result(name: str, value: object) -> None:
    import json

    path = results_json()
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = value
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def load_result(name: str) -> object | None:
    import json

    path = results_json()
    if not path.exists():
        return None
    return json.loads(path.read_text()).get(name)


def as_dict(m: Measurement) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(m)


def loads(ms: Sequence[Measurement]) -> str:
    """`start->max` 1-minute load average of each run, e.g. `1.2->2.0, 0.9->1.8`."""
    return ", ".join(f"{m.load_before:.1f}->{m.load_max:.1f}" for m in ms)
