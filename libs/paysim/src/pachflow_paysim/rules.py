"""Value checks on a batch of string columns, vectorised, and the cast to the contract types.

The rules (PaySim1 as in pachflow_paysim.format): step a whole number (at most 9 digits,
so it fits int32); type one of the five names; money non-negative decimals or Java
notation (`1.0E7`) that fit a float64; nameOrig `C<digits>`; nameDest `M<digits>` exactly
when type is PAYMENT, `C<digits>` otherwise; isFraud/isFlaggedFraud 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pachflow_contracts import TRANSACTIONS
from pachflow_paysim.format import (
    CUSTOMER_PATTERN,
    FLAG_COLUMNS,
    MONEY_COLUMNS,
    MONEY_PATTERN,
    TYPES,
)
from pachflow_stagekit import excerpt

_MONEY = f"(?:{MONEY_PATTERN.pattern})"
_MONEY_RE = f"^{_MONEY}$"
_CUSTOMER_RE = f"^(?:{CUSTOMER_PATTERN.pattern})$"
_MERCHANT_RE = "^M[0-9]+$"
_STEP_RE = "^[0-9]{1,9}$"
_FLAGS = ("0", "1")

_OTHER_TYPES = "|".join(t for t in TYPES if t != "PAYMENT")
#: One whole line (terminator included) that passes every rule below: checking raw lines
#: with one RE2 pass is about 4x cheaper than the per-column checks, which only run (to say
#: exactly what is wrong) on blocks where some line fails this.
ROW_RE = (
    f"^[0-9]{{1,9}},(?:PAYMENT,{_MONEY},C[0-9]+,{_MONEY},{_MONEY},M[0-9]+"
    f"|(?:{_OTHER_TYPES}),{_MONEY},C[0-9]+,{_MONEY},{_MONEY},C[0-9]+)"
    f",{_MONEY},{_MONEY},[01],[01]\r?\n?$"
)

EXPECTED = {
    "step": "a whole number of at most 9 digits",
    "type": f"one of {', '.join(TYPES)}",
    **dict.fromkeys(MONEY_COLUMNS, "a non-negative number like 9839.64 or 1.0E7"),
    "nameOrig": "a customer id C<digits>",
    "nameDest": "M<digits> for PAYMENT, C<digits> for other types",
    **dict.fromkeys(FLAG_COLUMNS, "0 or 1"),
}
_TOO_LARGE = "a number that fits a 64-bit float"
_SCHEMA = TRANSACTIONS.stamped_schema()


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is and what was expected."""

    line: int
    column: str
    value: str
    expected: str

    def describe(self) -> str:
        where = f"line {self.line} column {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {excerpt(self.value)} (expected {self.expected})"


@dataclass
class Checked:
    """The good rows typed per the contract, plus what was wrong with the others."""

    typed: pa.RecordBatch
    good_lines: np.ndarray
    good_strings: pa.RecordBatch
    #: bad rows: (line, problems, raw row text); blank lines are not listed here
    rejected: list[tuple[int, list[Problem], str]]
    blank_lines: int


def _column_checks(batch: pa.RecordBatch) -> dict[str, pa.Array]:
    """A boolean 'ok' array per column (vectorised; RE2 full matches)."""
    col = batch.column
    ok: dict[str, pa.Array] = {
        "step": pc.match_substring_regex(col("step"), _STEP_RE),
        "type": pc.is_in(col("type"), value_set=pa.array(TYPES)),
        "nameOrig": pc.match_substring_regex(col("nameOrig"), _CUSTOMER_RE),
    }
    for name in MONEY_COLUMNS:
        ok[name] = pc.match_substring_regex(col(name), _MONEY_RE)
    is_merchant = pc.match_substring_regex(col("nameDest"), _MERCHANT_RE)
    is_customer = pc.match_substring_regex(col("nameDest"), _CUSTOMER_RE)
    is_payment = pc.equal(col("type"), "PAYMENT")
    ok["nameDest"] = pc.if_else(is_payment, is_merchant, is_customer)
    for name in FLAG_COLUMNS:
        ok[name] = pc.is_in(col(name), value_set=pa.array(_FLAGS))
    return ok


def _cast(batch: pa.RecordBatch) -> pa.RecordBatch:
    arrays = [batch.column(f.name).cast(f.type) for f in _SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=_SCHEMA)


def _row_text(batch: pa.RecordBatch, index: int) -> str:
    return ",".join(str(batch.column(i)[index].as_py()) for i in range(batch.num_columns))


def lines_ok(text: pa.Array) -> bool:
    """True when every raw line passes ROW_RE (then no per-column check is needed)."""
    return len(text) == 0 or bool(pc.all(pc.match_substring_regex(text, ROW_RE)).as_py())


def check_batch(
    batch: pa.RecordBatch,
    lines: np.ndarray,
    text: pa.Array | None = None,
    prechecked: bool = False,
) -> Checked:
    """Validate every value; cast the rows that pass; describe the ones that do not.

    With `text` (the same rows as raw lines, nothing skipped by the parser) a block whose
    lines all pass ROW_RE skips the per-column checks; `prechecked` says the caller has
    already found that they do.
    """
    problems: dict[int, list[Problem]] = {}
    batch, lines, blank_rows = _without_blank_rows(batch, lines)
    if blank_rows:
        text = None  # no longer the same rows
    if prechecked or (text is not None and len(text) == batch.num_rows and lines_ok(text)):
        all_ok = None
    else:
        ok = _column_checks(batch)
        all_ok = ok["step"]
        for name, mask in ok.items():
            if name != "step":
                all_ok = pc.and_(all_ok, mask)
    if all_ok is not None and not pc.all(all_ok).as_py():
        _describe(batch, lines, ok, all_ok, problems)
        good = batch.filter(all_ok)
        good_lines = lines[np.asarray(all_ok, dtype=bool)]
    else:
        good, good_lines = batch, lines
    typed = _cast(good)
    # The regex admits 1e999, which casts to inf: reject those too (rare path).
    finite = None
    for name in MONEY_COLUMNS:
        f = pc.is_finite(typed.column(name))
        finite = f if finite is None else pc.and_(finite, f)
    if finite is not None and not pc.all(finite).as_py():
        bad = np.flatnonzero(~np.asarray(finite, dtype=bool))
        for i in bad:
            for name in MONEY_COLUMNS:
                if not np.isfinite(typed.column(name)[i].as_py()):
                    problems.setdefault(int(good_lines[i]), []).append(
                        Problem(int(good_lines[i]), name, good.column(name)[i].as_py(), _TOO_LARGE)
                    )
        keep = np.asarray(finite, dtype=bool)
        problems_rows = {int(good_lines[i]): _row_text(good, int(i)) for i in bad}
        typed, good, good_lines = typed.filter(finite), good.filter(finite), good_lines[keep]
    else:
        problems_rows = {}
    rejected, blank = _rejected_rows(batch, lines, problems, problems_rows)
    return Checked(typed, good_lines, good, rejected, blank + blank_rows)


def _without_blank_rows(
    batch: pa.RecordBatch, lines: np.ndarray
) -> tuple[pa.RecordBatch, np.ndarray, int]:
    """Wholly blank lines (every field empty) counted and dropped, vectorised: a file of
    blank lines must not become a Python object per line."""
    if not batch.num_rows:
        return batch, lines, 0
    # A blank line has an empty first field: most batches have none, and are done after
    # one column (2.5 s of a full-size split when every column was measured).
    if not pc.any(pc.equal(pc.binary_length(batch.column(0)), 0)).as_py():
        return batch, lines, 0
    blank = None
    for column in batch.columns:
        empty = pc.equal(pc.utf8_length(column), 0)
        blank = empty if blank is None else pc.and_(blank, empty)
    count = pc.sum(blank).as_py() or 0
    if not count:
        return batch, lines, 0
    keep = pc.invert(blank)
    return batch.filter(keep), lines[np.asarray(keep, dtype=bool)], count


def _describe(
    batch: pa.RecordBatch,
    lines: np.ndarray,
    ok: dict[str, pa.Array],
    all_ok: pa.Array,
    problems: dict[int, list[Problem]],
) -> None:
    bad_rows = np.flatnonzero(~np.asarray(all_ok, dtype=bool))
    for name, mask in ok.items():
        col_bad = bad_rows[~np.asarray(mask, dtype=bool)[bad_rows]]
        if col_bad.size == 0:
            continue
        values = batch.column(name).take(pa.array(col_bad)).to_pylist()
        for i, value in zip(col_bad, values, strict=True):
            line = int(lines[i])
            problems.setdefault(line, []).append(Problem(line, name, value, EXPECTED[name]))


def _rejected_rows(
    batch: pa.RecordBatch,
    lines: np.ndarray,
    problems: dict[int, list[Problem]],
    texts: dict[int, str],
) -> tuple[list[tuple[int, list[Problem], str]], int]:
    """Bad rows in line order; wholly blank lines are counted, not rejected."""
    if not problems:
        return [], 0
    rejected, blank = [], 0
    for line in sorted(problems):
        # lines are ascending, so the row of a line number is a binary search away
        text = texts.get(line) or _row_text(batch, int(np.searchsorted(lines, line)))
        if text.strip(",") == "":
            blank += 1
            continue
        order = list(EXPECTED)
        probs = sorted(problems[line], key=lambda p: order.index(p.column))
        rejected.append((line, probs, text))
    return rejected, blank
