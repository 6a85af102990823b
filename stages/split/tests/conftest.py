"""Small hand-written PaySim CSV fixtures and a CLI runner for the split stage's tests."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pachflow_paysim.format import HEADER
from pachflow_split.cli import main

#: Real-looking rows (the first ones are the real file's), several customers repeating,
#: fraud in TRANSFER/CASH_OUT, one flagged, Java notation, and a zero-padded-free mix.
ROWS = [
    "1,PAYMENT,9839.64,C1231006815,170136.0,160296.36,M1979787155,0.0,0.0,0,0",
    "1,PAYMENT,1864.28,C1666544295,21249.0,19384.72,M2044282225,0.0,0.0,0,0",
    "1,TRANSFER,181.0,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0",
    "1,CASH_OUT,181.0,C840083671,181.0,0.0,C38997010,21182.0,0.0,1,0",
    "1,PAYMENT,11668.14,C2048537720,41554.0,29885.86,M1230701703,0.0,0.0,0,0",
    "2,CASH_IN,1.0E7,C1231006815,160296.36,1.016029636E7,C1067715555,1.2E7,2.0E6,0,0",
    "2,DEBIT,5337.77,C712410124,41720.0,36382.23,C195600860,41898.0,40348.79,0,0",
    "3,TRANSFER,1.0E7,C1305486145,1.0E7,0.0,C553264065,0.0,0.0,1,1",
    "3,CASH_OUT,1.0E7,C840083671,1.0E7,0.0,C38997010,0.0,1.0E7,1,0",
    "743,CASH_OUT,339682.13,C786484425,339682.13,0.0,C776919290,0.0,339682.13,1,0",
    "743,PAYMENT,3.5,C1666544295,19384.72,19381.22,M2044282225,0.0,0.0,0,0",
]


def csv_text(rows: list[str], crlf: bool = False, header: str = HEADER) -> bytes:
    end = "\r\n" if crlf else "\n"
    return (end.join([header, *rows]) + end).encode()


def write_source(
    folder: Path, name: str, rows: list[str], crlf: bool = False, header: str = HEADER
) -> Path:
    """Write `rows` under the PaySim header as `name` (gzip when it ends with .gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data = csv_text(rows, crlf, header)
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def many_rows(n: int, customers: int, seed: int = 1) -> list[str]:
    """`n` valid rows over a pool of customers (so customers repeat), some fraud."""
    rnd = random.Random(seed)
    pool = [f"C{rnd.randrange(10**6, 2**31)}" for _ in range(customers)]
    rows = []
    for i in range(n):
        kind = rnd.choice(["CASH_OUT", "PAYMENT", "CASH_IN", "TRANSFER", "DEBIT"])
        dest = f"M{rnd.randrange(10**8)}" if kind == "PAYMENT" else f"C{rnd.randrange(10**8)}"
        fraud = int(kind in ("TRANSFER", "CASH_OUT") and rnd.random() < 0.05)
        amount = f"{rnd.randrange(1, 10**9) / 100}"
        origin = rnd.choice(pool)
        rows.append(f"{1 + i % 743},{kind},{amount},{origin},{amount},0.0,{dest},0.0,0.0,{fraud},0")
    return rows


@dataclass
class Run:
    exit_code: int
    stderr: str
    out: Path

    def summary(self, stem: str) -> dict:
        return json.loads((self.out / "_summary" / f"{stem}.json").read_text())

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.out)) for p in self.out.rglob("*") if p.is_file())

    def table(self) -> pa.Table:
        parts = [pq.read_table(p) for p in sorted(self.out.glob("shard=*/*.parquet"))]
        return pa.concat_tables(parts)


class Kit:
    """The helpers above, for tests (conftest modules cannot be imported by name here)."""

    ROWS = ROWS
    csv_text = staticmethod(csv_text)
    write_source = staticmethod(write_source)
    many_rows = staticmethod(many_rows)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def split(tmp_path: Path):
    """Run `pachflow-split [args] IN OUT` in-process; returns a Run."""

    def run(input_dir: Path, *args: str, out: Path | None = None) -> Run:
        out = out or tmp_path / "out"
        result = CliRunner().invoke(main, [*args, str(input_dir), str(out)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stderr, out)

    return run
