"""Property: etl's input check takes any bytes as a shard's Parquet file and either
accepts it (the footer reads, the schema is the contract's, the row count is the
footer's) or raises BadInput (exit 2) naming the file -- never another exception."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import event, example, given
from hypothesis import strategies as st

from pachflow_contracts import TRANSACTIONS
from pachflow_etl.inputs import discover
from pachflow_stagekit import BadInput
from pachflow_testing.fuzz import fuzz_settings


def _valid_parquet() -> bytes:
    rows = {
        "step": [1, 2],
        "type": ["PAYMENT", "TRANSFER"],
        "amount": [9839.64, 181.0],
        "nameOrig": ["C1", "C2"],
        "oldbalanceOrg": [170136.0, 181.0],
        "newbalanceOrig": [160296.36, 0.0],
        "nameDest": ["M1", "C3"],
        "oldbalanceDest": [0.0, 0.0],
        "newbalanceDest": [0.0, 0.0],
        "isFraud": [0, 1],
        "isFlaggedFraud": [0, 0],
    }
    table = pa.Table.from_pydict(rows, schema=TRANSACTIONS.stamped_schema())
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


VALID = _valid_parquet()


@st.composite
def _damaged(draw: st.DrawFn) -> bytes:
    """The valid file cut short, with bytes overwritten (often in the footer), or noise."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=400))
    data = bytearray(VALID)
    if kind < 4:
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 8))):
        near_end = draw(st.booleans())
        low = max(0, len(data) - 600) if near_end else 0
        data[draw(st.integers(low, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


#: Found by this test: a column name that is not UTF-8 made pyarrow raise
#: UnicodeDecodeError, a traceback instead of exit 2.
NON_UTF8_NAME = VALID.replace(b"\x18\x0enewbalanceOrig", b"\x18\x0e\x80ewbalanceOrig", 1)


@fuzz_settings(examples=200)
@given(data=_damaged())
@example(data=NON_UTF8_NAME)
def test_fuzz_etl_input_check_accepts_or_names_the_file(data):
    with tempfile.TemporaryDirectory() as tmp:
        shard = Path(tmp) / "in" / "shard=00"
        shard.mkdir(parents=True)
        path = shard / "f.parquet"
        path.write_bytes(data)
        try:
            sources = discover(Path(tmp) / "in")
        except BadInput as exc:
            event("rejected")
            message = exc.format_message()
            assert message.startswith(f"{path}: ") and message.isprintable(), message
            assert len(message) < 1000, message
            return
        event("accepted")
        (found,) = sources
        assert found.path == path and found.rows == pq.read_metadata(path).num_rows
