"""A real `mlflow server` on a free loopback port, for tests that talk to MLflow over HTTP.

By default a SQLite backend and proxied artifacts (`--artifacts-destination`), so clients
need nothing but the tracking URI; pachflow_testing.mlflow_production starts the same
server on PostgreSQL, with basic auth and artifacts in S3. The server is stopped by its
own pid (never by name: other suites may run servers too) and we wait until its port is
closed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow_testing.loopback import LOOPBACK, free_port, stop_process_group

if TYPE_CHECKING:
    from pachflow_testing.postgres import PostgresCluster
    from pachflow_testing.s3 import S3Store

# ~11 s on an idle 2-core machine; over 90 s at load average 30 (seen here), hence the
# generous default; PACHFLOW_TEST_MLFLOW_START_TIMEOUT overrides it.
START_TIMEOUT_S = float(os.environ.get("PACHFLOW_TEST_MLFLOW_START_TIMEOUT", "240"))


# An empty, migrated MLflow SQLite database kept from this process's first SQLite server:
# later ones start from a copy instead of running MLflow's schema migrations again (while
# it exists: it lives in that first server's root, which its caller may remove).
_empty_sqlite_db: Path | None = None


class MlflowServerError(RuntimeError):
    """The server did not come up (its log tail is in the message)."""


@dataclass(frozen=True)
class Credentials:
    """An MLflow basic-auth user, as a pipeline gets it (secret mlflow-credentials)."""

    username: str
    password: str

    def env(self) -> dict[str, str]:
        return {
            "MLFLOW_TRACKING_USERNAME": self.username,
            "MLFLOW_TRACKING_PASSWORD": self.password,
        }


@dataclass(frozen=True)
class MlflowServer:
    """A running server: its URI and where it keeps its data."""

    uri: str
    port: int
    pid: int
    root: Path
    log: Path
    backend_uri: str = ""
    # With basic auth: the pipelines' (non-admin) user and the admin who manages users.
    credentials: Credentials | None = None
    admin: Credentials | None = None
    postgres: PostgresCluster | None = None
    s3: S3Store | None = None  # None: artifacts in root/artifacts


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
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def run_mlflow_server(
    root: Path,
    workers: int = 1,
    *,
    backend_uri: str | None = None,
    artifacts_destination: str | None = None,
    app_name: str | None = None,
    server_env: dict[str, str] | None = None,
) -> Iterator[MlflowServer]:
    """Start `mlflow server` with its data under `root` (SQLite and local artifacts unless
    `backend_uri` / `artifacts_destination` say otherwise; `app_name="basic-auth"` with its
    settings in `server_env`), yield it once /health answers, stop it on exit."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "artifacts").mkdir(exist_ok=True)
    port = free_port()
    uri = f"http://{LOOPBACK}:{port}"
    log = root / "server.log"
    db = root / "mlflow.db"
    new_sqlite = backend_uri is None and not db.exists()
    backend_uri = backend_uri or f"sqlite:///{db}"
    if new_sqlite and _empty_sqlite_db is not None and _empty_sqlite_db.exists():
        shutil.copyfile(_empty_sqlite_db, db)
    cmd = [
        mlflow_executable(),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        artifacts_destination or str(root / "artifacts"),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *(["--app-name", app_name] if app_name else []),
    ]
    env = {**os.environ, **(server_env or {})}
    # The server must not inherit a client-side tracking URI (or identity) meant for others.
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        env.pop(var, None)
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
        if new_sqlite:
            _keep_empty_sqlite_db(db)
        yield MlflowServer(
            uri=uri, port=port, pid=proc.pid, root=root, log=log, backend_uri=backend_uri
        )
    finally:
        stop_process_group(proc, port)


def _keep_empty_sqlite_db(db: Path) -> None:
    """Keep a copy of `db`, a server's database before any client wrote to it (its schema
    and MLflow's default experiment only), as the start of the next SQLite servers."""
    global _empty_sqlite_db
    if _empty_sqlite_db is not None:
        return
    kept = db.with_name("empty-mlflow.db")
    with closing(sqlite3.connect(db)) as src, closing(sqlite3.connect(kept)) as dst:
        src.backup(dst)  # consistent even while the server holds the file open
    _empty_sqlite_db = kept


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def dead_uri() -> str:
    """An http tracking URI on a loopback port nothing listens on (connection refused)."""
    port = free_port()
    return f"http://{LOOPBACK}:{port}"
