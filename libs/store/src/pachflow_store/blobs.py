"""Content-addressed file contents: `blobs/<sha256[:2]>/<sha256[2:]>`, read-only.

A blob is written to `blobs/tmp/` first and renamed into place, so a blob path that exists
is always complete. A blob nobody references (a crash between writing it and committing)
is removed by `Store.recover()`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHUNK = 1 << 20
READ_ONLY = 0o444


def file_digest(src: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file, as its blob would be named."""
    digest = hashlib.sha256()
    size = 0
    with src.open("rb") as fin:
        while chunk := fin.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class BlobStore:
    def __init__(self, root: Path, read_only: bool = False) -> None:
        self.root = root
        self.tmp = root / "tmp"
        if not read_only:
            self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    @contextmanager
    def _temp(self) -> Iterator[Path]:
        """A temp blob path, removed on any error (a full disk must not leave a half
        written blob for every later command to trip on)."""
        tmp = self.tmp / uuid.uuid4().hex
        try:
            yield tmp
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _publish(self, tmp: Path, digest: str) -> None:
        dest = self.path(digest)
        if dest.exists():
            tmp.unlink()
            return
        dest.parent.mkdir(exist_ok=True)
        os.chmod(tmp, READ_ONLY)
        os.replace(tmp, dest)

    def put_file(self, src: Path) -> tuple[str, int]:
        """Copy `src` in (hashing while copying); returns (sha256 hex, size)."""
        digest = hashlib.sha256()
        size = 0
        with self._temp() as tmp:
            with src.open("rb") as fin, tmp.open("wb") as fout:
                while chunk := fin.read(CHUNK):
                    digest.update(chunk)
                    fout.write(chunk)
                    size += len(chunk)
                fout.flush()
                os.fsync(fout.fileno())
            hexdigest = digest.hexdigest()
            self._publish(tmp, hexdigest)
        return hexdigest, size

    def adopt_file(self, src: Path) -> tuple[str, int]:
        """Move `src` in (a datum's output: same filesystem, so no copy); `src` is gone after."""
        hexdigest, size = file_digest(src)
        with self._temp() as tmp:
            try:
                os.replace(src, tmp)
            except OSError:  # another filesystem: copy instead
                shutil.copyfile(src, tmp)
                src.unlink()
            self._publish(tmp, hexdigest)
        return hexdigest, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        hexdigest = hashlib.sha256(data).hexdigest()
        with self._temp() as tmp:
            tmp.write_bytes(data)
            self._publish(tmp, hexdigest)
        return hexdigest, len(data)

    def link_to(self, digest: str, dest: Path) -> None:
        """Make `dest` show the blob: a hard link (no copy), or a copy across filesystems."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self.path(digest), dest)
        except OSError:
            shutil.copyfile(self.path(digest), dest)
            os.chmod(dest, READ_ONLY)

    def share_from(self, other: BlobStore, digest: str) -> None:
        """Take another store's blob: a hard link when on the same filesystem (blobs never
        change, so two stores can share one file), a copy otherwise."""
        if self.exists(digest):
            return
        with self._temp() as tmp:
            other.link_to(digest, tmp)
            self._publish(tmp, digest)

    def all_digests(self) -> set[str]:
        found: set[str] = set()
        for sub in self.root.iterdir():
            if sub.name == "tmp" or not sub.is_dir():
                continue
            found.update(sub.name + f.name for f in sub.iterdir())
        return found

    def remove(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def clear_tmp(self) -> int:
        removed = 0
        for f in self.tmp.iterdir():
            f.unlink(missing_ok=True)
            removed += 1
        return removed
