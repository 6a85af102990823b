"""Finding a stage's input files: every matching file under INPUT_DIR, in a stable order."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pachflow_stagekit.errors import BadInput


def find_files(input_dir: str | Path, suffixes: Iterable[str], what: str) -> list[Path]:
    """All files under `input_dir` whose name ends with one of `suffixes`, sorted.

    Hidden entries (name starting with '.') are skipped. Raises BadInput when the directory
    is missing or holds no such file, naming the directory and what was expected.
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise BadInput(f"input directory {root} does not exist (expected {what})")
    suffixes = tuple(suffixes)
    found = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.name.endswith(suffixes)
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not found:
        raise BadInput(f"no {what} ({', '.join(suffixes)}) under {root}")
    return found
