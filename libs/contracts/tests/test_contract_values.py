"""Value checks every reader runs before Spark starts: a null where the contract has none,
a NaN or infinite double, or a negative amount/balance/count is one ContractError naming
file and column (the stages turn it into exit 2). Properties over random tables: valid
ones pass, one bad value anywhere is found and named."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pachflow_contracts import PARTIALS, TRANSACTIONS, ContractError, contract
from pachflow_contracts.contract import Contract
from pachflow_testing.features import features_table, partials_table
from pachflow_testing.fuzz import fuzz_settings

CONTRACTS = {"transactions": TRANSACTIONS, "partials": PARTIALS}


def _valid(contract: Contract, rows: int, draw_int, draw_float) -> pa.Table:
    columns = {}
    for field in contract.schema:
        if pa.types.is_string(field.type):
            columns[field.name] = pa.array([f"C{i}" for i in range(rows)], field.type)
        elif pa.types.is_floating(field.type):
            low = 0.0 if field.name in contract.non_negative else -1e6
            columns[field.name] = pa.array([draw_float(low) for _ in range(rows)], field.type)
        else:
            low = 0 if field.name in contract.non_negative else -100
            columns[field.name] = pa.array([draw_int(low) for _ in range(rows)], field.type)
    return pa.table(columns, schema=contract.schema)


@st.composite
def tables(draw, contract: Contract) -> pa.Table:
    rows = draw(st.integers(1, 20))
    return _valid(
        contract,
        rows,
        lambda low: draw(st.integers(low, 100)),
        lambda low: draw(st.floats(low, 1e9, allow_nan=False, allow_infinity=False)),
    )


@st.composite
def broken(draw) -> tuple[Contract, pa.Table, str]:
    contract = CONTRACTS[draw(st.sampled_from(sorted(CONTRACTS)))]
    table = draw(tables(contract))
    kinds = []
    for field in contract.schema:
        kinds.append((field.name, None))  # every column is non-nullable
        if pa.types.is_floating(field.type):
            kinds += [(field.name, math.nan), (field.name, math.inf), (field.name, -math.inf)]
        if field.name in contract.non_negative:
            kinds.append((field.name, -1))
    name, value = draw(st.sampled_from(kinds))
    row = draw(st.integers(0, table.num_rows - 1))
    values = table.column(name).to_pylist()
    values[row] = value if value is None or not isinstance(values[row], int) else int(value)
    column = pa.array(values, table.schema.field(name).type)
    index = table.schema.get_field_index(name)
    return contract, table.set_column(index, table.schema.field(name), column), name


@fuzz_settings(100)
@given(data=st.data())
def test_valid_values_pass(data):
    contract = CONTRACTS[data.draw(st.sampled_from(sorted(CONTRACTS)))]
    contract.check_values(data.draw(tables(contract)), "f.parquet")


@fuzz_settings(200)
@given(case=broken())
def test_one_bad_value_anywhere_is_named_with_file_and_column(case):
    contract, table, column = case
    with pytest.raises(ContractError) as raised:
        contract.check_values(table, "in/shard=00/a.parquet")
    message = str(raised.value)
    assert message.startswith(f"in/shard=00/a.parquet: column {column!r}: 1 ")
    assert "\n" not in message


def test_check_files_reads_the_values_of_every_file(tmp_path):
    good = partials_table(features_table(50))
    amounts = good.column("amount_sum").to_pylist()
    amounts[7] = -5.0
    bad = good.set_column(
        good.schema.get_field_index("amount_sum"), "amount_sum", pa.array(amounts)
    )
    path = tmp_path / "part.parquet"
    pq.write_table(bad.cast(PARTIALS.stamped_schema()), path)
    with pytest.raises(
        ContractError, match=r"column 'amount_sum': 1 negative value\(s\), the first in row 8"
    ):
        PARTIALS.check_files([path])


def test_check_files_counts_and_places_bad_values_across_the_files_batches(tmp_path, monkeypatch):
    """A file is read batch by batch (bounded memory): the error still gives the whole
    file's count and the first bad row's number in the file, not in its batch."""
    good = partials_table(features_table(30))
    amounts = good.column("amount_sum").to_pylist()
    amounts[25] = -1.0
    amounts[12] = -2.0
    bad = good.set_column(
        good.schema.get_field_index("amount_sum"), "amount_sum", pa.array(amounts)
    ).cast(PARTIALS.stamped_schema())
    path = tmp_path / "part.parquet"
    pq.write_table(bad, path)
    monkeypatch.setattr(contract, "CHECK_BATCH_ROWS", 10)  # batches: rows 1-10, 11-20, 21-30
    with pytest.raises(
        ContractError, match=r"column 'amount_sum': 2 negative value\(s\), the first in row 13 "
    ):
        PARTIALS.check_files([path])
