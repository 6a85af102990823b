"""A real `mlflow server` on a free loopback port, for tests that talk to MLflow over HTTP.

SQLite backend and proxied artifacts (`--artifacts-destination`), like the cluster's
server, so clients need nothing but the tracking URI. The server is stopped by its own pid
(never by name: other suites may run servers too) and we wait until its port is closed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pachflow_spark.servers import LOOPBACK, free_port, port_open

__all__ = ["LOOPBACK", "MlflowServer", "free_port", "port_open", "run_mlflow_server"]
# ~11 s on an idle 2-core machine; over 90 s at load average 30 (seen here), hence the
# generous default; PACHFLOW_TEST_MLFLOW_START_TIMEOUT overrides it.
START_TIMEOUT_S = float(os.environ.get("PACHFLOW_TEST_MLFLOW_START_TIMEOUT", "240"))
STOP_TIMEOUT_S = 20.0


class MlflowServerError(RuntimeError):
    """The server did not come up (its log tail is in the message)."""


@dataclass(frozen=True)
class MlflowServer:
    """A running server: its URI and where it keeps its data."""

    uri: str
    port: int
    pid: int
    root: Path
    log: Path


def mlflow_executable() -> str:
    """The `mlflow` next to the running interpreter (the workspace venv), else PATH."""
    beside = Path(sys.executable).with_name("mlflow")
    if beside.exists():
        return str(beside)
    found = shutil.which("mlflow")
    if found is None:
        raise MlflowServerError("no `mlflow` executable next to python or on PATH")
    return found


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def run_mlflow_server(root: Path, workers: int = 1) -> Iterator[MlflowServer]:
    """Start `mlflow server` with its data under `root`, yield it once /health answers,
    stop it on exit."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "artifacts").mkdir(exist_ok=True)
    port = free_port()
    uri = f"http://{LOOPBACK}:{port}"
    log = root / "server.log"
    cmd = [
        mlflow_executable(),
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {**os.environ}
    # The server must not inherit a client-side tracking URI pointing elsewhere.
    env.pop("MLFLOW_TRACKING_URI", None)
    # MLflow 3's job runner (huey consumers for GenAI scorers) is not used here, and its
    # processes take ~30 CPU-s in the first minute: time stolen from the Spark stage under test.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    with log.open("wb") as log_fh:
        # Own process group, so stopping it also stops its uvicorn workers.
        proc = subprocess.Popen(
            cmd, stdout=log_fh, stderr=subprocess.STDOUT, cwd=root, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(uri):
            if proc.poll() is not None:
                raise MlflowServerError(
                    f"mlflow server exited with {proc.returncode}: {_tail(log)}"
                )
            if time.monotonic() > deadline:
                raise MlflowServerError(
                    f"mlflow server not healthy after {START_TIMEOUT_S:.0f}s: {_tail(log)}"
                )
            time.sleep(0.25)
        yield MlflowServer(uri=uri, port=port, pid=proc.pid, root=root, log=log)
    finally:
        _stop(proc, port)


def _stop(proc: subprocess.Popen[bytes], port: int) -> None:
    """SIGTERM the server's process group (by its own pid), SIGKILL if it lingers, then
    wait for the port to close. Killed children may stay defunct when PID 1 does not reap
    them; that is harmless, a listening port is not."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=STOP_TIMEOUT_S / 2)
            break
        except subprocess.TimeoutExpired:
            continue
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.1)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def dead_uri() -> str:
    """An http tracking URI on a loopback port nothing listens on (connection refused)."""
    port = free_port()
    return f"http://{LOOPBACK}:{port}"
