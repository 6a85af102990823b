"""What one etl run reads: the TRANSACTIONS Parquet files under INPUT_DIR (or the one file
a datum names), each with its shard.

Every file is checked against the contract from its footer (cheap: no data read), and its
row count is taken from the same footer, so empty files are known before Spark starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pachflow_contracts import TRANSACTIONS, ContractError
from pachflow_stagekit import BadInput, as_bad_input, find_files

#: A shard directory, as split writes it (`shard=07`); the value becomes the output's.
SHARD_DIR = re.compile(r"shard=(?P<value>.+)")
#: Shard values etl accepts: they become a directory name, and a Spark partition value.
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.-]+")
WHAT = f"{TRANSACTIONS.name} Parquet files (split's output)"
#: Where files that sit directly in INPUT_DIR (not in a `shard=` directory) go.
UNSHARDED = "all"


@dataclass(frozen=True)
class Source:
    """One input file: its shard, row count (from the footer) and size. It is one datum
    with the spec's glob `/shard=*/*`, and its partials go to `output_name`."""

    shard: str
    path: Path
    rows: int
    size: int

    @property
    def output_name(self) -> str:
        """`shard=<value>/<file stem>.parquet`: unique per source file of a shard, so no two
        datums write the same path (Pachyderm fails a job when they do)."""
        return f"shard={self.shard}/{self.path.stem}.parquet"


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


def discover(input_dir: str | Path) -> list[Source]:
    """All `.parquet` files under `input_dir` (or `input_dir` itself when it is a file, as
    a datum of glob `/shard=*/*` names it), their footers checked against TRANSACTIONS, by
    output name.

    Raises BadInput (exit 2) naming the file, column, expected and found type; when
    `input_dir` does not exist; or when two files would write the same output. A directory
    without Parquet files is an empty input, not an error.
    """
    root = Path(input_dir)
    if root.is_file():
        files, root = [root], root.parent
    elif not root.is_dir():
        raise BadInput(f"input directory {root} does not exist (expected {WHAT})")
    else:
        files = find_files(root, [".parquet"], WHAT, required=False)
    sources: dict[str, Source] = {}
    for path in files:
        with as_bad_input(ContractError):
            TRANSACTIONS.check_file(path)  # the footer; job.run checks the values it reads
        source = Source(
            shard_value(root, path), path, pq.read_metadata(path).num_rows, path.stat().st_size
        )
        other = sources.setdefault(source.output_name, source)
        if other is not source:
            raise BadInput(
                f"{path} and {other.path} would both write {source.output_name} (expected "
                "one file per name in each shard, as split writes shard=NN/<stem>.parquet)"
            )
    return sorted(sources.values(), key=lambda s: s.output_name)


def unreadable(path: str | Path) -> str:
    """The exit-2 line for a file whose footer is fine (it passed the contract check) but
    whose data is not, whichever engine read it."""
    return (
        f"{path}: Parquet data cannot be read (corrupt or truncated file; expected "
        f"{TRANSACTIONS.name} v{TRANSACTIONS.version} data)"
    )
