"""The local store: repos, branches, commits (manifests of path -> blob), provenance,
commit metadata, jobs and datums, under $PACHFLOW_HOME (default `./.pachflow`).

Reading is lock-free (SQLite WAL snapshots; blobs are immutable). Every change is one
`BEGIN IMMEDIATE` transaction, and a commit's blobs are written before the transaction
that makes the commit visible, so a crash at any point leaves either the whole commit or
nothing visible; `recover()` (run by every writing command) removes what a crash left.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pachflow_store import locks, processes
from pachflow_store.blobs import BlobStore
from pachflow_store.commits import CommitStore
from pachflow_store.errors import StoreReadOnly
from pachflow_store.jobs import RUNNER_GONE, JobLedger
from pachflow_store.models import JOB_RUNNING
from pachflow_store.names import resolve_home
from pachflow_store.processes import DatumGroup
from pachflow_store.schema import connect, connect_read_only, init


@dataclass(frozen=True)
class Recovery:
    """What `recover()` cleaned up after a crash."""

    tmp_files: int = 0
    orphan_blobs: int = 0
    killed_jobs: int = 0


class Store(CommitStore, JobLedger):
    """The store: its file store (CommitStore) and job ledger (JobLedger) over one
    connection, with the transactions, locks and crash recovery they share."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = resolve_home(home)
        # a store on a read-only filesystem (a snapshot, a full disk remounted ro) can
        # still be read; any command that writes fails naming it (StoreReadOnly)
        self.read_only = _on_read_only_fs(self.home)
        if not self.read_only:
            self.home.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(self.home / "blobs", read_only=self.read_only)
        self.logs_dir = self.home / "logs"
        self.scratch_dir = self.home / "scratch"
        self._inflight = self.home / "inflight"
        if self.read_only:
            if not (self.home / "store.db").exists():
                raise StoreReadOnly(f"{self.home}: no store there, and its filesystem is read-only")
            self.conn = connect_read_only(self.home / "store.db")
        else:
            self._inflight.mkdir(exist_ok=True)
            self.conn = connect(self.home / "store.db")
            init(self.conn)
        self._run_holder: locks.Holder | None = None
        self._groups: dict[int, DatumGroup] = {}
        self._groups_lock = threading.Lock()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside becomes visible together, or not at all."""
        self._writable()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def writing_blobs(self) -> Iterator[None]:
        """Hold while writing blobs that a later transaction will reference. A marker file
        says "blobs may be orphaned if I die"; it is removed on a clean exit."""
        self._writable()
        marker = self._inflight / f"{os.getpid()}-{uuid.uuid4().hex}"
        with locks.shared(self.home / "blobs.lock"):
            marker.touch()
            try:
                yield
            finally:
                marker.unlink(missing_ok=True)

    @contextmanager
    def run_lock(self, what: str = "pachflow run") -> Iterator[list[DatumGroup]]:
        """One runner at a time per store (StoreBusy names the holder otherwise). Yields
        the datum process groups a killed runner recorded that are still alive: the caller
        stops them (`processes.stop`) before it recovers anything they may still write."""
        self._writable()
        with locks.exclusive(self.home / "run.lock", what) as holder:
            self._run_holder = holder
            try:
                yield processes.live(_groups_of(holder.previous))
            finally:
                self._run_holder = None
                self._groups.clear()

    def _writable(self) -> None:
        if self.read_only:
            raise StoreReadOnly(
                f"{self.home}: the store's filesystem is read-only (reading commands work; "
                "this one writes)"
            )

    def datum_started(self, pipeline: str, job_id: str, pid: int) -> None:
        """Record a datum process (the leader of its own group) in the run lock's note."""
        group = DatumGroup(pid, processes.start_time(pid), pipeline, job_id)
        with self._groups_lock:
            self._groups[pid] = group
            self._write_groups()

    def datum_ended(self, pid: int) -> None:
        with self._groups_lock:
            if self._groups.pop(pid, None) is not None:
                self._write_groups()

    def _write_groups(self) -> None:
        if self._run_holder is not None:
            self._run_holder.update(datums=[g.as_json() for g in self._groups.values()])

    def live_runner_since(self) -> float | None:
        holder = locks.live_holder(self.home / "run.lock")
        return float(holder.get("since", 0)) if holder is not None else None

    def surviving_datums(self) -> list[DatumGroup]:
        """Datum process groups still alive though the runner that started them is gone
        (nothing while a runner holds the lock: its note lists its own datums)."""
        if locks.live_holder(self.home / "run.lock") is not None:
            return []
        return processes.live(_groups_of(locks.read_note(self.home / "run.lock")))

    def recover(self, runner: bool = False) -> Recovery:
        """Clean what a killed command left: temp blobs and blobs no commit or datum
        references (only when no other command is writing blobs), and, when `runner` (the
        caller holds the run lock, so no job can really be running), jobs still marked
        running."""
        tmp_files = orphans = killed = 0
        self._writable()
        with locks.try_exclusive(self.home / "blobs.lock") as alone:
            markers = list(self._inflight.iterdir()) if alone else []
            if alone:
                tmp_files = self.blobs.clear_tmp()
            if markers:
                referenced = {
                    row[0]
                    for row in self.conn.execute(
                        "SELECT blob FROM files UNION SELECT blob FROM datum_files"
                    )
                }
                for digest in self.blobs.all_digests() - referenced:
                    self.blobs.remove(digest)
                    orphans += 1
                for marker in markers:
                    marker.unlink(missing_ok=True)
        if runner:
            with self.transaction() as tx:
                stale = tx.execute(
                    "SELECT pipeline, id FROM jobs WHERE state = ?", (JOB_RUNNING,)
                ).fetchall()
                for pipeline, job_id in stale:
                    self.kill_job(tx, pipeline, job_id, RUNNER_GONE)
                killed = len(stale)
        return Recovery(tmp_files=tmp_files, orphan_blobs=orphans, killed_jobs=killed)


def _groups_of(note: dict[str, Any]) -> list[DatumGroup]:
    items = note.get("datums")
    groups = [DatumGroup.from_json(i) for i in items] if isinstance(items, list) else []
    return [g for g in groups if g is not None]


def _on_read_only_fs(home: os.PathLike[str]) -> bool:
    """True when `home` (or, before it exists, its nearest existing parent) is on a
    filesystem mounted read-only."""
    path = os.fspath(home)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
