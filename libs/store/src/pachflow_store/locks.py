"""File locks between `pachflow` commands sharing one store.

- `run.lock` (exclusive): one `pachflow run` at a time; a second one fails at once with a
  message naming the holder (pid, command, since when), written into the lock file.
- `blobs.lock`: every command that writes blobs holds it shared; recovery (removing blobs
  that no commit references) needs it exclusive, so it never deletes the blob of a `put`
  that is about to commit.
- `waiting_exclusive`: an exclusive lock that waits instead of failing (`engine.lock`).
flock locks die with their process, so a kill -9 never leaves a stale lock behind; the
holder's note stays in the file, and `live_holder` tells a reader (who takes no lock)
whether that process is still there. The runner adds the process groups of the datums it
runs to its note, so the next runner (who reads the note before writing its own) can stop
any that outlived a killed runner.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pachflow_store.errors import StoreBusy
from pachflow_store.processes import alive


def read_note(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def live_holder(path: Path) -> dict[str, Any] | None:
    """The note (pid, command, since) of the process holding `path`, or None when nobody
    does: the note is cleared on a clean exit, and a killed holder's pid is gone (or a
    zombie its parent has not reaped yet)."""
    info = read_note(path)
    pid = info.get("pid")
    return info if isinstance(pid, int) and alive(pid) else None


def _describe_holder(path: Path) -> str:
    info = read_note(path)
    if not info:
        return "another pachflow command"
    since = time.strftime("%H:%M:%S", time.localtime(info.get("since", 0)))
    return f"pid {info.get('pid')} (`{info.get('command')}`, since {since})"


@dataclass
class Holder:
    """The exclusive holder's side of a lock file: the note it found there (left by a
    holder that was killed) and its own note, which it may add to while it holds the lock."""

    fd: int
    previous: dict[str, Any]
    note: dict[str, Any] = field(default_factory=dict)

    def update(self, **fields: object) -> None:
        self.note.update(fields)
        data = json.dumps(self.note).encode()
        os.pwrite(self.fd, data, 0)
        os.ftruncate(self.fd, len(data))


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[Holder]:
    """Hold `path` exclusively or raise StoreBusy naming who holds it."""
    with _lock_file(path) as fd:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreBusy(
                f"{what}: the store {path.parent} is in use by {_describe_holder(path)}; "
                "wait for it to finish (or stop that process) and try again"
            ) from None
        holder = Holder(fd, read_note(path))
        holder.update(pid=os.getpid(), command=" ".join(_command()), since=time.time())
        try:
            yield holder
        finally:
            os.ftruncate(fd, 0)


@contextmanager
def waiting_exclusive(path: Path) -> Iterator[None]:
    """Hold `path` exclusively, waiting for any holder: for short read-modify-writes of
    a state file beside it (the local Spark engine's), where waiting beats failing."""
    with _lock_file(path) as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield


@contextmanager
def shared(path: Path) -> Iterator[None]:
    """Hold `path` shared (waits while an exclusive holder, a short recovery, runs)."""
    with _lock_file(path) as fd:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield


@contextmanager
def try_exclusive(path: Path) -> Iterator[bool]:
    """Yield True while holding `path` exclusively, False (at once) if anyone holds it."""
    with _lock_file(path) as fd:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


@contextmanager
def _lock_file(path: Path) -> Iterator[int]:
    """The lock file's descriptor (made if missing); closing it releases the flock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        yield fd
    finally:
        os.close(fd)


def _command() -> list[str]:
    argv = list(sys.argv)
    if argv:
        argv[0] = Path(argv[0]).name
    return argv
