"""What `pachflow put` reads: the files named, and every file under a directory named, by
the stages' own walker (pachflow_stagekit.find_files, hidden files included): a name with
a control character, a FIFO/socket/device, or a symlink leading out of the directory is
bad input (exit 2, one line naming it), never a hang or a copy of a file from elsewhere."""

from __future__ import annotations

import stat
from pathlib import Path

from pachflow_stagekit import BadInput, excerpt, find_files
from pachflow_stagekit.text import unsafe_name_reason


def put_pairs(files: tuple[Path, ...], dest: str) -> list[tuple[str, Path]]:
    """(path in the repo, local file) for every file to put, in a stable order."""
    pairs: list[tuple[str, Path]] = []
    for f in files:
        if f.is_dir():
            found = find_files(f, [""], "files to put", required=False, hidden=True)
            pairs += [(f"{dest}/{p.relative_to(f).as_posix()}", p) for p in found]
            continue
        reason = unsafe_name_reason(f.name)
        if reason:
            raise BadInput(
                f"{excerpt(str(f))}: the file name holds {reason} (expected a name that can be "
                "printed on one line: rename the file)"
            )
        if not stat.S_ISREG(f.stat().st_mode):
            raise BadInput(
                f"{f}: not a regular file (a FIFO, socket or device; expected a file or a "
                "directory: reading it could wait forever)"
            )
        pairs.append((f"{dest}/{f.name}", f))
    return pairs
