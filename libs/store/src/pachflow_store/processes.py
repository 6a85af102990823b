"""Datum process groups a runner started, as recorded in its run lock's note: finding the
ones still alive after the runner died, and stopping them; and stopping a group whose
leader this process started (a datum, the S3 gateway's s3rver, a test server).

Each datum process leads its own process group (the runner starts it in a new session), so
its whole tree (a stage and its Spark JVM) shares one pgid. A group is recorded with its
leader's start time (clock ticks since boot, /proc/<pid>/stat field 22): a pgid reused by
an unrelated process later is not taken for a survivor.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class DatumGroup:
    """A datum's process group: its pgid, its leader's start time, whose datum it is."""

    pgid: int
    started: int  # the leader's start time; 0 where /proc is not there (macOS)
    pipeline: str
    job_id: str

    def as_json(self) -> list[object]:
        return [self.pgid, self.started, self.pipeline, self.job_id]

    @classmethod
    def from_json(cls, item: object) -> DatumGroup | None:
        if not isinstance(item, list) or len(item) != 4:
            return None
        pgid, started, pipeline, job_id = item
        if not (isinstance(pgid, int) and isinstance(started, int) and pgid > 1):
            return None
        return cls(pgid, started, str(pipeline), str(job_id))


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, pgrp, ..., starttime at 19]."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else 0


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (ended, its parent has not reaped
    it yet); without /proc (macOS), whether signal 0 finds it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    fields = _stat(pid)
    return fields is None or fields[0] != "Z"  # no /proc (macOS): signal 0 found it


def is_running(pid: int, started: int) -> bool:
    """Whether process `pid`, started at `started` (start_time), still runs (not a zombie,
    not a later process that got the same pid)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z" and int(fields[19]) == started


def members(group: DatumGroup) -> list[int]:
    """The live (not zombie) processes of the group, [] when it is gone or the pgid now
    belongs to another process's group."""
    if not PROC.is_dir():  # no /proc: signal 0 to the group is all we can ask
        try:
            os.killpg(group.pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [group.pgid]
    leader = _stat(group.pgid)
    if leader is not None and int(leader[19]) != group.started:
        return []  # the pgid was reused: a new process leads a group of that number
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields and fields[0] != "Z" and int(fields[2]) == group.pgid:
            found.append(int(entry.name))
    return found


def stop_group(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """Stop the process group `proc` leads (started in a new session): SIGTERM, then
    SIGKILL when `proc` has not exited after `grace_s`. Returns when `proc` has exited or
    its group is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def live(groups: list[DatumGroup]) -> list[DatumGroup]:
    return [g for g in groups if members(g)]


def stop(groups: list[DatumGroup], grace_s: float = STOP_GRACE_S) -> list[DatumGroup]:
    """SIGTERM every live group, SIGKILL what is left after `grace_s`; returns the groups
    that were alive. Waits until none of their processes runs."""
    alive = live(groups)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in live(alive):
            try:
                os.killpg(group.pgid, sig)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + grace_s
        while live(alive) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not live(alive):
            break
    return alive
