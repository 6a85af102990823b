"""The local store: repos, branches, commits (manifests of path -> blob), provenance,
commit metadata, jobs and datums, under $PACHFLOW_HOME (default `./.pachflow`).

Reading is lock-free (SQLite WAL snapshots; blobs are immutable). Every change is one
`BEGIN IMMEDIATE` transaction, and a commit's blobs are written before the transaction
that makes the commit visible, so a crash at any point leaves either the whole commit or
nothing visible; `recover()` (run by every writing command) removes what a crash left.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pachflow_store import locks
from pachflow_store.blobs import BlobStore
from pachflow_store.errors import NotFound, StoreError
from pachflow_store.ids import is_commit_id, new_id
from pachflow_store.models import (
    DATUM_DONE,
    JOB_KILLED,
    JOB_RUNNING,
    ORIGIN_USER,
    SPEC,
    USER,
    CommitInfo,
    CommitRef,
    DatumInfo,
    FileInfo,
    JobInfo,
    RepoInfo,
)
from pachflow_store.schema import connect, init

HOME_ENV = "PACHFLOW_HOME"
DEFAULT_HOME = ".pachflow"
DEFAULT_BRANCH = "master"
REPO_TYPES = (USER, SPEC)

Manifest = dict[str, tuple[str, int]]  # path -> (blob sha256, size)


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """`home`, else $PACHFLOW_HOME, else ./.pachflow; always absolute."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


REPO_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")  # Pachyderm's rule for repo names


def check_repo_name(name: str) -> str:
    if not REPO_NAME_RE.match(name):
        raise StoreError(
            f"repo name {name!r} is not valid: use letters, digits, '_' and '-' (as Pachyderm)"
        )
    return name


def parse_repo(label: str) -> tuple[str, str]:
    """`raw_data` -> (raw_data, user); `split.spec` -> (split, spec), as pachctl parses."""
    name, dot, kind = label.partition(".")
    if not dot:
        return label, USER
    if kind not in REPO_TYPES:
        raise NotFound(f"repo type {kind!r} in {label!r} does not exist (use user or spec)")
    return name, kind


def normalize_path(path: str) -> str:
    """A file path inside a commit: absolute, '/'-separated, no trailing '/', no '..'."""
    pure = PurePosixPath("/" + path.strip().lstrip("/"))
    if ".." in pure.parts:
        raise StoreError(f"path {path!r} must not contain '..'")
    return str(pure)


@dataclass(frozen=True)
class Recovery:
    """What `recover()` cleaned up after a crash."""

    tmp_files: int = 0
    orphan_blobs: int = 0
    killed_jobs: int = 0


class Store:
    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = resolve_home(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(self.home / "blobs")
        self.logs_dir = self.home / "logs"
        self.scratch_dir = self.home / "scratch"
        self._inflight = self.home / "inflight"
        self._inflight.mkdir(exist_ok=True)
        self.conn = connect(self.home / "store.db")
        init(self.conn)

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
        marker = self._inflight / f"{os.getpid()}-{uuid.uuid4().hex}"
        with locks.shared(self.home / "blobs.lock"):
            marker.touch()
            try:
                yield
            finally:
                marker.unlink(missing_ok=True)

    @contextmanager
    def run_lock(self, what: str = "pachflow run") -> Iterator[None]:
        """One runner at a time per store (StoreBusy names the holder otherwise)."""
        with locks.exclusive(self.home / "run.lock", what):
            yield

    def recover(self, runner: bool = False) -> Recovery:
        """Clean what a killed command left: temp blobs and blobs no commit or datum
        references (only when no other command is writing blobs), and, when `runner` (the
        caller holds the run lock, so no job can really be running), jobs still marked
        running."""
        tmp_files = orphans = killed = 0
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
                killed = tx.execute(
                    "UPDATE jobs SET state = ?, finished = ?, reason = ? WHERE state = ?",
                    (JOB_KILLED, time.time(), "the runner was killed", JOB_RUNNING),
                ).rowcount
        return Recovery(tmp_files=tmp_files, orphan_blobs=orphans, killed_jobs=killed)

    # ------------------------------------------------------------------ repos & commits

    def create_repo(self, name: str, repo_type: str = USER, description: str = "") -> None:
        with self.transaction() as tx:
            self._ensure_repo(tx, name, repo_type, description)

    def _ensure_repo(
        self, tx: sqlite3.Connection, name: str, repo_type: str, description: str = ""
    ) -> None:
        tx.execute(
            "INSERT OR IGNORE INTO repos (name, type, created, description) VALUES (?,?,?,?)",
            (name, repo_type, time.time(), description),
        )

    def put_files(
        self,
        repo: str,
        files: Iterable[tuple[str, Path]],
        branch: str = DEFAULT_BRANCH,
        description: str = "",
    ) -> CommitRef:
        """One new USER commit on `repo@branch`: its parent's files plus `files`
        (path in the repo, local file); the repo is created if needed."""
        check_repo_name(repo)
        added: Manifest = {}
        with self.writing_blobs():
            for path, local in files:
                added[normalize_path(path)] = self.blobs.put_file(Path(local))
            with self.transaction() as tx:
                self._ensure_repo(tx, repo, USER)
                head = self._head(tx, repo, USER, branch)
                manifest = self._manifest(tx, CommitRef(repo, head)) if head else {}
                manifest.update(added)
                return self.insert_commit(
                    tx, CommitRef(repo, new_id()), manifest, [], ORIGIN_USER, branch, description
                )

    def insert_commit(
        self,
        tx: sqlite3.Connection,
        ref: CommitRef,
        manifest: Manifest,
        provenance: Iterable[CommitRef],
        origin: str,
        branch: str = DEFAULT_BRANCH,
        description: str = "",
    ) -> CommitRef:
        """Inside a transaction: a finished commit with its files and direct provenance,
        made the head of `branch` (its parent is the previous head)."""
        self._ensure_repo(tx, ref.repo, ref.repo_type)
        parent = self._head(tx, ref.repo, ref.repo_type, branch)
        now = time.time()
        tx.execute(
            "INSERT INTO commits (repo, repo_type, id, branch, origin, parent, created, finished,"
            " size, description) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                ref.repo,
                ref.repo_type,
                ref.id,
                branch,
                origin,
                parent,
                now,
                now,
                sum(size for _, size in manifest.values()),
                description,
            ),
        )
        tx.executemany(
            "INSERT INTO files (repo, repo_type, commit_id, path, blob, size) VALUES (?,?,?,?,?,?)",
            [(ref.repo, ref.repo_type, ref.id, p, b, s) for p, (b, s) in manifest.items()],
        )
        tx.executemany(
            "INSERT OR IGNORE INTO provenance VALUES (?,?,?,?,?,?)",
            [(ref.repo, ref.repo_type, ref.id, p.repo, p.repo_type, p.id) for p in provenance],
        )
        tx.execute(
            "INSERT INTO branches (repo, repo_type, name, head) VALUES (?,?,?,?)"
            " ON CONFLICT (repo, repo_type, name) DO UPDATE SET head = excluded.head",
            (ref.repo, ref.repo_type, branch, ref.id),
        )
        return ref

    def set_metadata(self, ref: CommitRef, key: str, value: str) -> None:
        """Set one metadata key on a commit (like `pachctl edit metadata commit ... add`).
        Needs no file lock: it is a single SQLite transaction."""
        with self.transaction() as tx:
            self._require_commit(tx, ref)
            tx.execute(
                "INSERT INTO metadata VALUES (?,?,?,?,?) ON CONFLICT (repo, repo_type, "
                "commit_id, key) DO UPDATE SET value = excluded.value",
                (ref.repo, ref.repo_type, ref.id, key, value),
            )

    def get_metadata(self, ref: CommitRef) -> dict[str, str]:
        self._require_commit(self.conn, ref)
        return self._metadata(self.conn, ref)

    # ------------------------------------------------------------------ reading

    def list_repos(self) -> list[RepoInfo]:
        rows = self.conn.execute(
            "SELECT r.name, r.type, r.created, r.description, b.head,"
            " (SELECT COUNT(*) FROM commits c WHERE c.repo = r.name AND c.repo_type = r.type)"
            " AS n, (SELECT size FROM commits c WHERE c.repo = r.name AND c.repo_type = r.type"
            " AND c.id = b.head) AS size FROM repos r LEFT JOIN branches b ON b.repo = r.name"
            " AND b.repo_type = r.type AND b.name = ? ORDER BY r.type DESC, r.created",
            (DEFAULT_BRANCH,),
        ).fetchall()
        return [
            RepoInfo(
                name=r["name"],
                type=r["type"],
                created=r["created"],
                head=r["head"],
                size=r["size"] or 0,
                commits=r["n"],
                description=r["description"],
            )
            for r in rows
        ]

    def repo_exists(self, name: str, repo_type: str = USER) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM repos WHERE name = ? AND type = ?", (name, repo_type)
        ).fetchone()
        return row is not None

    def head(self, repo: str, repo_type: str = USER, branch: str = DEFAULT_BRANCH) -> str | None:
        return self._head(self.conn, repo, repo_type, branch)

    def resolve(self, label: str, ref: str | None = None) -> CommitRef:
        """`repo` + commit id or branch name (default master) -> an existing CommitRef."""
        name, repo_type = parse_repo(label)
        if not self.repo_exists(name, repo_type):
            raise NotFound(f"repo {label} does not exist")
        ref = ref or DEFAULT_BRANCH
        if is_commit_id(ref):
            commit = CommitRef(name, ref, repo_type)
            self._require_commit(self.conn, commit)
            return commit
        head = self._head(self.conn, name, repo_type, ref)
        if head is None:
            raise NotFound(f"{label}@{ref} has no commit (no such branch or commit id)")
        return CommitRef(name, head, repo_type)

    def resolve_uri(self, uri: str) -> tuple[CommitRef, str]:
        """`repo[@commit|@branch][:path]` -> (commit, path)."""
        spec, _, path = uri.partition(":")
        label, _, ref = spec.partition("@")
        return self.resolve(label, ref or None), normalize_path(path or "/")

    def inspect_commit(self, ref: CommitRef) -> CommitInfo:
        row = self._require_commit(self.conn, ref)
        prov = self.conn.execute(
            "SELECT from_repo, from_repo_type, from_id FROM provenance"
            " WHERE repo = ? AND repo_type = ? AND id = ? ORDER BY from_repo_type DESC, from_repo",
            (ref.repo, ref.repo_type, ref.id),
        ).fetchall()
        subv = self.conn.execute(
            "SELECT repo, repo_type, id FROM provenance"
            " WHERE from_repo = ? AND from_repo_type = ? AND from_id = ? ORDER BY repo",
            (ref.repo, ref.repo_type, ref.id),
        ).fetchall()
        return CommitInfo(
            commit=ref,
            branch=row["branch"],
            origin=row["origin"],
            parent=row["parent"],
            created=row["created"],
            finished=row["finished"],
            size=row["size"],
            description=row["description"],
            provenance=[CommitRef(r[0], r[2], r[1]) for r in prov],
            subvenance=[CommitRef(r[0], r[2], r[1]) for r in subv],
            metadata=self._metadata(self.conn, ref),
        )

    def list_commits(self, label: str | None = None) -> list[CommitInfo]:
        """Every commit (of one repo), newest first."""
        if label is None:
            rows = self.conn.execute(
                "SELECT repo, repo_type, id FROM commits ORDER BY created DESC, repo"
            ).fetchall()
        else:
            name, repo_type = parse_repo(label)
            if not self.repo_exists(name, repo_type):
                raise NotFound(f"repo {label} does not exist")
            rows = self.conn.execute(
                "SELECT repo, repo_type, id FROM commits WHERE repo = ? AND repo_type = ?"
                " ORDER BY created DESC",
                (name, repo_type),
            ).fetchall()
        return [self.inspect_commit(CommitRef(r[0], r[2], r[1])) for r in rows]

    def list_commit_sets(self) -> list[tuple[str, float, list[CommitRef]]]:
        """Every commit set (global id): (id, created, its commits), newest first."""
        rows = self.conn.execute(
            "SELECT id, MIN(created) AS created, GROUP_CONCAT(repo || '|' || repo_type, ',')"
            " AS members FROM commits GROUP BY id ORDER BY created DESC"
        ).fetchall()
        sets = []
        for r in rows:
            refs = []
            for member in sorted(r["members"].split(",")):
                repo, _, repo_type = member.partition("|")
                refs.append(CommitRef(repo, r["id"], repo_type))
            sets.append((r["id"], r["created"], refs))
        return sets

    def inspect_commit_set(self, commit_set: str) -> list[CommitInfo]:
        rows = self.conn.execute(
            "SELECT repo, repo_type FROM commits WHERE id = ? ORDER BY created, repo",
            (commit_set,),
        ).fetchall()
        if not rows:
            raise NotFound(f"commit set {commit_set} does not exist")
        return [self.inspect_commit(CommitRef(r[0], commit_set, r[1])) for r in rows]

    def manifest(self, ref: CommitRef) -> Manifest:
        self._require_commit(self.conn, ref)
        return self._manifest(self.conn, ref)

    def walk_files(self, ref: CommitRef, path: str = "/") -> list[FileInfo]:
        """Every file at or under `path`, sorted."""
        path = normalize_path(path)
        prefix = "/" if path == "/" else path + "/"
        return [
            FileInfo(path=p, type="file", size=s, blob=b)
            for p, (b, s) in sorted(self.manifest(ref).items())
            if p == path or p.startswith(prefix)
        ]

    def list_files(self, ref: CommitRef, path: str = "/") -> list[FileInfo]:
        """The entries directly under `path` (directories with their total size), or the
        file itself when `path` is a file; NotFound when neither."""
        path = normalize_path(path)
        files = self.walk_files(ref, path)
        if not files and path != "/":
            raise NotFound(f"{ref}:{path} does not exist")
        if len(files) == 1 and files[0].path == path:
            return files
        prefix = "/" if path == "/" else path + "/"
        entries: dict[str, FileInfo] = {}
        for f in files:
            child = f.path[len(prefix) :].split("/", 1)
            full = prefix + child[0]
            if len(child) == 1:
                entries[full] = f
            else:
                old = entries.get(full)
                entries[full] = FileInfo(full + "/", "dir", (old.size if old else 0) + f.size)
        return [entries[k] for k in sorted(entries)]

    def file_blob(self, ref: CommitRef, path: str) -> Path:
        """Where the content of one file of a commit is (read-only, never changes)."""
        path = normalize_path(path)
        manifest = self.manifest(ref)
        if path not in manifest:
            kind = "a directory" if any(p.startswith(path + "/") for p in manifest) else None
            raise NotFound(f"{ref}:{path} " + (f"is {kind}" if kind else "does not exist"))
        return self.blobs.path(manifest[path][0])

    # ------------------------------------------------------------------ jobs & datums

    def start_job(
        self, pipeline: str, job_id: str, spec_commit: str, inputs: list[CommitRef], total: int
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO jobs (pipeline, id, state, created, spec_commit, inputs, total)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    pipeline,
                    job_id,
                    JOB_RUNNING,
                    time.time(),
                    spec_commit,
                    json.dumps([str(i) for i in inputs]),
                    total,
                ),
            )

    def record_datum(
        self,
        tx: sqlite3.Connection,
        pipeline: str,
        job_id: str,
        datum: DatumInfo,
        outputs: Manifest,
    ) -> None:
        tx.execute(
            "INSERT OR REPLACE INTO datums VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                pipeline,
                job_id,
                datum.id,
                datum.state,
                datum.hash,
                json.dumps(datum.files),
                datum.log_path,
                datum.tries,
                datum.error,
                datum.reused_from,
            ),
        )
        tx.executemany(
            "INSERT OR REPLACE INTO datum_files VALUES (?,?,?,?,?,?)",
            [(pipeline, job_id, datum.id, p, b, s) for p, (b, s) in outputs.items()],
        )

    def finish_job(
        self,
        tx: sqlite3.Connection,
        pipeline: str,
        job_id: str,
        state: str,
        reason: str,
        counts: tuple[int, int, int],
        output_commit: str | None,
    ) -> None:
        processed, skipped, failed = counts
        tx.execute(
            "UPDATE jobs SET state = ?, finished = ?, reason = ?, processed = ?, skipped = ?,"
            " failed = ?, output_commit = ? WHERE pipeline = ? AND id = ?",
            (
                state,
                time.time(),
                reason,
                processed,
                skipped,
                failed,
                output_commit,
                pipeline,
                job_id,
            ),
        )

    def done_datum(self, pipeline: str, datum_hash: str) -> tuple[str, Manifest] | None:
        """The latest job where a datum with this hash succeeded (or was reused), and the
        outputs it wrote: what reprocess_spec until_success skips."""
        row = self.conn.execute(
            "SELECT d.job_id, d.id FROM datums d JOIN jobs j ON j.pipeline = d.pipeline AND"
            " j.id = d.job_id WHERE d.pipeline = ? AND d.hash = ? AND d.state IN (?, ?)"
            " ORDER BY j.created DESC LIMIT 1",
            (pipeline, datum_hash, *DATUM_DONE),
        ).fetchone()
        if row is None:
            return None
        outputs = self.conn.execute(
            "SELECT path, blob, size FROM datum_files WHERE pipeline = ? AND job_id = ?"
            " AND datum_id = ?",
            (pipeline, row[0], row[1]),
        ).fetchall()
        return row[0], {r[0]: (r[1], r[2]) for r in outputs}

    def list_jobs(self, pipeline: str | None = None) -> list[JobInfo]:
        if pipeline is not None and not self.pipeline_exists(pipeline):
            raise NotFound(f"pipeline {pipeline} does not exist (it has never run)")
        query = "SELECT * FROM jobs"
        args: tuple[str, ...] = ()
        if pipeline is not None:
            query += " WHERE pipeline = ?"
            args = (pipeline,)
        rows = self.conn.execute(query + " ORDER BY created DESC", args).fetchall()
        return [self._job(r) for r in rows]

    def inspect_job(self, pipeline: str, job_id: str | None = None) -> JobInfo:
        """One job, or the pipeline's latest job when `job_id` is None."""
        jobs = self.list_jobs(pipeline)
        for job in jobs:
            if job_id is None or job.id == job_id:
                return job
        if job_id is None:
            raise NotFound(f"pipeline {pipeline} has no job")
        raise NotFound(f"job {pipeline}@{job_id} does not exist")

    def list_datums(self, pipeline: str, job_id: str) -> list[DatumInfo]:
        rows = self.conn.execute(
            "SELECT * FROM datums WHERE pipeline = ? AND job_id = ? ORDER BY id",
            (pipeline, job_id),
        ).fetchall()
        return [
            DatumInfo(
                pipeline=r["pipeline"],
                job_id=r["job_id"],
                id=r["id"],
                state=r["state"],
                hash=r["hash"],
                files=json.loads(r["files"]),
                log_path=r["log_path"],
                tries=r["tries"],
                error=r["error"],
                reused_from=r["reused_from"],
            )
            for r in rows
        ]

    def pipeline_exists(self, pipeline: str) -> bool:
        return self.repo_exists(pipeline, SPEC)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _head(conn: sqlite3.Connection, repo: str, repo_type: str, branch: str) -> str | None:
        row = conn.execute(
            "SELECT head FROM branches WHERE repo = ? AND repo_type = ? AND name = ?",
            (repo, repo_type, branch),
        ).fetchone()
        return row[0] if row else None

    @staticmethod
    def _require_commit(conn: sqlite3.Connection, ref: CommitRef) -> sqlite3.Row:
        row = conn.execute(
            "SELECT * FROM commits WHERE repo = ? AND repo_type = ? AND id = ?",
            (ref.repo, ref.repo_type, ref.id),
        ).fetchone()
        if row is None:
            raise NotFound(f"commit {ref} does not exist")
        return row

    @staticmethod
    def _manifest(conn: sqlite3.Connection, ref: CommitRef) -> Manifest:
        rows = conn.execute(
            "SELECT path, blob, size FROM files WHERE repo = ? AND repo_type = ? AND commit_id = ?",
            (ref.repo, ref.repo_type, ref.id),
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    @staticmethod
    def _metadata(conn: sqlite3.Connection, ref: CommitRef) -> dict[str, str]:
        rows = conn.execute(
            "SELECT key, value FROM metadata WHERE repo = ? AND repo_type = ? AND commit_id = ?"
            " ORDER BY key",
            (ref.repo, ref.repo_type, ref.id),
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    @staticmethod
    def _job(r: sqlite3.Row) -> JobInfo:
        inputs = []
        for text in json.loads(r["inputs"]):
            label, _, cid = text.partition("@")
            name, repo_type = parse_repo(label)
            inputs.append(CommitRef(name, cid, repo_type))
        return JobInfo(
            pipeline=r["pipeline"],
            id=r["id"],
            state=r["state"],
            created=r["created"],
            finished=r["finished"],
            reason=r["reason"],
            spec_commit=r["spec_commit"],
            inputs=inputs,
            total=r["total"],
            processed=r["processed"],
            skipped=r["skipped"],
            failed=r["failed"],
            output_commit=r["output_commit"],
        )
