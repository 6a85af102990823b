"""Datum batching (`transform.datumBatching: true`): Pachyderm's worker NextDatum API on
loopback, so stage code written with `pachyderm_sdk.batch_all_datums` runs unchanged.

Per worker (parallelism_spec, capped at the cores): one gRPC server on 127.0.0.1 and one
user process started with PPS_WORKER_GRPC_PORT. Each NextDatum call reports the previous
datum (empty error = success: its /pfs/out is collected) and gets the next one: its files
appear at the same /pfs/<input> paths (remapped), /pfs/out is empty again, and the reply's
`env` lists the datum's variables (also written to /pfs/.env, where pachyderm_sdk's
batch_datum() loads them; that path is only real in a container: with the local runtime
code that needs per-datum variables applies `NextDatumResponse.env` itself). When no datum
is left the call is held and the process stopped, as Pachyderm's worker does. A process
that reports a datum error or dies mid-datum is restarted (as Pachyderm does) for the rest;
a failed datum is retried up to datum_tries.
"""

from __future__ import annotations

import collections
import os
import queue
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import grpc
from pachyderm_sdk.api.worker import NextDatumRequest, NextDatumResponse
from pachyderm_sdk.constants import WORKER_PORT_ENV

from pachflow.local.datums import Datum
from pachflow.local.env import datum_env
from pachflow.local.executor import (
    ENV_FILE,
    DatumResult,
    JobContext,
    OutputError,
    clear_inputs,
    collect_outputs,
    fresh_out,
    materialize,
)
from pachflow.local.runtime import Launch
from pachflow_contracts.worker_api import serve_next_datum
from pachflow_store import DATUM_FAILED, DATUM_SUCCESS
from pachflow_store.processes import stop_group

POLL_S = 0.05
PROCESS_STARTED = "--- pachflow: started"  # in workerN.log, once per process start
EOF_WAIT_S = 5.0
_DONE = None  # reply meaning "no datum left"


class _Servicer:
    """NextDatum: hand the call to the worker loop and wait for its answer."""

    def __init__(self) -> None:
        self.calls: queue.Queue[str] = queue.Queue()
        self.replies: queue.Queue[list[str] | None] = queue.Queue()
        self.stopping = threading.Event()

    def next_datum(self, request: NextDatumRequest, context: grpc.ServicerContext) -> Any:
        self.calls.put(request.error)
        env = self.replies.get()
        if env is _DONE:
            # Pachyderm's worker never answers the last call: it ends the process.
            while context.is_active() and not self.stopping.wait(POLL_S):
                pass
            context.abort(grpc.StatusCode.CANCELLED, "no datum left")
        return NextDatumResponse(env=env)


class _Queue:
    """Datums still to run, shared by the workers: (datum, tries so far)."""

    def __init__(self, datums: list[Datum]) -> None:
        self._items = collections.deque((d, 0) for d in datums)
        self._lock = threading.Lock()

    def take(self) -> tuple[Datum, int] | None:
        with self._lock:
            return self._items.popleft() if self._items else None

    def retry(self, datum: Datum, tries: int) -> None:
        with self._lock:
            self._items.appendleft((datum, tries))

    def empty(self) -> bool:
        with self._lock:
            return not self._items


class _LogRouter:
    """Copies the process output into the current datum's log (or the worker's log)."""

    def __init__(self, worker_log: Path) -> None:
        self._lock = threading.Lock()
        self.worker_log = worker_log
        self._worker_log = worker_log.open("ab")
        self._current: IO[bytes] | None = None

    def worker_log_size(self) -> int:
        with self._lock:
            self._worker_log.flush()
            return self.worker_log.stat().st_size

    def worker_output_since(self, offset: int) -> bytes:
        with self._lock:
            self._worker_log.flush()
            with self.worker_log.open("rb") as fh:
                fh.seek(offset)
                return fh.read()

    def switch(self, path: Path | None, header: str = "") -> None:
        with self._lock:
            if self._current is not None:
                self._current.close()
            self._current = path.open("ab") if path is not None else None
            if self._current is not None and header:
                self._current.write(header.encode())
                self._current.flush()

    def write(self, data: bytes) -> None:
        with self._lock:
            sink = self._current or self._worker_log
            sink.write(data)
            sink.flush()

    def close(self) -> None:
        self.switch(None)
        self._worker_log.close()


class _Worker:
    def __init__(
        self, ctx: JobContext, number: int, todo: _Queue, results: queue.Queue[DatumResult]
    ) -> None:
        self.ctx = ctx
        self.todo = todo
        self.results = results
        self.work = ctx.new_workdir(f"worker{number}")
        self.pfs_dir = self.work / "pfs"
        fresh_out(ctx.spec, self.pfs_dir)
        ctx.log_dir.mkdir(parents=True, exist_ok=True)
        self.log = _LogRouter(ctx.log_dir / f"worker{number}.log")
        self.current: tuple[Datum, int] | None = None

    def visible(self, path: str) -> str:
        return self.ctx.runtime.visible(path, self.pfs_dir)

    def run(self) -> None:
        servicer = _Servicer()
        server, port = serve_next_datum(servicer.next_datum)
        env = dict(self.ctx.base_env)
        env.update({k: self.visible(v) for k, v in self.ctx.spec.env.items() if env.get(k) == v})
        env[WORKER_PORT_ENV] = str(port)
        # Python output reaches the pipe at once, so each line lands in its datum's log
        env.setdefault("PYTHONUNBUFFERED", "1")
        argv = [self.visible(a) for a in self.ctx.spec.cmd]
        try:
            while (not self.todo.empty() or self.current is not None) and not (
                self.ctx.stopping.is_set()
            ):
                if self._one_process(servicer, argv, env):
                    break
        finally:
            if self.current is not None:  # an unexpected error in this loop
                self._fail(self.current, "the runner's worker failed", final=True)
            servicer.stopping.set()
            server.stop(grace=None)
            self.log.close()
            shutil.rmtree(self.work, ignore_errors=True)

    def _one_process(self, servicer: _Servicer, argv: list[str], env: dict[str, str]) -> bool:
        """Run the user process until it is out of datums (True) or dies (False)."""
        launch = Launch(self.ctx.spec.image, argv, env, self.pfs_dir, self.ctx.store.home)
        proc = self.ctx.runtime.start(launch, subprocess.PIPE)
        assert proc.stdout is not None
        self.ctx.started(proc)
        self.log.write(f"{PROCESS_STARTED} {shlex.join(argv)} (pid {proc.pid})\n".encode())
        log_start = self.log.worker_log_size()
        out_fd = proc.stdout.fileno()
        os.set_blocking(out_fd, False)
        asked = False
        try:
            while True:
                try:
                    error = servicer.calls.get(timeout=POLL_S)
                except queue.Empty:
                    self._drain(out_fd)
                    if proc.poll() is not None:
                        break
                    continue
                # the process waits in NextDatum: all it printed for the datum is in the pipe
                self._drain(out_fd)
                asked = True
                self._report(error)
                if error:
                    # as Pachyderm's worker: after a datum error the process is restarted
                    servicer.replies.put(_DONE)
                    stop_group(proc)
                    return self.todo.empty()
                nxt = self.todo.take()
                if nxt is None:
                    servicer.replies.put(_DONE)
                    stop_group(proc)
                    return True
                servicer.replies.put(self._prepare(nxt))
        finally:
            if proc.poll() is None:
                stop_group(proc)
            self.ctx.ended(proc)
            self._drain(out_fd, until_eof=True)
            proc.stdout.close()
        code = proc.returncode
        if self.current is not None:
            self._report(f"the process exited with code {code} during the datum")
        elif not asked:
            # never asked for a datum: the first datum waiting fails this try
            nxt = self.todo.take()
            if nxt is not None:
                self.current = nxt
                self._prepare(nxt)
                # what the process printed (outside any datum) explains why it died
                printed = self.log.worker_output_since(log_start)
                self.log.write(printed)
                lines = [ln for ln in printed.decode(errors="replace").splitlines() if ln.strip()]
                self._report(
                    f"the process exited with code {code} without calling NextDatum "
                    "(datumBatching needs code that loops with batch_all_datums)"
                    + (f": {lines[-1].strip()[:300]}" if lines else "")
                )
        return False

    def _drain(self, fd: int, until_eof: bool = False) -> None:
        """Copy what the process printed so far into the current log (no thread: the
        switch between datums happens exactly between two drains). `until_eof`: the
        process is gone; read what is left (a few seconds at most, in case a stray child
        keeps the pipe open)."""
        deadline = time.monotonic() + EOF_WAIT_S
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                if not until_eof or time.monotonic() > deadline:
                    return
                time.sleep(POLL_S / 5)
                continue
            except OSError:
                return
            if not chunk:
                return
            self.log.write(chunk)

    def _prepare(self, item: tuple[Datum, int]) -> list[str]:
        datum, tries = item
        self.current = item
        materialize(self.ctx.store, datum, self.pfs_dir)
        variables = datum_env(datum, self.visible)
        (self.pfs_dir / ENV_FILE).write_text(
            "".join(f"{k}={shlex.quote(v)}\n" for k, v in variables.items())
        )
        self.log.switch(
            self.ctx.log_path(datum),
            f"--- try {tries + 1}/{self.ctx.spec.datum_tries} (datum batching)\n",
        )
        return [f"{k}={v}" for k, v in variables.items()]

    def _report(self, error: str) -> None:
        """The current datum finished (error '' = success)."""
        if self.current is None:
            return
        item = self.current
        self.current = None
        datum, _ = item
        self.log.switch(None)
        if error:
            error = self.ctx.failed_try(error)
            with self.ctx.log_path(datum).open("ab") as log:
                log.write(f"--- failed: {error}\n".encode())
            self._fail(item, error, final=False)
        else:
            try:
                outputs = collect_outputs(self.ctx.store, self.pfs_dir / "out")
            except OutputError as exc:  # what no commit can hold: no retry helps
                with self.ctx.log_path(datum).open("ab") as log:
                    log.write(f"--- failed: {exc}\n".encode())
                self._fail(item, str(exc), final=True)
            else:
                log_path = str(self.ctx.log_path(datum))
                self.results.put(
                    DatumResult(datum, DATUM_SUCCESS, item[1] + 1, "", outputs, log_path)
                )
        clear_inputs(datum, self.pfs_dir)
        fresh_out(self.ctx.spec, self.pfs_dir)

    def _fail(self, item: tuple[Datum, int], error: str, final: bool) -> None:
        datum, tries = item
        tries += 1
        if not final and tries < self.ctx.spec.datum_tries:
            self.todo.retry(datum, tries)
            return
        self.results.put(
            DatumResult(datum, DATUM_FAILED, tries, error, {}, str(self.ctx.log_path(datum)))
        )


def run_batched(ctx: JobContext, datums: list[Datum]) -> Iterator[DatumResult]:
    if not datums:
        return
    todo = _Queue(datums)
    results: queue.Queue[DatumResult] = queue.Queue()
    threads = []
    for number in range(min(ctx.workers, len(datums))):
        worker = _Worker(ctx, number, todo, results)
        thread = threading.Thread(target=worker.run, name=f"batch-worker{number}", daemon=True)
        thread.start()
        threads.append(thread)
    received = 0
    try:
        while received < len(datums):
            try:
                result = results.get(timeout=0.2)
            except queue.Empty:
                if not any(t.is_alive() for t in threads) and results.empty():
                    break
                continue
            received += 1
            yield result
    except BaseException:  # interrupted: stop the workers' processes, do not wait
        ctx.stop_all()
        raise
    for thread in threads:
        thread.join()
    # a datum no worker could finish (all workers gone): fail it rather than hang
    while (item := todo.take()) is not None:
        received += 1
        yield DatumResult(item[0], DATUM_FAILED, item[1], "no worker left to run it", {}, "")
