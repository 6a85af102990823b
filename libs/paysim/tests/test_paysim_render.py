"""Number formatting of the generator: PaySim1's (Java's) way of printing money."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from pachflow_paysim.render import PaySimRows


def _plain(cents: int) -> str:
    """Java's Double.toString below 1e7 for a value with at most 2 decimals."""
    units, frac = divmod(cents, 100)
    return f"{units}.{f'{frac:02d}'.rstrip('0') or '0'}"


def _java(cents: int) -> str:
    """Java's Double.toString from 1e7 on: d.dddE<n>, shortest digits, at least one decimal."""
    sign, digits, exponent = (Decimal(cents).scaleb(-2)).normalize().as_tuple()
    assert sign == 0
    mantissa = "".join(map(str, digits))
    power = len(digits) + int(exponent) - 1
    return f"{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def _money_column(cents: list[int], java_notation: bool) -> list[str]:
    n = len(cents)
    zeros = np.zeros(n, dtype=np.int64)
    rows = PaySimRows(
        step=np.ones(n, dtype=np.int16),
        type_code=np.zeros(n, dtype=np.int8),
        amount=np.asarray(cents, dtype=np.int64),
        name_orig=np.arange(n, dtype=np.int64),
        old_org=zeros,
        new_orig=zeros,
        dest_is_merchant=np.zeros(n, dtype=bool),
        name_dest=np.arange(n, dtype=np.int64),
        old_dest=zeros,
        new_dest=zeros,
        is_fraud=np.zeros(n, dtype=np.int8),
        is_flagged=np.zeros(n, dtype=np.int8),
    )
    text = rows.to_csv(java_notation)
    return [line.split(",")[2] for line in text.to_pybytes().decode().splitlines()]


def test_money_is_printed_like_the_real_file() -> None:
    # Values from the real file's first rows, and edge cases of the fraction table.
    cents = [983964, 17013600, 16029636, 18100, 0, 1, 10, 50, 5, 99, 100, 999_999_999]
    assert _money_column(cents, java_notation=False) == [
        "9839.64",
        "170136.0",
        "160296.36",
        "181.0",
        "0.0",
        "0.01",
        "0.1",
        "0.5",
        "0.05",
        "0.99",
        "1.0",
        "9999999.99",
    ]


def test_large_values_stay_plain_without_java_notation() -> None:
    assert _money_column([1_000_000_000, 9_244_551_664], java_notation=False) == [
        "10000000.0",
        "92445516.64",
    ]


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (1_000_000_000, "1.0E7"),
        (1_234_567_890, "1.23456789E7"),
        (9_244_551_664, "9.244551664E7"),
        (10_000_000_050, "1.000000005E8"),
        (35_601_588_935, "3.5601588935E8"),
        (999_999_999, "9999999.99"),  # just below 1e7: plain, as Java prints it
    ],
)
def test_java_notation_vectors(cents: int, expected: str) -> None:
    assert _money_column([cents], java_notation=True) == [expected]


def test_random_money_matches_reference_formatting() -> None:
    rng = np.random.default_rng(7)
    cents = np.concatenate(
        [rng.integers(0, 10**6, 2000), rng.integers(0, 10**11, 2000), 10 ** np.arange(12)]
    ).tolist()
    assert _money_column(cents, java_notation=False) == [_plain(c) for c in cents]
    assert _money_column(cents, java_notation=True) == [
        _java(c) if c >= 10**9 else _plain(c) for c in cents
    ]


def test_no_rows_render_to_nothing() -> None:
    assert _money_column([], java_notation=True) == []
