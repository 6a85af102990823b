"""A throwaway PostgreSQL cluster on loopback, started with the installed server binaries
(Debian's `postgresql` package: `make test-services`), for MLflow's production backend.

initdb and pg_ctl refuse to run as root: as root every command runs as the `postgres`
user the package creates (`runuser -u postgres`), in a temp dir that user owns (pytest's
own tmp dirs are root-only). TCP on 127.0.0.1 needs the password (scram-sha-256); the
unix socket in the cluster's dir is trusted, for createdb. fsync is off: a test database
need not survive a power cut.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pachflow_testing.loopback import LOOPBACK, free_port, port_open

BIN_ENV = "PACHFLOW_PG_BIN"  # a directory holding initdb/pg_ctl/createdb, overriding the search
SUPERUSER = "mlflow"
START_TIMEOUT_S = 120


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries here (the message says how to install them)."""


class PostgresError(RuntimeError):
    """initdb/pg_ctl failed (the server log tail is in the message)."""


def postgres_bin_dir() -> Path:
    """Where initdb and pg_ctl are: $PACHFLOW_PG_BIN, else the newest
    /usr/lib/postgresql/<major>/bin (Debian keeps them off PATH), else PATH."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        majors = [p for p in debian.iterdir() if re.fullmatch(r"\d+", p.name)]
        candidates += [p / "bin" for p in sorted(majors, key=lambda p: int(p.name), reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists():
            return bin_dir
    raise PostgresMissing(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in $PACHFLOW_PG_BIN, "
        "/usr/lib/postgresql/*/bin or PATH: `make test-services` installs them "
        "(apt-get install postgresql)"
    )


@dataclass
class PostgresCluster:
    """A running cluster: connect as `user`/`password` over TCP on `port`."""

    bin_dir: Path
    root: Path  # owned by the server's user; data/, the socket, server.log
    port: int
    user: str
    password: str
    host: str = LOOPBACK

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def uri(self, database: str) -> str:
        """The SQLAlchemy URI of `database` (psycopg 3: SQLAlchemy 2.1's postgresql driver)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", self.user, name)

    def start(self) -> None:
        options = f"-c listen_addresses={self.host} -p {self.port} -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open(self.port, self.host):
            if time.monotonic() > deadline:
                raise PostgresError(f"postgres not listening on {self.port}: {self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, clients are disconnected."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            self._argv("pg_ctl", "-D", str(self.data), "status"), capture_output=True
        )
        return status.returncode == 0

    def log_tail(self, lines: int = 10) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _argv(self, tool: str, *args: str) -> list[str]:
        argv = [str(self.bin_dir / tool), *args]
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(self._argv(tool, *args), capture_output=True, text=True)
        if done.returncode != 0:
            raise PostgresError(
                f"{tool} {' '.join(args[:2])} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-400:]} | log: {self.log_tail()}"
            )


def _own_root() -> Path:
    """A fresh dir the server's user owns (`postgres` when we are root)."""
    root = Path(tempfile.mkdtemp(prefix="pachflow-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    return root


@contextmanager
def run_postgres(databases: tuple[str, ...] = ()) -> Iterator[PostgresCluster]:
    """initdb + start a cluster on a free loopback port, create `databases`, yield it, then
    stop it and delete its files."""
    bin_dir = postgres_bin_dir()
    root = _own_root()
    cluster = PostgresCluster(bin_dir, root, free_port(), SUPERUSER, secrets.token_urlsafe(16))
    pwfile = root / "pw"
    pwfile.write_text(cluster.password + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    try:
        cluster._run(
            "initdb",
            "-N",
            "-D",
            str(cluster.data),
            "-U",
            cluster.user,
            f"--pwfile={pwfile}",
            "-A",
            "scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        pwfile.unlink()
        cluster.start()
        for name in databases:
            cluster.create_database(name)
        yield cluster
    finally:
        if cluster.data.exists() and cluster.running():
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
