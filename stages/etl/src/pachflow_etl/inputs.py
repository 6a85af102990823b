"""What one etl run reads: the TRANSACTIONS Parquet files under INPUT_DIR, by shard.

Every file is checked against the contract from its footer (cheap: no data read), and its
row count is taken from the same footer, so empty shards are known before Spark starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pachflow_contracts import TRANSACTIONS, ContractError
from pachflow_stagekit import BadInput, find_files

#: A shard directory, as split writes it (`shard=07`); the value becomes the output's.
SHARD_DIR = re.compile(r"shard=(?P<value>.+)")
#: Shard values etl accepts: they become a directory name, and a Spark partition value.
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.-]+")
WHAT = f"{TRANSACTIONS.name} Parquet files (split's output)"
#: Where files that sit directly in INPUT_DIR (not in a `shard=` directory) go.
UNSHARDED = "all"


@dataclass
class Shard:
    """The input files of one shard and their total row count (from the footers)."""

    value: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    size: int = 0


def shard_value(root: Path, path: Path) -> str:
    """The shard a file belongs to.

    INPUT_DIR may be one shard (`/pfs/split/shard=03`, how a datum can be named) or hold
    shard directories (`/pfs/split` with `shard=03/...`, one datum or the whole repo).
    Files outside any `shard=` directory belong to shard `all`.
    """
    first = path.relative_to(root).parts[0] if path.parent != root else None
    for name in (first, root.name):
        match = SHARD_DIR.fullmatch(name or "")
        if match:
            value = match.group("value")
            if not SAFE_VALUE.fullmatch(value):
                raise BadInput(
                    f"{path}: shard directory {name!r} has an unsupported name "
                    f"(expected shard=<letters, digits, '_', '.', '-'>)"
                )
            return value
    return UNSHARDED


def discover(input_dir: str | Path) -> list[Shard]:
    """All `.parquet` files under `input_dir`, checked against TRANSACTIONS, by shard.

    Raises BadInput (exit 2) naming the file, column, expected and found type, or when
    `input_dir` does not exist. A directory without Parquet files is an empty input, not
    an error (with glob `/*` instead of the spec's `/shard=*`, split's `_summary/` directory
    would be such a datum).
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise BadInput(f"input directory {root} does not exist (expected {WHAT})")
    files = find_files(root, [".parquet"], WHAT, required=False)
    shards: dict[str, Shard] = {}
    for path in files:
        try:
            TRANSACTIONS.check_file(path)
        except ContractError as exc:
            raise BadInput(str(exc)) from exc
        shard = shards.setdefault(shard_value(root, path), Shard(shard_value(root, path)))
        shard.files.append(path)
        shard.rows += pq.read_metadata(path).num_rows
        shard.size += path.stat().st_size
    return sorted(shards.values(), key=lambda s: s.value)
