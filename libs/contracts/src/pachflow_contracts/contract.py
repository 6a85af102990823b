"""A versioned Parquet schema, and the checks a consuming stage runs on every file: its
footer (columns and types) and its values (no null where the contract has none, every
double finite, the columns that count money or events not negative), so bad data stops
with one line naming file and column before Spark starts."""

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
        """Footer and values of every file (ContractError naming file and column)."""
        for path in paths:
            self.check_file(path, open_file)
            try:
                with _opened(path, open_file) as source:
                    table = pq.read_table(source, columns=self.columns)
            except (pa.ArrowException, OSError, ValueError) as exc:  # corrupt data pages
                raise ContractError(
                    f"{path}: Parquet data cannot be read (corrupt or truncated file; "
                    f"expected {self.name} v{self.version} data)"
                ) from exc
            self.check_values(table, str(path))

    def check_values(self, table: pa.Table, where: str) -> None:
        """Raise ContractError on the first column holding a null (where the contract has
        none), a NaN or infinite double, or a negative value in `non_negative`."""
        for field in self.schema:
            column = table.column(field.name)
            if not field.nullable and column.null_count:
                self._bad_value(where, field.name, pc.is_null(column), "null", "a value")
            if pa.types.is_floating(field.type):
                finite = pc.fill_null(pc.is_finite(column), True)
                self._bad_value(
                    where, field.name, pc.invert(finite), "NaN or infinite", "a finite number"
                )
            if field.name in self.non_negative:
                negative = pc.fill_null(pc.less(column, 0), False)
                self._bad_value(where, field.name, negative, "negative", "a value >= 0")

    @staticmethod
    def _bad_value(where: str, column: str, bad: pa.ChunkedArray, what: str, expected: str) -> None:
        count = pc.sum(bad).as_py() or 0
        if count:
            first = pc.index(bad, True).as_py()
            raise ContractError(
                f"{where}: column {column!r}: {count} {what} value(s), the first in row "
                f"{first + 1} (expected {expected})"
            )
