"""The PaySim-like generator: exact format, determinism, streaming and the real file's
statistics (shared/facts/paysim.md), checked on 200k generated rows."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from pachflow_paysim import HEADER, TYPES, iter_paysim_chunks, write_paysim
from pachflow_paysim.distributions import REAL_ROWS, REAL_TYPE_ROWS
from pachflow_paysim.format import (
    CUSTOMER_PATTERN,
    DEST_PATTERN,
    FLAG_PATTERN,
    MAX_STEP,
    MONEY_PATTERN,
    STEP_PATTERN,
)

ROWS = 200_000
SEED = 11

# Plain money as the real file prints it: whole numbers end in `.0`, no trailing zero.
_PLAIN_MONEY = r"(?:0|[1-9][0-9]*)\.(?:[0-9]|[0-9][1-9])"


def _line_pattern(money: str) -> re.Pattern[str]:
    fields = [
        STEP_PATTERN.pattern,
        "|".join(TYPES),
        money,
        CUSTOMER_PATTERN.pattern,
        money,
        money,
        DEST_PATTERN.pattern,
        money,
        money,
        FLAG_PATTERN.pattern,
        FLAG_PATTERN.pattern,
    ]
    return re.compile(",".join(f"(?:{f})" for f in fields))


def _read(path: Path) -> dict[str, np.ndarray]:
    table = pacsv.read_csv(path)
    return {name: table[name].to_numpy() for name in table.column_names}


def _cents(values: np.ndarray) -> np.ndarray:
    return np.rint(values * 100).astype(np.int64)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    path = tmp_path_factory.mktemp("paysim") / "sample.csv"
    summary = write_paysim(path, ROWS, SEED)
    assert summary.rows == ROWS
    return path, _read(path)


def test_header_is_exact_and_every_line_matches_the_format(sample) -> None:
    path, _ = sample
    lines = path.read_bytes().decode("ascii").split("\n")
    assert lines[0] == HEADER
    assert lines[-1] == ""  # every line ends in \n, no CR
    rows = lines[1:-1]
    assert len(rows) == ROWS
    line = _line_pattern(_PLAIN_MONEY)
    bad = [r for r in rows if not line.fullmatch(r)]
    assert bad == []
    # The split stage's looser money rule accepts everything written.
    assert MONEY_PATTERN.fullmatch("170136.0")


def test_type_shares_follow_the_real_file(sample) -> None:
    _, cols = sample
    for name, real in REAL_TYPE_ROWS.items():
        share = np.mean(cols["type"] == name)
        assert share == pytest.approx(real / REAL_ROWS, abs=0.005), name


def test_fraud_rate_types_and_pairs(sample) -> None:
    _, c = sample
    fraud = c["isFraud"] == 1
    assert 0.0010 < fraud.mean() < 0.0016
    assert set(c["type"][fraud]) == {"TRANSFER", "CASH_OUT"}
    transfers = np.flatnonzero(fraud & (c["type"] == "TRANSFER"))
    cash_outs = np.flatnonzero(fraud & (c["type"] == "CASH_OUT"))
    # Every fraudulent TRANSFER to a mule is followed by that mule's CASH_OUT of the
    # same amount in the same step.
    np.testing.assert_array_equal(cash_outs, transfers + 1)
    np.testing.assert_array_equal(c["amount"][cash_outs], c["amount"][transfers])
    np.testing.assert_array_equal(c["step"][cash_outs], c["step"][transfers])
    np.testing.assert_array_equal(c["nameOrig"][cash_outs], c["nameDest"][transfers])
    assert c["amount"][fraud].max() <= 10_000_000
    emptied = (c["amount"] == c["oldbalanceOrg"]) & (c["newbalanceOrig"] == 0)
    assert emptied[fraud].mean() > 0.9
    dest_zero = (c["oldbalanceDest"] == 0) & (c["newbalanceDest"] == 0)
    assert 0.4 < dest_zero[fraud].mean() < 0.6
    genuine_tc = ~fraud & np.isin(c["type"], ["TRANSFER", "CASH_OUT"])
    assert dest_zero[genuine_tc].mean() < 0.01
    assert 1.0e6 < c["amount"][fraud].mean() < 2.0e6


def test_flagged_rows_are_blocked_large_fraudulent_transfers() -> None:
    flagged = 0
    for chunk in iter_paysim_chunks(2_000_000, SEED):
        f = chunk.is_flagged == 1
        flagged += int(f.sum())
        assert np.all(chunk.is_fraud[f] == 1)
        assert np.all(chunk.type_code[f] == TYPES.index("TRANSFER"))
        assert np.all(chunk.old_org[f] == chunk.new_orig[f])
        assert np.all(chunk.amount[f] >= 200_000 * 100)
    # The real file: 16 in 6.36M rows.
    assert 1 <= flagged <= 15


def test_payments_and_only_payments_go_to_merchants(sample) -> None:
    _, c = sample
    merchant = np.char.startswith(c["nameDest"].astype(str), "M")
    np.testing.assert_array_equal(merchant, c["type"] == "PAYMENT")
    assert np.all(c["oldbalanceDest"][merchant] == 0)
    assert np.all(c["newbalanceDest"][merchant] == 0)


def test_origin_balance_arithmetic(sample) -> None:
    _, c = sample
    old, new, amount = _cents(c["oldbalanceOrg"]), _cents(c["newbalanceOrig"]), _cents(c["amount"])
    cash_in = c["type"] == "CASH_IN"
    outflow = ~cash_in & (c["isFlaggedFraud"] == 0)
    np.testing.assert_array_equal(new[cash_in], old[cash_in] + amount[cash_in])
    np.testing.assert_array_equal(new[outflow], np.maximum(old[outflow] - amount[outflow], 0))


def test_amounts_zero_balances_and_steps_look_like_the_real_file(sample) -> None:
    _, c = sample
    assert 65_000 < np.median(c["amount"]) < 85_000
    assert 150_000 < c["amount"].mean() < 210_000
    assert c["amount"].min() > 0
    for column, real in [
        ("oldbalanceOrg", 0.330),
        ("newbalanceOrig", 0.567),
        ("oldbalanceDest", 0.425),
        ("newbalanceDest", 0.383),
    ]:
        assert np.mean(c[column] == 0) == pytest.approx(real, abs=0.03), column
    step = c["step"]
    assert step[0] >= 1 and step[-1] <= MAX_STEP
    assert np.all(np.diff(step) >= 0)
    assert len(np.unique(step)) > 600
    # Near-unique origins, as in the real file (6,353,307 distinct in 6,362,620 rows).
    assert len(np.unique(c["nameOrig"])) > 0.99 * ROWS


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "o.csv"
    write_paysim(a, 30_000, 5)
    write_paysim(b, 30_000, 5, workers=1)
    write_paysim(other, 30_000, 6)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != other.read_bytes()


def test_gzip_output_holds_the_same_text_and_is_deterministic(tmp_path: Path) -> None:
    plain, gz1, gz2 = tmp_path / "p.csv", tmp_path / "p1.csv.gz", tmp_path / "p2.csv.gz"
    write_paysim(plain, 20_000, 3)
    write_paysim(gz1, 20_000, 3)
    write_paysim(gz2, 20_000, 3)
    assert gzip.decompress(gz1.read_bytes()) == plain.read_bytes()
    assert gz1.read_bytes() == gz2.read_bytes()


def test_customers_pool_makes_origins_repeat(tmp_path: Path) -> None:
    path = tmp_path / "pool.csv"
    write_paysim(path, 20_000, 4, customers=300)
    c = _read(path)
    origins = np.unique(c["nameOrig"])
    assert 250 <= len(origins) <= 300
    # Customers pay each other: customer destinations come from the same pool.
    customer_dests = c["nameDest"][c["type"] != "PAYMENT"]
    assert len(set(origins) | set(customer_dests)) <= 300
    assert all(CUSTOMER_PATTERN.fullmatch(o) for o in origins)


def test_java_notation_writes_large_values_as_java_does(tmp_path: Path) -> None:
    plain, java = tmp_path / "plain.csv", tmp_path / "java.csv"
    write_paysim(plain, 20_000, 8)
    write_paysim(java, 20_000, 8, java_notation=True)
    text = java.read_text()
    assert re.search(r",[1-9]\.[0-9]+E[78],", text)
    # No plain number of 8+ integer digits is left.
    assert not re.search(r"(^|,)[0-9]{8,}\.[0-9]", text, flags=re.MULTILINE)
    line = _line_pattern(rf"{_PLAIN_MONEY}|[1-9]\.[0-9]+E[0-9]+")
    assert all(line.fullmatch(r) for r in text.splitlines()[1:])
    # Same numbers, other notation.
    a, b = _read(plain), _read(java)
    for column in ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest"):
        np.testing.assert_array_equal(_cents(a[column]), _cents(b[column]))


def test_output_is_streamed_in_bounded_chunks(tmp_path: Path) -> None:
    chunks = list(iter_paysim_chunks(10_500, 2, chunk_rows=1_000))
    assert [len(c) for c in chunks] == [1_000] * 10 + [500]
    assert [c.first_row for c in chunks] == list(range(0, 10_500, 1_000))
    seen: list[int] = []
    summary = write_paysim(
        tmp_path / "s.csv", 10_500, 2, chunk_rows=1_000, progress=lambda d, r: seen.append(d)
    )
    assert summary.chunks == 11
    assert seen == [*range(1_000, 10_001, 1_000), 10_500]
    # The file is exactly the chunks rendered one after the other, and the chunk size
    # does not change the bytes.
    text = b"".join(c.to_csv().to_pybytes() for c in chunks)
    assert (tmp_path / "s.csv").read_bytes() == (HEADER + "\n").encode() + text
    write_paysim(tmp_path / "default.csv", 10_500, 2)
    assert (tmp_path / "default.csv").read_bytes() == (tmp_path / "s.csv").read_bytes()


def test_chunk_columns_hold_the_printed_values(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    write_paysim(path, 3_000, 9, chunk_rows=3_000)
    (chunk,) = list(iter_paysim_chunks(3_000, 9, chunk_rows=3_000))
    cols, read = chunk.to_columns(), _read(path)
    assert list(cols) == HEADER.split(",")
    for name in cols:
        np.testing.assert_array_equal(cols[name], read[name], err_msg=name)


def test_zero_rows_is_a_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    summary = write_paysim(path, 0, 1)
    assert path.read_text() == HEADER + "\n"
    assert (summary.rows, summary.frauds, summary.chunks) == (0, 0, 0)


def test_failure_leaves_no_file_behind(tmp_path: Path) -> None:
    def boom(done: int, rows: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_paysim(tmp_path / "x.csv", 5_000, 1, chunk_rows=1_000, progress=boom)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "x.txt"}, r"\.csv or \.csv\.gz"),
        ({"path": "x.csv.bz2"}, r"\.csv or \.csv\.gz"),
        ({"rows": -1}, "rows must be >= 0"),
        ({"seed": -3}, "seed must be >= 0"),
        ({"customers": 0}, "customers must be between"),
        ({"chunk_rows": 0}, "chunk_rows must be >= 1"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"path": "x.csv", "rows": 10, "seed": 1} | kwargs
    args["path"] = tmp_path / args["path"]
    with pytest.raises(ValueError, match=message):
        write_paysim(**args)
    assert list(tmp_path.iterdir()) == []
