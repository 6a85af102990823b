"""Running datums: materialize a datum's files in a scratch /pfs, start the spec's argv
through a Runtime, retry up to datum_tries, collect /pfs/out into the blob store.

Input files are hard links to the read-only blobs (no copy). Each try starts from an
empty /pfs/out, like a Pachyderm worker. The log of every try is appended to the datum's
log file, which is kept whatever happens.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pachflow.local.datums import Datum
from pachflow.local.env import datum_env
from pachflow.local.runtime import Launch, Runtime
from pachflow.local.specs import LocalSpec
from pachflow_store import DATUM_FAILED, DATUM_RECOVERED, DATUM_SUCCESS, Manifest, Store
from pachflow_store.processes import stop_group  # a datum leads its own process group

ENV_FILE = ".env"  # /pfs/.env: where pachyderm_sdk's batch_datum() loads a datum's env


@dataclass
class JobOutput:
    """A job's output commit made otherwise than from its datums, or why it failed."""

    manifest: Manifest
    error: str = ""


@dataclass
class JobContext:
    store: Store
    spec: LocalSpec
    runtime: Runtime
    job_id: str
    base_env: dict[str, str]
    workers: int
    deadline: float | None = None  # time.monotonic() at which jobTimeout kills the job
    stopping: threading.Event = field(default_factory=threading.Event)
    # the output commit when it is not the datums' /pfs/out (s3Out: the bucket, s3gateway)
    output: JobOutput | None = None
    # after a failed try: what the error becomes (the run's Spark engine adds that it
    # died, and restarts it for the next try: pachflow.local.run_spark)
    try_failed: Callable[[str], str] | None = None
    _live: set[subprocess.Popen[bytes]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def started(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._live.add(proc)
        # in the run lock's note: a runner killed now leaves a record of the group
        self.store.datum_started(self.spec.name, self.job_id, proc.pid)
        if self.stopping.is_set():  # stop_all ran while this one was starting
            stop_group(proc)

    def failed_try(self, error: str) -> str:
        return self.try_failed(error) if self.try_failed is not None else error

    def timed_out(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def wait_limit(self) -> tuple[float | None, str]:
        """How long one process may run (datumTimeout, or what is left of jobTimeout)
        and what to call it when it runs out."""
        limit = self.spec.datum_timeout_s
        why = f"datum timeout ({limit:g}s)" if limit is not None else ""
        if self.deadline is not None:
            left = max(0.0, self.deadline - time.monotonic())
            if limit is None or left < limit:
                limit, why = left, f"job timed out (jobTimeout {self.spec.job_timeout_s:g}s)"
        return limit, why

    def ended(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._live.discard(proc)
        self.store.datum_ended(proc.pid)

    def stop_all(self) -> None:
        """The runner is interrupted: no new try starts, every datum process stops (they
        run in their own sessions, so a Ctrl-C on the terminal does not reach them)."""
        self.stopping.set()
        self.stop_tries()

    def stop_tries(self) -> None:
        """Stop the running datum processes, not the job: their tries fail, and are
        retried as datumTries allows (the Spark engine they used died)."""
        with self._lock:
            live = list(self._live)
        for proc in live:
            stop_group(proc)

    @property
    def log_dir(self) -> Path:
        return self.store.logs_dir / self.spec.name / self.job_id

    @property
    def scratch(self) -> Path:
        return self.store.scratch_dir / self.job_id / self.spec.name

    def log_path(self, datum: Datum) -> Path:
        return self.log_dir / f"{datum.id}.log"

    def new_workdir(self, label: str) -> Path:
        path = self.scratch / f"{label[:16]}-{uuid.uuid4().hex[:8]}"
        (path / "pfs").mkdir(parents=True)
        return path


@dataclass
class DatumResult:
    datum: Datum
    state: str
    tries: int
    error: str = ""
    outputs: Manifest = field(default_factory=dict)
    log_path: str = ""


def materialize(store: Store, datum: Datum, pfs_dir: Path) -> None:
    """/pfs/<input>/<path> for every file of the datum (an s3 input's /pfs/<name> stays
    empty, as pachd's worker leaves it: its files are in the S3 gateway's bucket)."""
    for i in datum.inputs:
        (pfs_dir / i.name).mkdir(parents=True, exist_ok=True)
        if i.s3:
            continue
        for path, blob, _ in i.files:
            dest = pfs_dir / i.name / path.lstrip("/")
            if dest.exists():  # a group/join datum can hold a file twice: once is enough
                continue
            if i.empty_files:  # pfs.emptyFiles: the names without the content
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.touch()
            else:
                store.blobs.link_to(blob, dest)


def fresh_out(spec: LocalSpec, pfs_dir: Path) -> Path:
    """An empty /pfs/out for the next datum or try. None with s3Out: pachd's worker links
    no /pfs/out then (driver_unix.go linkData), the output is the S3 gateway's bucket."""
    out_dir = pfs_dir / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    if not spec.s3_out:
        out_dir.mkdir()
    return out_dir


def clear_inputs(datum: Datum, pfs_dir: Path) -> None:
    for i in datum.inputs:
        shutil.rmtree(pfs_dir / i.name, ignore_errors=True)


class OutputError(Exception):
    """/pfs/out holds something that cannot be a file of the output commit."""


def collect_outputs(store: Store, out_dir: Path) -> Manifest:
    """Move every file under /pfs/out into the blob store: path in the commit -> blob.
    Empty directories vanish, as in Pachyderm. A symlink stands for its target's content;
    anything that is not a regular file (a FIFO, a socket, a device, a broken link) fails
    the datum naming it (reading a FIFO would wait forever)."""
    outputs: Manifest = {}
    for root, _dirs, files in os.walk(out_dir):
        for name in files:
            local = Path(root) / name
            path = "/" + local.relative_to(out_dir).as_posix()
            target = local.resolve() if local.is_symlink() else local
            try:
                mode = target.stat().st_mode
            except OSError as exc:
                raise OutputError(f"output {path}: {exc.strerror or exc}") from None
            if not stat.S_ISREG(mode):
                raise OutputError(
                    f"output {path} is {_kind(mode)}, not a regular file (a datum's output "
                    "must be files)"
                )
            if local.is_symlink():
                outputs[path] = store.blobs.put_file(target)
                local.unlink()
            else:
                outputs[path] = store.blobs.adopt_file(local)
    return outputs


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a file"


def datum_process_env(ctx: JobContext, datum: Datum, pfs_dir: Path) -> dict[str, str]:
    def visible(path: str) -> str:
        return ctx.runtime.visible(path, pfs_dir)

    env = dict(ctx.base_env)
    # spec values pointing into /pfs, unless the local rules replaced them (MLflow, secrets)
    env.update({k: visible(v) for k, v in ctx.spec.env.items() if env.get(k) == v})
    env.update(datum_env(datum, visible))
    return env


def run_datum(ctx: JobContext, datum: Datum) -> DatumResult:
    """One datum, up to datum_tries times; returns its outputs (already blobs) on success."""
    log_path = ctx.log_path(datum)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    work = ctx.new_workdir(datum.id)
    pfs_dir = work / "pfs"
    error = ""
    tries = 0
    recovered = False
    try:
        materialize(ctx.store, datum, pfs_dir)
        env = datum_process_env(ctx, datum, pfs_dir)
        argv = [ctx.runtime.visible(a, pfs_dir) for a in ctx.spec.cmd]
        for tries in range(1, ctx.spec.datum_tries + 1):
            if ctx.stopping.is_set():
                error = "stopped: the runner was interrupted"
                break
            out_dir = fresh_out(ctx.spec, pfs_dir)
            with log_path.open("ab") as log:
                log.write(f"--- try {tries}/{ctx.spec.datum_tries}: {' '.join(argv)}\n".encode())
                log.flush()
                start = log.tell()
                error = _run_once(ctx, argv, env, pfs_dir, log)
                if error:
                    error = ctx.failed_try(_with_last_line(error, log_path, start))
                    log.write(f"--- try {tries} failed: {error}\n".encode())
                    recovered = _recover(ctx, env, pfs_dir, log) or recovered
            if not error:
                try:
                    outputs = collect_outputs(ctx.store, out_dir)
                except OutputError as exc:  # the process left what no commit can hold:
                    error = str(exc)  # the same code would leave it again, no retry
                    with log_path.open("ab") as log:
                        log.write(f"--- {error}\n".encode())
                    break
                return DatumResult(datum, DATUM_SUCCESS, tries, "", outputs, str(log_path))
    except OSError as exc:  # e.g. the command does not exist
        error = f"{type(exc).__name__}: {exc}"
        with log_path.open("ab") as log:
            log.write(f"--- could not run the datum: {error}\n".encode())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    state = DATUM_RECOVERED if recovered else DATUM_FAILED
    return DatumResult(datum, state, tries, error, {}, str(log_path))


def _recover(ctx: JobContext, env: dict[str, str], pfs_dir: Path, log: Any) -> bool:
    """transform.errCmd after a failed try, with the datum's env and files (pachd's
    recovery callback): True when it succeeds, which makes the datum RECOVERED if no
    later try succeeds."""
    if not ctx.spec.err_cmd or ctx.stopping.is_set():
        return False
    argv = [ctx.runtime.visible(a, pfs_dir) for a in ctx.spec.err_cmd]
    log.write(f"--- errCmd: {' '.join(argv)}\n".encode())
    log.flush()
    error = _run_once(ctx, argv, env, pfs_dir, log)
    log.write(f"--- errCmd {'failed: ' + error if error else 'succeeded'}\n".encode())
    return not error


def _with_last_line(error: str, log_path: Path, start: int) -> str:
    """`exit code 1: <the try's last output line>`, so the job's reason says why."""
    with log_path.open("rb") as fh:
        fh.seek(start)
        lines = [ln.strip() for ln in fh.read().decode(errors="replace").splitlines()]
    last = next((ln for ln in reversed(lines) if ln), "")
    return f"{error}: {last[:300]}" if last else error


def _run_once(
    ctx: JobContext, argv: list[str], env: dict[str, str], pfs_dir: Path, log: object
) -> str:
    """Run the process once; '' on success, else why it failed."""
    launch = Launch(ctx.spec.image, argv, env, pfs_dir, ctx.store.home)
    proc = ctx.runtime.start(launch, log)  # type: ignore[arg-type]
    ctx.started(proc)
    limit, why = ctx.wait_limit()
    try:
        code = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        stop_group(proc)
        if ctx.timed_out():
            ctx.stop_all()  # jobTimeout kills the whole job (registry.go killJob)
        return why
    except BaseException:
        stop_group(proc)
        raise
    finally:
        ctx.ended(proc)
    # transform.acceptReturnCode: these exit codes count as success (driver.go)
    return "" if code == 0 or code in ctx.spec.accept_return_codes else f"exit code {code}"


def run_datums(ctx: JobContext, datums: list[Datum]) -> Iterator[DatumResult]:
    """Every datum through a pool of `ctx.workers` (parallelism_spec, capped at the cores);
    results come back as datums finish."""
    if not datums:
        return
    with ThreadPoolExecutor(max_workers=ctx.workers, thread_name_prefix="datum") as pool:
        futures = [pool.submit(run_datum, ctx, d) for d in datums]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): stop, do not wait for datums
            ctx.stop_all()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
