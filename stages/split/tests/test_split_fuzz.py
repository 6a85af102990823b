"""Property: any bytes given to split either parse to the rows an independent reference
parser (plain Python over the PaySim1 rules) reads, or exit 2 naming a line the reference
also rejects (or the header) -- never a traceback, never output."""

from __future__ import annotations

import math
import re
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner
from hypothesis import event, example, given
from hypothesis import strategies as st

from pachflow_contracts import TRANSACTIONS
from pachflow_paysim.format import (
    CUSTOMER_PATTERN,
    FLAG_PATTERN,
    HEADER,
    MONEY_PATTERN,
    STEP_PATTERN,
    TYPES,
)
from pachflow_split.cli import main
from pachflow_testing.fuzz import fuzz_settings

COLUMNS = TRANSACTIONS.schema.names


class Rejected(Exception):
    """The reference parser's verdict: this input must exit 2 (`line` None: the header)."""

    def __init__(self, line: int | None) -> None:
        self.line = line


def _value(column: str, text: str, kind: str) -> object:
    """One field, typed as the contract says, or ValueError when PaySim1 forbids it."""
    if column == "step":
        if not (STEP_PATTERN.fullmatch(text) and len(text) <= 9):
            raise ValueError
        return int(text)
    if column == "type":
        if text not in TYPES:
            raise ValueError
        return text
    if column == "nameOrig":
        if not CUSTOMER_PATTERN.fullmatch(text):
            raise ValueError
        return text
    if column == "nameDest":
        if not re.fullmatch(r"M[0-9]+" if kind == "PAYMENT" else r"C[0-9]+", text):
            raise ValueError
        return text
    if column in ("isFraud", "isFlaggedFraud"):
        if not FLAG_PATTERN.fullmatch(text):
            raise ValueError
        return int(text)
    if not MONEY_PATTERN.fullmatch(text) or math.isinf(float(text)):
        raise ValueError
    return float(text)


def reference_rows(data: bytes) -> list[tuple]:
    """The rows of a PaySim1 CSV file, or Rejected naming the first bad line."""
    head, _, body = data.partition(b"\n")
    if head.rstrip(b"\r").removeprefix(b"\xef\xbb\xbf") != HEADER.encode():
        raise Rejected(None)
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final line terminator ends the last line, it starts none
    rows = []
    for number, raw in enumerate(lines, start=2):
        try:
            fields = raw.removesuffix(b"\r").decode("utf-8").split(",")
        except UnicodeDecodeError:
            raise Rejected(number) from None
        if fields == [""] or fields == [""] * len(COLUMNS):
            continue  # a blank line
        if len(fields) != len(COLUMNS) or "\r" in raw.removesuffix(b"\r").decode():
            raise Rejected(number)
        try:
            rows.append(
                tuple(_value(c, t, fields[1]) for c, t in zip(COLUMNS, fields, strict=True))
            )
        except ValueError:
            raise Rejected(number) from None
    return rows


# Inputs worth trying: mostly real-looking rows (each field valid 39 times in 40), with bad
# values, odd line ends and junk bytes mixed in, so both verdicts are common (random bytes
# alone almost never pass).
_digits = st.text("0123456789", min_size=1, max_size=4)
_good_money = st.one_of(
    st.builds("{}.{}".format, _digits, _digits), st.sampled_from(["0.0", "1.0E7", "2e-3"])
)
_bad_money = st.sampled_from(["1e999", "-1.0", ".5", "1,5", "", "NaN", " 1.0"])
_BAD = {
    "step": st.sampled_from(["1234567890", "1.5", "", "-1"]),
    "type": st.sampled_from(["WIRE", "payment", ""]),
    "nameOrig": st.sampled_from(["X1", "C", "../x", "C1 "]),
    "nameDest": st.sampled_from(["M", "D1", ""]),
    "isFraud": st.sampled_from(["2", ""]),
    "isFlaggedFraud": st.sampled_from(["yes", "01"]),
}


@st.composite
def _row(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(TYPES))
    good = {
        "step": draw(_digits),
        "type": kind,
        "nameOrig": "C" + draw(_digits),
        "nameDest": ("M" if kind == "PAYMENT" else "C") + draw(_digits),
        "isFraud": draw(st.sampled_from("01")),
        "isFlaggedFraud": draw(st.sampled_from("01")),
    }
    fields = []
    for column in COLUMNS:
        value = good[column] if column in good else draw(_good_money)
        if draw(st.integers(0, 39)) == 0:
            value = draw(_BAD.get(column, _bad_money))
        fields.append(value)
    return ",".join(fields).encode()


_junk = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"", b"\r", b",,,,,,,,,,", b"\x1b[2J", b"\xff\xfe", b"1,2", b"\x00"]),
)
_END = [*[b"\n"] * 5, b"\r\n", b"\r\n", b"\r"]


@st.composite
def _file(draw: st.DrawFn) -> bytes:
    """A header (good 9 times in 10) and up to 12 lines (a row 7 times in 8), or noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    pick = draw(st.integers(0, 9))
    if pick < 7:
        out = HEADER.encode() + b"\n"
    elif pick < 9:
        out = b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"
    else:
        out = draw(st.binary(max_size=30))
    for _ in range(draw(st.integers(0, 12))):
        line = draw(_junk) if draw(st.integers(0, 7)) == 0 else draw(_row())
        out += line + draw(st.sampled_from(_END))
    return out


@fuzz_settings(examples=150)
@given(data=_file(), block_mb=st.sampled_from([1, 8]))
# found by this test: Arrow also ends a row at a lone CR, so two rows passed as one line
@example(data=HEADER.encode() + b"\n\r0,CASH_OUT,0.0,C0,0.0,0.0,C0,0.0,0.0,0,0\n", block_mb=8)
def test_fuzz_split_parses_like_the_reference_or_exits_2_with_a_line(data, block_mb):
    unraisable: list[object] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "in").mkdir()
            (root / "in" / "f.csv").write_bytes(data)
            args = [
                "--shards",
                "2",
                "--block-mb",
                str(block_mb),
                str(root / "in"),
                str(root / "out"),
            ]
            result = CliRunner().invoke(main, args)
            written = [p for p in (root / "out").rglob("*")] if (root / "out").exists() else []
            out_rows = sorted(
                tuple(row[c] for c in COLUMNS)
                for p in sorted((root / "out").glob("shard=*/*.parquet"))
                for row in pq.read_table(p).to_pylist()
            )
    finally:
        sys.unraisablehook = hook
    assert not unraisable, unraisable  # e.g. "Exception ignored in" a parser callback
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    try:
        expected = reference_rows(data)
    except Rejected as rejected:
        event("rejected: " + ("header" if rejected.line is None else "a line"))
        assert result.exit_code == 2, result.stderr
        assert written == [], written
        message = result.stderr.strip().splitlines()[-1]
        assert message.isprintable() and len(message) < 1000, message
        if rejected.line is None:
            assert re.search(r"header|empty file", message), message
        else:
            lines = [int(n) for n in re.findall(r"\bline (\d+)", message)]
            assert lines, message
            assert all(_rejects_line(data, n) for n in lines), (message, rejected.line)
        return
    event("accepted: " + ("no rows" if not expected else "rows"))
    assert result.exit_code == 0, result.stderr
    assert out_rows == sorted(expected)


def _rejects_line(data: bytes, number: int) -> bool:
    """The reference rejects physical line `number` on its own (under a good header)."""
    lines = data.split(b"\n")
    if number - 1 >= len(lines):
        return False
    try:
        reference_rows(HEADER.encode() + b"\n" + lines[number - 1] + b"\n")
    except Rejected:
        return True
    return False
