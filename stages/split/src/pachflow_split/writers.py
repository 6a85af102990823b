"""The two output layouts and the quarantine file, all streaming (one batch at a time)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pachflow_contracts import SHARD_DIR_FORMAT, TRANSACTIONS
from pachflow_paysim.format import HEADER
from pachflow_paysim.rules import Problem
from pachflow_split.hashing import shard_ids
from pachflow_stagekit import BadInput, excerpt

#: Customer ids become file names only if they match this (no '/', no '..', bounded length).
SAFE_CUSTOMER = re.compile(r"C[0-9]{1,64}")


class ShardWriter:
    """`shard=NN/<stem>.parquet` for every shard 0..N-1, one open ParquetWriter each.

    Every shard file is written even when no row lands in it (a valid empty Parquet file
    with the contract schema), so each source yields exactly N files and downstream sees
    the same layout whatever the data.
    """

    def __init__(self, root: Path, stem: str, shards: int) -> None:
        self.shards = shards
        self.paths = [root / SHARD_DIR_FORMAT.format(i) / f"{stem}.parquet" for i in range(shards)]
        self.rows = [0] * shards
        schema = TRANSACTIONS.stamped_schema()
        self._writers = []
        for path in self.paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Dictionary encoding only where values repeat: on the near-unique ids it costs
            # ~40 % of the write time and makes files larger (measured, bench/RESULTS.md).
            self._writers.append(
                pq.ParquetWriter(
                    str(path), schema, compression="snappy", use_dictionary=["type", "step"]
                )
            )

    def write(self, typed: pa.RecordBatch, strings: pa.RecordBatch) -> None:
        del strings  # the typed rows are what this layout stores
        if typed.num_rows == 0:
            return
        # int16 ids (shards <= 1000): numpy's stable sort is then a radix sort, O(rows)
        ids = shard_ids(typed.column("nameOrig"), self.shards).astype(np.int16)
        counts = np.bincount(ids, minlength=self.shards)
        grouped = typed.take(pa.array(np.argsort(ids, kind="stable")))
        start = 0
        for shard, count in enumerate(counts.tolist()):
            if count:
                self._writers[shard].write_batch(grouped.slice(start, count))
                self.rows[shard] += count
                start += count

    def close(self) -> list[Path]:
        for writer in self._writers:
            writer.close()
        return self.paths


class CustomerWriter:
    """`<nameOrig>/<stem>.csv`: the raw rows of each customer under the PaySim header.

    One folder per customer (as the seed's one-file-per-customer layout), one file per
    source inside it, so two datums holding the same customer never write the same path.
    Meant for small inputs: it appends to one file per customer per batch.
    """

    def __init__(self, root: Path, stem: str) -> None:
        self.root = root.resolve()
        self.stem = stem
        self.files: set[Path] = set()
        self.rows_written = 0

    def path_for(self, name: str) -> Path:
        if not SAFE_CUSTOMER.fullmatch(name):
            raise BadInput(
                f"customer id {excerpt(name)} cannot be used as a file name (expected C<digits>)"
            )
        path = (self.root / name / f"{self.stem}.csv").resolve()
        if not path.is_relative_to(self.root):  # belt and braces: never leave the output
            raise BadInput(f"customer id {excerpt(name)} would write outside the output directory")
        return path

    def write(self, typed: pa.RecordBatch, strings: pa.RecordBatch) -> None:
        del typed  # this layout keeps the values exactly as they were written
        if strings.num_rows == 0:
            return
        text = pc.binary_join_element_wise(*strings.columns, ",")
        order = pc.sort_indices(strings.column("nameOrig"))
        names = strings.column("nameOrig").take(order).to_pylist()
        rows = text.take(order).to_pylist()
        start = 0
        for end in range(1, len(names) + 1):
            if end == len(names) or names[end] != names[start]:
                self._append(names[start], rows[start:end])
                start = end

    def _append(self, name: str, rows: list[str]) -> None:
        path = self.path_for(name)
        new = path not in self.files
        if new:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.files.add(path)
        with path.open("a", encoding="utf-8", newline="\n") as out:
            if new:
                out.write(HEADER + "\n")
            out.write("\n".join(rows) + "\n")
        self.rows_written += len(rows)

    def close(self) -> list[Path]:
        return sorted(self.files)


class RejectWriter:
    """`_rejects/<stem>.csv`: line,column,value,reason,row for every quarantined row.

    Created on the first reject only, so a clean source leaves no quarantine file.
    """

    HEADER = ("line", "columns", "reason", "row")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: TextIO | None = None

    def add(self, line: int, columns: str, reason: str, row: str) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8", newline="")
            csv.writer(self._file, lineterminator="\n").writerow(self.HEADER)
        csv.writer(self._file, lineterminator="\n").writerow((line, columns, reason, row))
        self.count += 1

    def add_problems(self, line: int, problems: list[Problem], row: str) -> None:
        self.add(
            line,
            ";".join(p.column or "(row)" for p in problems),
            "; ".join(f"{p.column or 'row'}: {p.value!r}, expected {p.expected}" for p in problems),
            row,
        )

    def close(self) -> Path | None:
        if self._file is not None:
            self._file.close()
            return self.path
        return None
