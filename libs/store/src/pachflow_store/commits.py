"""The file store: repos, branches, commits (manifests of path -> blob), provenance,
commit sets, files and commit metadata."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from pachflow_contracts.commits import (
    DEFAULT_BRANCH,
    DEFAULT_PROJECT,
    USER,
    CommitRef,
    is_commit_id,
)
from pachflow_store.blobs import BlobStore, file_digest
from pachflow_store.connected import Connected
from pachflow_store.errors import DuplicateContent, NotFound
from pachflow_store.ids import new_id
from pachflow_store.models import ORIGIN_USER, CommitInfo, FileInfo, RepoInfo, from_row
from pachflow_store.names import (
    Manifest,
    check_repo_name,
    normalize_path,
    parse_repo,
)
from pachflow_store.refs import (
    BadName,
    CommitName,
    is_id_prefix,
    parse_commit_name,
    pick_unique,
)


class CommitStore(Connected):
    blobs: BlobStore
    writing_blobs: Callable[[], AbstractContextManager[None]]  # Store's blobs lock

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
        allow_duplicate: bool = False,
    ) -> CommitRef:
        """One new USER commit on `repo@branch`: its parent's files plus `files`
        (path in the repo, local file); the repo is created if needed. Content the branch
        already holds under another path (or given twice) raises DuplicateContent naming
        that path, before anything is written, unless `allow_duplicate`: the same rows
        under two names would count twice downstream."""
        check_repo_name(repo)
        pairs = [(normalize_path(path), Path(local)) for path, local in files]
        if not allow_duplicate:
            head = self._head(self.conn, repo, USER, branch) if self.repo_exists(repo) else None
            current = self._manifest(self.conn, CommitRef(repo, head)) if head else {}
            # only a file whose size another file has can be a copy: only those are read
            sizes = {path: local.stat().st_size for path, local in pairs}
            count = Counter(size for p, (_, size) in current.items() if p not in sizes)
            count.update(sizes.values())
            digests = {p: file_digest(local)[0] for p, local in pairs if count[sizes[p]] > 1}
            refuse_duplicates(f"{repo}@{branch}", current, digests)
        added: Manifest = {}
        with self.writing_blobs():
            for path, local in pairs:
                added[path] = self.blobs.put_file(local)
            with self.transaction() as tx:
                self._ensure_repo(tx, repo, USER)
                head = self._head(tx, repo, USER, branch)
                manifest = self._manifest(tx, CommitRef(repo, head)) if head else {}
                manifest.update(added)
                return self.insert_commit(
                    tx, CommitRef(repo, new_id()), manifest, [], ORIGIN_USER, branch, description
                )

    def put_manifest(
        self, repo: str, manifest: Manifest, source: BlobStore, description: str = ""
    ) -> CommitRef:
        """One new USER commit on `repo@master` holding exactly `manifest`, whose blobs are
        taken from another store (`source`): hard links, not copies (a reproduction's
        store costs no disk for its data)."""
        check_repo_name(repo)
        with self.writing_blobs():
            for digest, _size in manifest.values():
                self.blobs.share_from(source, digest)
            with self.transaction() as tx:
                self._ensure_repo(tx, repo, USER)
                return self.insert_commit(
                    tx,
                    CommitRef(repo, new_id()),
                    dict(manifest),
                    [],
                    ORIGIN_USER,
                    DEFAULT_BRANCH,
                    description,
                )

    def delete_files(
        self, repo: str, paths: Iterable[str], branch: str = DEFAULT_BRANCH, description: str = ""
    ) -> CommitRef:
        """One new USER commit on `repo@branch`: its parent's files without `paths` (a
        directory path removes everything under it, as `pachctl delete file` does).
        Raises NotFound for a path that matches no file."""
        with self.transaction() as tx:
            head = self._head(tx, repo, USER, branch)
            if head is None:
                raise NotFound(f"branch {repo}@{branch} has no commit to delete files from")
            manifest = self._manifest(tx, CommitRef(repo, head))
            for path in map(normalize_path, paths):
                gone = [p for p in manifest if p == path or p.startswith(path.rstrip("/") + "/")]
                if not gone:
                    raise NotFound(f"file {repo}@{branch}:{path} does not exist")
                for p in gone:
                    del manifest[p]
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
            " AS commits, (SELECT size FROM commits c WHERE c.repo = r.name"
            " AND c.repo_type = r.type AND c.id = b.head) AS size"
            " FROM repos r LEFT JOIN branches b ON b.repo = r.name"
            " AND b.repo_type = r.type AND b.name = ? ORDER BY r.type DESC, r.created",
            (DEFAULT_BRANCH,),
        ).fetchall()
        return [from_row(RepoInfo, r, size=r["size"] or 0) for r in rows]

    def repo_exists(self, name: str, repo_type: str = USER) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM repos WHERE name = ? AND type = ?", (name, repo_type)
        ).fetchone()
        return row is not None

    def head(self, repo: str, repo_type: str = USER, branch: str = DEFAULT_BRANCH) -> str | None:
        return self._head(self.conn, repo, repo_type, branch)

    def resolve(self, label: str, ref: str | None = None) -> CommitRef:
        """`repo` + a commit id, a branch name (default master) or a unique prefix of 4+ hex
        digits of a commit id -> an existing CommitRef (refs.py: how things are named)."""
        name, repo_type = parse_repo(label)
        if not self.repo_exists(name, repo_type):
            raise NotFound(f"repo {label} does not exist")
        ref = ref or DEFAULT_BRANCH
        if is_commit_id(ref):
            commit = CommitRef(name, ref, repo_type=repo_type)
            self._require_commit(self.conn, commit)
            return commit
        head = self._head(self.conn, name, repo_type, ref)
        if head is not None:
            return CommitRef(name, head, repo_type=repo_type)
        if not is_id_prefix(ref):
            raise NotFound(f"{label}@{ref} has no commit (no such branch or commit id)")
        rows = self.conn.execute(
            "SELECT id FROM commits WHERE repo = ? AND repo_type = ? AND id LIKE ?",
            (name, repo_type, ref + "%"),
        ).fetchall()
        return CommitRef(
            name, pick_unique(f"{label} commit", ref, [r[0] for r in rows]), repo_type=repo_type
        )

    def resolve_name(self, name: CommitName) -> CommitRef:
        """A parsed `repo@ref` (refs.parse_commit_name) -> an existing CommitRef."""
        if name.project != DEFAULT_PROJECT:
            raise NotFound(
                f"project {name.project!r} in {name.text!r}: the local store has only 'default'"
            )
        return self.resolve(name.repo, name.ref or None)

    def resolve_uri(self, uri: str) -> tuple[CommitRef, str]:
        """`repo[@commit|@branch|@prefix][:path]` -> (commit, path)."""
        name = parse_commit_name(uri)
        return self.resolve_name(name), normalize_path(name.path or "/")

    def resolve_commit_set(self, text: str) -> str:
        """A commit set (global id) by its id or a unique prefix of it."""
        if not is_id_prefix(text):
            raise BadName(f"malformed commit set {text!r}: expected its id or 4+ of its hex digits")
        rows = self.conn.execute(
            "SELECT DISTINCT id FROM commits WHERE id LIKE ?", (text + "%",)
        ).fetchall()
        return pick_unique("commit set", text, [r[0] for r in rows])

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
        return from_row(
            CommitInfo,
            row,
            commit=ref,
            provenance=[CommitRef(r[0], r[2], repo_type=r[1]) for r in prov],
            subvenance=[CommitRef(r[0], r[2], repo_type=r[1]) for r in subv],
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
        return [self.inspect_commit(CommitRef(r[0], r[2], repo_type=r[1])) for r in rows]

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
                refs.append(CommitRef(repo, r["id"], repo_type=repo_type))
            sets.append((r["id"], r["created"], refs))
        return sets

    def inspect_commit_set(self, commit_set: str) -> list[CommitInfo]:
        rows = self.conn.execute(
            "SELECT repo, repo_type FROM commits WHERE id = ? ORDER BY created, repo",
            (commit_set,),
        ).fetchall()
        if not rows:
            raise NotFound(f"commit set {commit_set} does not exist")
        return [self.inspect_commit(CommitRef(r[0], commit_set, repo_type=r[1])) for r in rows]

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

    @staticmethod
    def _head(conn: sqlite3.Connection, repo: str, repo_type: str, branch: str) -> str | None:
        row = conn.execute(
            "SELECT head FROM branches WHERE repo = ? AND repo_type = ? AND name = ?",
            (repo, repo_type, branch),
        ).fetchone()
        return row[0] if row else None

    @staticmethod
    def _require_commit(conn: sqlite3.Connection, ref: CommitRef) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
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


def refuse_duplicates(where: str, current: Manifest, new: dict[str, str]) -> None:
    """DuplicateContent when a new file's content (sha256) is already at another path of
    `current` (or of `new`). A file put again at its own path is not a duplicate."""
    holder = {blob: path for path, (blob, _) in sorted(current.items()) if path not in new}
    for path, blob in sorted(new.items()):
        other = holder.setdefault(blob, path)
        if other != path:
            held = "which the repo already holds" if other in current else "in the same put"
            raise DuplicateContent(
                f"{where}:{path} has the same content (sha256 {blob[:12]}) as {where}:{other}, "
                f"{held}: its rows would count twice downstream. Put other data, or pass "
                "--allow-duplicate if the copy is meant"
            )
