"""etl's per-customer feature definitions, for the benchmarks that compute the same
features outside the pipeline (monolithic.py, seed_design.py).

Imported from the etl package, never re-implemented here: a change to etl's features
changes what these benchmarks compute too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def customer_features(transactions: DataFrame) -> DataFrame:
    """One row per customer (contract `features` v1) from a DataFrame of transactions
    (contract `transactions` v1 columns): etl's partials over all rows at once (rows
    shuffled by customer into the session's shuffle partitions, aggregated once: one
    partial row per customer), then the features' formulas as every reader applies them."""
    from pachflow_features import derive_features
    from pachflow_features.partials import spark_partials

    partitions = int(transactions.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return derive_features(spark_partials(transactions, partitions=partitions))
