"""The per-customer partial aggregates of one source file (contract `partials` v1).

Every column is additive (a count, a sum, a min or a max), so the features of a customer
spread over several source files are exactly the reduction of its partial rows
(`pachflow_contracts.PARTIAL_REDUCTIONS`); means and shares are computed from them when
the features are read (`pachflow_features`).

Two engines compute the same columns: Arrow (in-process, for every datum that fits the
etl process's memory: pachflow_etl.engine) and Spark (for larger ones). Both group by
nameOrig and apply the same row expressions; tests assert they agree. pyspark is imported
inside the Spark functions only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from pachflow_contracts import ID_COLUMN, PARTIAL_REDUCTIONS, PARTIALS
from pachflow_spark import spark_schema

if TYPE_CHECKING:  # the Arrow engine runs without pyspark imported (no JVM, no import cost)
    from pyspark.sql import Column, DataFrame

#: partials count column -> PaySim transaction type it counts.
TYPE_COUNTS = {
    "n_cash_out": "CASH_OUT",
    "n_payment": "PAYMENT",
    "n_cash_in": "CASH_IN",
    "n_transfer": "TRANSFER",
    "n_debit": "DEBIT",
}
#: partials sum column -> the input column it adds up.
BALANCE_SUMS = {
    "amount_sum": "amount",
    "oldbalanceOrg_sum": "oldbalanceOrg",
    "newbalanceOrig_sum": "newbalanceOrig",
    "oldbalanceDest_sum": "oldbalanceDest",
    "newbalanceDest_sum": "newbalanceDest",
}
#: partials column -> the row value it reduces, where that is not a plain input column.
ROW_VALUES = {
    "amount_max": "amount",
    "error_balance_orig_sum": "error_balance_orig",
    "error_balance_orig_max": "error_balance_orig",
    "error_balance_dest_sum": "error_balance_dest",
    "error_balance_dest_max": "error_balance_dest",
    "n_drain": "drain",
    "n_dest_zero": "dest_zero",
    "first_step": "step",
    "last_step": "step",
    "fraud_tx_count": "isFraud",
    "is_flagged": "isFlaggedFraud",
    **BALANCE_SUMS,
}


def source_of(col: str) -> str:
    """The row value (an input column or a `*_rows` entry) partial column `col` reduces."""
    return col if col in TYPE_COUNTS else ROW_VALUES[col]


def _spark_rows() -> dict[str, Column]:
    """The per-row values partial columns reduce (Spark)."""
    from pyspark.sql import functions as F

    c = F.col
    return {
        "error_balance_orig": c("newbalanceOrig") + c("amount") - c("oldbalanceOrg"),
        "error_balance_dest": c("oldbalanceDest") + c("amount") - c("newbalanceDest"),
        "drain": ((c("amount") == c("oldbalanceOrg")) & (c("newbalanceOrig") == 0)).cast("long"),
        "dest_zero": ((c("oldbalanceDest") == 0) & (c("newbalanceDest") == 0)).cast("long"),
        **{col: (c("type") == t).cast("long") for col, t in TYPE_COUNTS.items()},
    }


def spark_partials(transactions: DataFrame, partitions: int | None = None) -> DataFrame:
    """One row per nameOrig: exactly the PARTIALS columns, typed.

    With `partitions`, rows are first hash-partitioned by customer and aggregated there:
    PaySim customers have ~1 transaction each, so map-side partial aggregation would merge
    nothing and shuffle 23 aggregation buffers per row instead of the 11 input columns.
    """
    from pyspark.sql import functions as F

    if partitions:
        transactions = transactions.repartition(partitions, ID_COLUMN)
    rows = _spark_rows()
    ops = {"sum": F.sum, "min": F.min, "max": F.max}
    aggs = [F.count(F.lit(1)).alias("n_tx")]
    for col, op in PARTIAL_REDUCTIONS.items():
        if col == "n_tx":
            continue
        source = source_of(col)
        aggs.append(ops[op](rows[source] if source in rows else F.col(source)).alias(col))
    grouped = transactions.groupBy(ID_COLUMN).agg(*aggs)
    return grouped.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name) for f in spark_schema(PARTIALS.schema)]
    )


def _arrow_rows(t: pa.Table) -> dict[str, pa.ChunkedArray]:
    """The per-row values partial columns reduce (Arrow), same definitions as Spark's."""
    add, sub, eq = pc.add, pc.subtract, pc.equal

    def as_long(mask: Any) -> Any:
        return pc.cast(mask, pa.int64())

    return {
        "error_balance_orig": sub(add(t["newbalanceOrig"], t["amount"]), t["oldbalanceOrg"]),
        "error_balance_dest": sub(add(t["oldbalanceDest"], t["amount"]), t["newbalanceDest"]),
        "drain": as_long(pc.and_(eq(t["amount"], t["oldbalanceOrg"]), eq(t["newbalanceOrig"], 0))),
        "dest_zero": as_long(pc.and_(eq(t["oldbalanceDest"], 0), eq(t["newbalanceDest"], 0))),
        **{col: as_long(eq(t["type"], kind)) for col, kind in TYPE_COUNTS.items()},
        "isFraud": pc.cast(t["isFraud"], pa.int64()),
        "isFlaggedFraud": pc.cast(t["isFlaggedFraud"], pa.int32()),
    }


def arrow_partials(transactions: pa.Table) -> pa.Table:
    """The same rows as `spark_partials`, computed with pyarrow in this process
    (single-threaded, so the same input always gives the same output)."""
    rows = _arrow_rows(transactions)
    rows["n_tx"] = pa.chunked_array([pa.repeat(pa.scalar(1, pa.int64()), transactions.num_rows)])
    values = {ID_COLUMN: transactions[ID_COLUMN]}
    aggs = []
    for i, (col, op) in enumerate(PARTIAL_REDUCTIONS.items()):
        source = "n_tx" if col == "n_tx" else source_of(col)
        values[f"v{i}"] = rows[source] if source in rows else transactions[source]
        aggs.append((f"v{i}", op, col))
    table = pa.table(values)
    grouped = table.group_by(ID_COLUMN, use_threads=False).aggregate(
        [(name, op) for name, op, _ in aggs]
    )
    renamed = {f"{name}_{op}": col for name, op, col in aggs}
    columns = {renamed.get(n, n): grouped[n] for n in grouped.column_names}
    return pa.Table.from_arrays(
        [pc.cast(columns[f.name], f.type) for f in PARTIALS.schema],
        schema=PARTIALS.stamped_schema(),
    )
