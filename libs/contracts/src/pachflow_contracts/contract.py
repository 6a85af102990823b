"""A versioned Parquet schema, and the checks a consuming stage runs on every file: its
footer (columns and types) and its values (no null where the contract has none, every
double finite, the columns that count money or events not negative), so bad data stops
with one line naming file and column before Spark reads it: `check_files` reads a file's
values batch by batch, `check_values` checks a table a stage has read anyway."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: Parquet key-value metadata keys stamped by the producer.
NAME_KEY = b"pachflow.contract"
VERSION_KEY = b"pachflow.contract_version"
#: Rows per batch when a file's values are checked: a few MB at a time, whatever its size.
CHECK_BATCH_ROWS = 65_536


#: Opens a file (a path or a URL) for pyarrow: e.g. pachflow_spark.object_store.open_input,
#: which reads object-store URLs too. None: pyarrow opens local paths itself.
Opener = Callable[[str], pa.NativeFile]


def _opened(path: str | Path, open_file: Opener | None) -> AbstractContextManager[Any]:
    return nullcontext(path) if open_file is None else open_file(str(path))


class ContractError(ValueError):
    """A file does not match the contract it is supposed to follow."""


#: Every contract defined, so a mismatch can say which other contract a file follows.
KNOWN: list[Contract] = []


@dataclass(frozen=True)
class Contract:
    """The columns (names, order, Arrow types) one stage promises the next."""

    name: str
    version: int
    schema: pa.Schema
    #: columns whose values must be >= 0 (amounts, balances, counts)
    non_negative: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        KNOWN.append(self)

    def matches(self, found: pa.Schema) -> bool:
        """Every column of this contract is in `found`, with its type."""
        return all(
            found.get_field_index(f.name) >= 0 and found.field(f.name).type.equals(f.type)
            for f in self.schema
        )

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def stamped_schema(self) -> pa.Schema:
        """The schema with the contract name and version in its metadata, for writers."""
        return self.schema.with_metadata(
            {NAME_KEY: self.name.encode(), VERSION_KEY: str(self.version).encode()}
        )

    def check_schema(self, found: pa.Schema, where: str) -> None:
        """Raise ContractError naming `where`, the column, expected and found."""
        problems = []
        for field in self.schema:
            idx = found.get_field_index(field.name)
            if idx < 0:
                problems.append(f"missing column {field.name!r} (expected {field.type})")
                continue
            got = found.field(idx).type
            if not got.equals(field.type):
                problems.append(f"column {field.name!r}: expected {field.type}, found {got}")
        meta = found.metadata or {}
        version = meta.get(VERSION_KEY)
        if meta.get(NAME_KEY) == self.name.encode() and version != str(self.version).encode():
            problems.append(
                f"contract {self.name} version {version.decode() if version else '?'}, "
                f"expected version {self.version}"
            )
        if problems:
            other = next((c for c in KNOWN if c is not self and c.matches(found)), None)
            if other is not None:  # e.g. features v1 written by an older etl
                problems = [f"it follows contract {other.name} v{other.version} instead"]
            raise ContractError(
                f"{where}: does not match contract {self.name} v{self.version}: "
                + "; ".join(problems)
            )

    def check_file(self, path: str | Path, open_file: Opener | None = None) -> pa.Schema:
        """Check one Parquet file's footer (cheap: no data is read)."""
        try:
            with _opened(path, open_file) as source:
                found = pq.read_schema(source)
        except (pa.ArrowException, OSError, ValueError) as exc:  # ValueError: non-UTF-8 names
            raise ContractError(f"{path}: not a readable Parquet file ({exc})") from exc
        self.check_schema(found, str(path))
        return found

    def check_files(self, paths: Iterable[str | Path], open_file: Opener | None = None) -> None:
        """Footer and values of every file (ContractError naming file and column). The
        values are read batch by batch: memory stays bounded whatever a file's size."""
        for path in paths:
            self.check_file(path, open_file)
            tally = _Tally(self)
            try:
                with _opened(path, open_file) as source:
                    for batch in pq.ParquetFile(source).iter_batches(
                        batch_size=CHECK_BATCH_ROWS, columns=self.columns
                    ):
                        tally.add(pa.Table.from_batches([batch]))
            except (pa.ArrowException, OSError, ValueError) as exc:  # corrupt data pages
                raise ContractError(
                    f"{path}: Parquet data cannot be read (corrupt or truncated file; "
                    f"expected {self.name} v{self.version} data)"
                ) from exc
            tally.raise_first(str(path))

    def check_values(self, table: pa.Table, where: str) -> None:
        """Raise ContractError on the first column holding a null (where the contract has
        none), a NaN or infinite double, or a negative value in `non_negative`: for a
        table already read (etl checks the table it aggregates, reading each file once)."""
        tally = _Tally(self)
        tally.add(table)
        tally.raise_first(where)

    def value_rules(self) -> list[tuple[str, str, str, Callable[[pa.ChunkedArray], Any]]]:
        """(column, what is bad, what is expected, bad-row mask) in the order checked."""
        rules: list[tuple[str, str, str, Callable[[pa.ChunkedArray], Any]]] = []
        for field in self.schema:
            if not field.nullable:
                rules.append((field.name, "null", "a value", pc.is_null))
            if pa.types.is_floating(field.type):
                rules.append((field.name, "NaN or infinite", "a finite number", _not_finite))
            if field.name in self.non_negative:
                rules.append((field.name, "negative", "a value >= 0", _negative))
        return rules


def _not_finite(column: pa.ChunkedArray) -> Any:
    return pc.invert(pc.fill_null(pc.is_finite(column), True))


def _negative(column: pa.ChunkedArray) -> Any:
    return pc.fill_null(pc.less(column, 0), False)


class _Tally:
    """Each value rule's count of bad rows and its first bad row, over the batches added
    so far: the error names the whole file's count whether it was read at once or not."""

    def __init__(self, contract: Contract) -> None:
        self._rules = contract.value_rules()
        self._count = [0] * len(self._rules)
        self._first: list[int | None] = [None] * len(self._rules)
        self._rows = 0

    def add(self, table: pa.Table) -> None:
        for i, (column, _, _, mask) in enumerate(self._rules):
            bad = mask(table.column(column))
            count = pc.sum(bad).as_py() or 0
            if count:
                self._count[i] += count
                if self._first[i] is None:
                    self._first[i] = self._rows + pc.index(bad, True).as_py()
        self._rows += table.num_rows

    def raise_first(self, where: str) -> None:
        for (column, what, expected, _), count, first in zip(
            self._rules, self._count, self._first, strict=True
        ):
            if count:
                assert first is not None
                raise ContractError(
                    f"{where}: column {column!r}: {count} {what} value(s), the first in row "
                    f"{first + 1} (expected {expected})"
                )
