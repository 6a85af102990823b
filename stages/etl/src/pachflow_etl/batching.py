"""Datum batching: one process (one Spark session) for many datums, through Pachyderm's
worker protocol.

With `transform.datumBatching: true` the worker starts the user process once per datum
set; the process asks for each datum with the worker's NextDatum gRPC call (on
localhost:$PPS_WORKER_GRPC_PORT), reporting the previous datum's error in the request.
This is what `pachyderm_sdk.batch_all_datums` does, with two differences:

- the variables of the next datum are applied from `NextDatumResponse.env` rather than
  from `/pfs/.env` (the SDK's hard-coded path), so the loop also works where /pfs is
  remapped, as in pachflow's local runner;
- a `OUT_OF_RANGE` status from NextDatum ends the loop with exit 0. Pachyderm never sends
  it (its worker kills the process when no datum is left); pachflow's local runner may,
  to end a datum set cleanly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import click
import grpc
from pachyderm_sdk.api.worker import WorkerStub
from pachyderm_sdk.constants import WORKER_PORT_ENV

from pachflow_etl import STAGE
from pachflow_stagekit import BadInput, progress


def connect_worker() -> WorkerStub:
    """The worker API of the Pachyderm worker this process runs under."""
    port = os.environ.get(WORKER_PORT_ENV)
    if not port:
        raise BadInput(
            f"--datum-batching needs {WORKER_PORT_ENV} (set by the Pachyderm worker of a "
            "pipeline whose spec has transform.datumBatching: true); run without "
            "--datum-batching outside such a pipeline"
        )
    return WorkerStub(grpc.insecure_channel(f"localhost:{port}"))


def apply_env(env: Iterable[str]) -> None:
    """Set `KEY=VALUE` entries (NextDatumResponse.env) in this process's environment."""
    for entry in env:
        key, sep, value = entry.partition("=")
        if key and sep:
            os.environ[key] = value


def datum_input_dir(input_dir: Path) -> Path:
    """Where the current datum's files are: the `<input name>` variable (e.g. `split`, the
    last part of INPUT_DIR) if the worker set it, else INPUT_DIR.

    A `/pfs/<name>/...` value whose /pfs is remapped locally is resolved under INPUT_DIR.
    """
    value = os.environ.get(input_dir.name)
    if not value:
        return input_dir
    path = Path(value)
    if path.exists():
        return path
    pfs_input = Path("/pfs") / input_dir.name
    if path.is_relative_to(pfs_input):
        remapped = input_dir / path.relative_to(pfs_input)
        if remapped.exists():
            return remapped
    raise BadInput(f"datum input {value} (from ${input_dir.name}) does not exist")


def describe(error: Exception) -> str:
    """The error text reported to the worker (and printed): one line, what went wrong."""
    if isinstance(error, click.ClickException):
        return f"bad input: {error.format_message()}"
    return f"{type(error).__name__}: {error}"


def serve_datums(worker: WorkerStub, process_datum: Callable[[], object]) -> int:
    """Loop: NextDatum (reporting the previous datum's error), apply its env, process it.

    Returns the number of datums processed when the worker says there is none left
    (OUT_OF_RANGE); on Pachyderm the worker ends the process instead.
    """
    error = ""
    done = 0
    while True:
        try:
            response = worker.next_datum(error=error)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.OUT_OF_RANGE:
                progress(STAGE, f"no more datums after {done}")
                return done
            raise
        apply_env(response.env)
        error = ""
        try:
            process_datum()
        except Exception as exc:  # reported to the worker, which retries or fails the job
            error = describe(exc)
            progress(STAGE, f"datum {os.environ.get('PACH_DATUM_ID', done)} failed: {error}")
        done += 1
