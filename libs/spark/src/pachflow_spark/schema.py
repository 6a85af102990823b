"""Arrow schemas (the stage contracts) as Spark schemas, for reading with an explicit
schema (no inference) and casting results to a contract's types."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import types as T


def spark_schema(schema: pa.Schema) -> T.StructType:
    """The same columns, in order, as Spark types (nullable: Spark reads and writes
    Parquet columns as optional). pyspark is imported here, not with the module: a stage
    that imports pachflow_spark must start in well under a second (issue 26)."""
    from pyspark.sql import types as T

    types = {
        pa.string(): T.StringType(),
        pa.int64(): T.LongType(),
        pa.int32(): T.IntegerType(),
        pa.int8(): T.ByteType(),
        pa.float64(): T.DoubleType(),
    }
    try:
        return T.StructType([T.StructField(f.name, types[f.type]) for f in schema])
    except KeyError as exc:
        raise ValueError(f"no Spark type for Arrow type {exc.args[0]}") from None
