"""Vectorised CSV rendering of generated columns, byte-for-byte in the PaySim1 style.

Money is kept in integer cents and printed as `<units><fraction>`: the units with Arrow's
integer->string cast (4x faster than its float cast), the fraction (`.0`, `.5`, `.64`, the
way Java prints a double with at most 2 decimals) from a lookup table that also carries the
separator and whatever constant text follows. Each line is then one element-wise join; the
joined array's data buffer is the CSV text itself. Formatting dominates the generator's
time, hence no per-row Python anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pachflow_paysim.format import MAX_STEP, TYPES

#: Values from 10,000,000 on are printed like Java's Double.toString (`1.0E7`) on request.
JAVA_NOTATION_FROM_CENTS = 10_000_000 * 100
#: Fraction index meaning "no fraction": the value is already complete (Java notation).
_NO_FRACTION = 100


def _fraction(cents: int) -> str:
    if cents == _NO_FRACTION:
        return ""
    return "." + f"{cents:02d}".rstrip("0") if cents else ".0"


def _after(follows: list[str]) -> pa.Array:
    """Table indexed by fraction + 101 * k: the fraction, then follows[k]."""
    return pa.array([_fraction(c) + text for text in follows for c in range(_NO_FRACTION + 1)])


_STEPS = pa.array([f"{s}," for s in range(MAX_STEP + 1)])
_TYPES = pa.array([f"{t}," for t in TYPES])
_AFTER_AMOUNT = _after([",C"])  # nameOrig is always a customer
_AFTER_MONEY = _after([","])
_AFTER_NEW_ORIG = _after([",C", ",M"])  # k: destination is a merchant
_AFTER_NEW_DEST = _after([f",{f},{g}\n" for f in (0, 1) for g in (0, 1)])  # k: 2*fraud+flag
_EXPONENTS = pa.array([f"E{e}" for e in range(32)])
_K = _NO_FRACTION + 1


def _money(cents: np.ndarray, java_notation: bool) -> tuple[pa.Array, np.ndarray]:
    """Units of money in cents as strings, and the index of their fraction."""
    units = pc.cast(pa.array(cents // 100), pa.string())
    fraction = cents % 100
    if java_notation:
        big = cents >= JAVA_NOTATION_FROM_CENTS
        if big.any():
            units = pc.replace_with_mask(units, pa.array(big), _java(cents[big]))
            fraction[big] = _NO_FRACTION
    return units, fraction


def _java(cents: np.ndarray) -> pa.Array:
    """Java's Double.toString for values >= 1e7 with at most 2 decimals: `9.244551664E7`."""
    units = cents // 100
    exponent = np.zeros(len(cents), dtype=np.int64)
    power = 10
    while (more := units >= power).any():
        exponent += more
        power *= 10
    digits = cents.copy()
    while (trailing := digits % 10 == 0).any():
        digits[trailing] //= 10
    text = pc.cast(pa.array(digits), pa.string())
    rest = pc.utf8_slice_codeunits(text, 1, 64)
    rest = pc.if_else(pc.equal(pc.binary_length(rest), 0), "0", rest)
    head = pc.utf8_slice_codeunits(text, 0, 1)
    return pc.binary_join_element_wise(head, ".", rest, pc.take(_EXPONENTS, exponent), "")


@dataclass(frozen=True)
class PaySimRows:
    """Rows as typed columns (money in integer cents): what the CSV is rendered from."""

    step: np.ndarray  # int16, 1..743
    type_code: np.ndarray  # int8, index into format.TYPES
    amount: np.ndarray  # int64 cents
    name_orig: np.ndarray  # int64, printed as C<id>
    old_org: np.ndarray
    new_orig: np.ndarray
    dest_is_merchant: np.ndarray  # bool: M<id> (PAYMENT) else C<id>
    name_dest: np.ndarray
    old_dest: np.ndarray
    new_dest: np.ndarray
    is_fraud: np.ndarray  # int8 0/1
    is_flagged: np.ndarray  # int8 0/1

    def __len__(self) -> int:
        return len(self.step)

    def to_csv(self, java_notation: bool = False) -> pa.Buffer:
        """These rows as PaySim1 CSV lines (each ending in `\\n`, no header), one buffer."""
        if len(self.step) == 0:
            return pa.py_buffer(b"")
        amount_s, amount_f = _money(self.amount, java_notation)
        old_org_s, old_org_f = _money(self.old_org, java_notation)
        new_orig_s, new_orig_f = _money(self.new_orig, java_notation)
        old_dest_s, old_dest_f = _money(self.old_dest, java_notation)
        new_dest_s, new_dest_f = _money(self.new_dest, java_notation)
        merchant = self.dest_is_merchant.astype(np.int64)
        tail = new_dest_f + _K * (
            2 * self.is_fraud.astype(np.int64) + self.is_flagged.astype(np.int64)
        )
        lines = pc.binary_join_element_wise(
            pc.take(_STEPS, self.step),
            pc.take(_TYPES, self.type_code),
            amount_s,
            pc.take(_AFTER_AMOUNT, amount_f),
            pc.cast(pa.array(self.name_orig), pa.string()),
            ",",
            old_org_s,
            pc.take(_AFTER_MONEY, old_org_f),
            new_orig_s,
            pc.take(_AFTER_NEW_ORIG, new_orig_f + _K * merchant),
            pc.cast(pa.array(self.name_dest), pa.string()),
            ",",
            old_dest_s,
            pc.take(_AFTER_MONEY, old_dest_f),
            new_dest_s,
            pc.take(_AFTER_NEW_DEST, tail),
            "",
        )
        # No nulls, so the data buffer between the first and last offset is exactly the text.
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset :]
        start, end = int(offsets[0]), int(offsets[len(lines)])
        return lines.buffers()[2].slice(start, end - start)
