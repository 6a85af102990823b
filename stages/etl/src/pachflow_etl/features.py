"""The per-customer features (the FEATURES contract) as one Spark aggregation.

Means are written as sums divided by the row count: one count for all of them instead of
a hidden count per `avg`, which keeps the aggregation buffer (and the shuffle) smaller.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pachflow_contracts import FEATURES

#: FEATURES count column -> PaySim transaction type it counts.
TYPE_COUNTS = {
    "n_cash_out": "CASH_OUT",
    "n_payment": "PAYMENT",
    "n_cash_in": "CASH_IN",
    "n_transfer": "TRANSFER",
    "n_debit": "DEBIT",
}
#: FEATURES mean column -> the input column it averages.
BALANCE_MEANS = {
    "oldbalanceOrg_mean": "oldbalanceOrg",
    "newbalanceOrig_mean": "newbalanceOrig",
    "oldbalanceDest_mean": "oldbalanceDest",
    "newbalanceDest_mean": "newbalanceDest",
}

#: Spark type per Arrow type used in FEATURES (Parquet written by Spark reads back as these).
_SPARK_TYPES = {"string": T.StringType(), "int64": T.LongType(), "double": T.DoubleType()}
_SPARK_TYPES["int32"] = T.IntegerType()


def error_balance_orig() -> Column:
    """What the origin account lost beyond the amount: newbalanceOrig + amount - oldbalanceOrg."""
    c = F.col
    return c("newbalanceOrig") + c("amount") - c("oldbalanceOrg")


def error_balance_dest() -> Column:
    """What the destination failed to receive: oldbalanceDest + amount - newbalanceDest."""
    c = F.col
    return c("oldbalanceDest") + c("amount") - c("newbalanceDest")


def customer_features(
    transactions: DataFrame, keys: tuple[str, ...] = (), partitions: int | None = None
) -> DataFrame:
    """One row per (`keys`..., nameOrig): `keys` then exactly the FEATURES columns, typed.

    With `partitions`, the transactions are first hash-partitioned by customer into that
    many partitions and aggregated there. PaySim customers have ~1 transaction each, so
    Spark's usual map-side partial aggregation merges nothing and would shuffle the
    aggregation buffers (24 values per row) instead of the 11 input columns: on the
    full data set the shuffle drops from 459 to 280 MB and the job takes ~1.3 s less.
    """
    c = F.col
    if partitions:
        transactions = transactions.repartition(partitions, *keys, "nameOrig")
    drains = (c("amount") == c("oldbalanceOrg")) & (c("newbalanceOrig") == 0)
    dest_zero = (c("oldbalanceDest") == 0) & (c("newbalanceDest") == 0)
    sums = {
        "amount_total": c("amount"),
        **{f"_{col}_sum": c(src) for col, src in BALANCE_MEANS.items()},
        "_ebo_sum": error_balance_orig(),
        "_ebd_sum": error_balance_dest(),
    }
    grouped = transactions.groupBy(*keys, "nameOrig").agg(
        F.count(F.lit(1)).alias("n_tx"),
        *[F.sum((c("type") == t).cast("long")).alias(col) for col, t in TYPE_COUNTS.items()],
        *[F.sum(expr).alias(name) for name, expr in sums.items()],
        F.max("amount").alias("amount_max"),
        F.max(error_balance_orig()).alias("error_balance_orig_max"),
        F.max(error_balance_dest()).alias("error_balance_dest_max"),
        F.sum(drains.cast("long")).alias("_drains"),
        F.sum(dest_zero.cast("long")).alias("_dest_zero"),
        F.min("step").alias("first_step"),
        F.max("step").alias("last_step"),
        F.sum("isFraud").alias("fraud_tx_count"),
        F.max("isFraud").alias("is_fraud"),
        F.max("isFlaggedFraud").alias("is_flagged"),
    )
    n = c("n_tx")
    derived = {
        "amount_mean": c("amount_total") / n,
        **{col: c(f"_{col}_sum") / n for col in BALANCE_MEANS},
        "error_balance_orig_mean": c("_ebo_sum") / n,
        "error_balance_dest_mean": c("_ebd_sum") / n,
        "drain_share": c("_drains") / n,
        "dest_zero_share": c("_dest_zero") / n,
    }
    out = [c(k) for k in keys]
    for f in FEATURES.schema:
        expr = derived.get(f.name, c(f.name))
        out.append(expr.cast(_SPARK_TYPES[str(f.type)]).alias(f.name))
    return grouped.select(*out)
