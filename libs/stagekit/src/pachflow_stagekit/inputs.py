"""Finding a stage's input files: every matching file under INPUT_DIR, in a stable order.

This is the one walker every stage reads its inputs with, so its rules hold everywhere:

- Hidden entries (name starting with '.') are skipped.
- Symbolic links (Pachyderm materialises none in /pfs; they appear in local runs and
  hand-made INPUT_DIRs) are followed while they stay inside INPUT_DIR, as if the file or
  directory were copied there. A link that leads outside INPUT_DIR, a broken link and a
  directory link that loops back to a directory above it are bad input (exit 2, naming
  the link and its target): reading them would take rows from outside the datum silently.
- A matching file whose path holds a control character, a line separator, a
  bidirectional control or bytes that are not UTF-8 is bad input: its name would become
  part of an output path or split a log line.
- A matching entry that is not a regular file (a FIFO, a socket, a device) is bad input:
  reading a FIFO would wait forever.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pachflow_stagekit.errors import BadInput
from pachflow_stagekit.text import excerpt, unsafe_name_reason


def find_files(
    input_dir: str | Path,
    suffixes: Iterable[str],
    what: str,
    required: bool = True,
    hidden: bool = False,
) -> list[Path]:
    """All files under `input_dir` whose name ends with one of `suffixes`, sorted, by the
    rules above (paths are as seen under `input_dir`, links not resolved); `hidden`: hidden
    entries too (what `pachflow put` of a directory takes).

    Raises BadInput when the directory is missing, breaks a rule, or (when `required`)
    holds no such file, naming the directory and what was expected.
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise BadInput(f"input directory {root} does not exist (expected {what})")
    walk = _Walk(root, tuple(suffixes), hidden)
    walk.directory(root, frozenset([root.resolve()]))
    if required and not walk.found:
        raise BadInput(f"no {what} ({', '.join(walk.suffixes)}) under {root}")
    return sorted(walk.found)


class _Walk:
    def __init__(self, root: Path, suffixes: tuple[str, ...], hidden: bool = False) -> None:
        self.root = root
        self.hidden = hidden
        self.real_root = root.resolve()
        self.suffixes = suffixes
        self.found: list[Path] = []

    def directory(self, directory: Path, ancestors: frozenset[Path]) -> None:
        """Walk `directory`; `ancestors` are the real paths of the directories above it
        (and itself), to refuse a link that loops back into one of them."""
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith(".") and not self.hidden:
                    continue
                path = Path(entry.path)
                matches = entry.name.endswith(self.suffixes)
                if entry.is_symlink():
                    self._link(path, matches, ancestors)
                elif entry.is_dir():
                    self.directory(path, ancestors | {path.resolve()})
                elif matches and entry.is_file():
                    self._add(path)
                elif matches:
                    self._not_a_file(path)

    def _link(self, path: Path, matches: bool, ancestors: frozenset[Path]) -> None:
        target = path.resolve()
        is_dir = target.is_dir()
        if not (is_dir or matches):
            return  # a link to a file this stage does not read
        if not target.exists():
            raise BadInput(
                f"{self._shown(path)}: symbolic link to {target}, which does not exist "
                "(expected a file or a link to one inside INPUT_DIR)"
            )
        if not target.is_relative_to(self.real_root):
            raise BadInput(
                f"{self._shown(path)}: symbolic link to {target}, outside INPUT_DIR "
                f"{self.root} (expected input files inside it: copy the file in instead)"
            )
        if is_dir:
            if target in ancestors:
                raise BadInput(
                    f"{self._shown(path)}: symbolic link to {target}, a directory above it "
                    "(a loop; expected links to files or to other directories)"
                )
            self.directory(path, ancestors | {target})
        elif target.is_file():
            self._add(path)
        else:
            self._not_a_file(path)

    def _not_a_file(self, path: Path) -> None:
        raise BadInput(
            f"{self._shown(path)}: not a regular file (a FIFO, socket or device; expected "
            "files: reading it could wait forever)"
        )

    def _add(self, path: Path) -> None:
        reason = unsafe_name_reason(str(path.relative_to(self.root)))
        if reason:
            raise BadInput(
                f"{self._shown(path)}: the file name holds {reason} (expected a name that "
                "can be printed on one line: rename the file)"
            )
        self.found.append(path)

    def _shown(self, path: Path) -> str:
        """`path` for a message: the user's INPUT_DIR, then the rest quoted if unsafe."""
        rel = str(path.relative_to(self.root))
        return str(path) if unsafe_name_reason(rel) is None else f"{self.root}/{excerpt(rel)}"
