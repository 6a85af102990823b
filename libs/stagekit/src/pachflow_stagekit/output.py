"""All-or-nothing output: a stage writes into a staging folder inside OUTPUT_DIR and
publishes it with renames only when everything succeeded, so a failure leaves no partial
file behind (Pachyderm would otherwise commit whatever was written).

Every stage calls `check_output_dir` before its work: an OUTPUT_DIR that is not an empty,
writable directory is bad input (exit 2, one line) before any time is spent. OUTPUT_DIR
itself may be a symlink to a directory (a Pachyderm worker links /pfs/out to its scratch
space); below it, publishing creates every directory first (by lstat: a symlink is never
followed, so nothing lands outside OUTPUT_DIR), then renames the files; an error on the
way (ENOSPC, no inodes left) removes what was already moved, so OUTPUT_DIR holds all or
nothing.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pachflow_stagekit.errors import BadInput

STAGING_PREFIX = ".pachflow-staging-"


def check_output_dir(output_dir: str | Path) -> Path:
    """OUTPUT_DIR if it is an empty, writable directory (or a link to one, as /pfs/out is
    in a Pachyderm worker), or does not exist yet under a writable directory (it is made
    when the output is published); else BadInput naming it and what is wrong."""
    out = Path(output_dir)
    if not os.path.lexists(out):
        parent = out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise BadInput(f"OUTPUT_DIR {out}: cannot create it: {parent} is not a directory")
        _probe(parent, f"OUTPUT_DIR {out}: cannot create it")
        return out
    try:
        mode = os.stat(out).st_mode
    except OSError as exc:
        raise BadInput(f"OUTPUT_DIR {out}: cannot use it: {_why(exc)}") from None
    if not stat.S_ISDIR(mode):
        raise BadInput(f"OUTPUT_DIR {out} is not a directory (expected an empty directory)")
    entries = sorted(e.name for e in os.scandir(out) if not e.name.startswith(STAGING_PREFIX))
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise BadInput(
            f"OUTPUT_DIR {out} is not empty ({len(entries)} entries: {shown}); expected an "
            "empty directory (a stage never overwrites output)"
        )
    _probe(out, f"OUTPUT_DIR {out} is not writable")
    return out


def _probe(directory: Path, failure: str) -> None:
    """Make and remove a directory in `directory` (root ignores permission bits: only
    trying tells a read-only or full filesystem)."""
    probe = directory / f"{STAGING_PREFIX}probe-{uuid.uuid4().hex}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise BadInput(f"{failure}: {_why(exc)}") from None


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


@contextmanager
def atomic_output(output_dir: str | Path) -> Iterator[Path]:
    """Yield a staging directory; on success move its entries into `output_dir`.

    The staging folder lives inside `output_dir` so the final moves are same-filesystem
    renames. On any exception it is removed and nothing new appears in `output_dir`.
    Refuses to replace an entry that already exists in `output_dir`.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        staging.mkdir()
    except OSError as exc:
        raise BadInput(f"OUTPUT_DIR {out}: cannot write into it: {_why(exc)}") from None
    try:
        yield staging
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_fresh_output(output_dir: str | Path) -> Iterator[Path]:
    """atomic_output for a stage that never adds to an existing output: a file it would
    overwrite (FileExistsError, while publishing or writing into staging) is bad input."""
    try:
        with atomic_output(output_dir) as staging:
            yield staging
    except FileExistsError as exc:
        raise BadInput(f"{exc} (expected an OUTPUT_DIR {output_dir} without them)") from exc


def _lexists(path: Path) -> bool:
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


def _publish(staging: Path, out: Path) -> None:
    """Check every destination first, create every directory, then rename file by file;
    on an error remove what was published so far and raise it."""
    dirs: list[Path] = []
    files: list[Path] = []
    for root, dirnames, filenames in os.walk(staging):  # os.walk follows no symlink
        rel = Path(root).relative_to(staging)
        for name in sorted(dirnames):  # a link to a directory is moved as the link it is
            (files if os.path.islink(os.path.join(root, name)) else dirs).append(rel / name)
        files.extend(rel / f for f in sorted(filenames))
    clashes = [str(out / rel) for rel in files if _lexists(out / rel)]
    for rel in dirs:
        dest = out / rel
        if _lexists(dest) and not stat.S_ISDIR(os.lstat(dest).st_mode):
            clashes.append(f"{dest} (not a directory)")
    if clashes:
        raise FileExistsError(f"would overwrite existing output: {', '.join(clashes[:5])}")
    made: list[Path] = []
    moved: list[Path] = []
    try:
        for rel in dirs:  # parents come before their children in os.walk's order
            if not _lexists(out / rel):
                os.mkdir(out / rel)
                made.append(out / rel)
        for rel in files:
            os.rename(staging / rel, out / rel)
            moved.append(out / rel)
    except BaseException:
        for path in reversed(moved):  # the staging copy is gone: the stage failed anyway
            path.unlink(missing_ok=True)
        for path in reversed(made):
            with suppress(OSError):
                path.rmdir()
        raise
