"""SQLite schema and connection settings of the local store.

WAL mode: readers see the last committed state while a writer works, and a commit (rows
in several tables + the branch head move) becomes visible in one transaction or not at
all, also after a kill -9.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

DDL = """
CREATE TABLE IF NOT EXISTS repos (
    name TEXT NOT NULL, type TEXT NOT NULL, created REAL NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, type));
CREATE TABLE IF NOT EXISTS branches (
    repo TEXT NOT NULL, repo_type TEXT NOT NULL, name TEXT NOT NULL, head TEXT,
    PRIMARY KEY (repo, repo_type, name));
CREATE TABLE IF NOT EXISTS commits (
    repo TEXT NOT NULL, repo_type TEXT NOT NULL, id TEXT NOT NULL, branch TEXT NOT NULL,
    origin TEXT NOT NULL, parent TEXT, created REAL NOT NULL, finished REAL NOT NULL,
    size INTEGER NOT NULL, description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (repo, repo_type, id));
CREATE INDEX IF NOT EXISTS commits_by_id ON commits (id);
CREATE TABLE IF NOT EXISTS provenance (
    repo TEXT NOT NULL, repo_type TEXT NOT NULL, id TEXT NOT NULL,
    from_repo TEXT NOT NULL, from_repo_type TEXT NOT NULL, from_id TEXT NOT NULL,
    PRIMARY KEY (repo, repo_type, id, from_repo, from_repo_type, from_id));
CREATE INDEX IF NOT EXISTS provenance_from ON provenance (from_repo, from_repo_type, from_id);
CREATE TABLE IF NOT EXISTS files (
    repo TEXT NOT NULL, repo_type TEXT NOT NULL, commit_id TEXT NOT NULL, path TEXT NOT NULL,
    blob TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (repo, repo_type, commit_id, path));
CREATE INDEX IF NOT EXISTS files_by_blob ON files (blob);
CREATE TABLE IF NOT EXISTS metadata (
    repo TEXT NOT NULL, repo_type TEXT NOT NULL, commit_id TEXT NOT NULL,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (repo, repo_type, commit_id, key));
CREATE TABLE IF NOT EXISTS jobs (
    pipeline TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, created REAL NOT NULL,
    finished REAL, reason TEXT NOT NULL DEFAULT '', spec_commit TEXT NOT NULL,
    inputs TEXT NOT NULL, total INTEGER NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, output_commit TEXT,
    PRIMARY KEY (pipeline, id));
CREATE TABLE IF NOT EXISTS datums (
    pipeline TEXT NOT NULL, job_id TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL,
    hash TEXT NOT NULL, files TEXT NOT NULL, log_path TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', reused_from TEXT,
    PRIMARY KEY (pipeline, job_id, id));
CREATE INDEX IF NOT EXISTS datums_by_hash ON datums (pipeline, hash, state);
CREATE TABLE IF NOT EXISTS datum_files (
    pipeline TEXT NOT NULL, job_id TEXT NOT NULL, datum_id TEXT NOT NULL, path TEXT NOT NULL,
    blob TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (pipeline, job_id, datum_id, path));
CREATE INDEX IF NOT EXISTS datum_files_by_blob ON datum_files (blob);
"""


def connect(db_path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode: every write goes through an explicit
    `BEGIN IMMEDIATE` ... `COMMIT` (see Store._write), every read sees a committed state."""
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode survives a process crash (kill -9); only a power loss may drop
    # the last transactions, never corrupt the database.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = OFF")
    return conn


def connect_read_only(db_path: Path) -> sqlite3.Connection:
    """A store on a read-only filesystem: nothing can change it, so SQLite may read it
    without its WAL index or locks (which it could not create there)."""
    conn = sqlite3.connect(f"{db_path.as_uri()}?mode=ro&immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def init(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for statement in DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")
