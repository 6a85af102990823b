"""`transactions` v1: what split writes and etl reads.

One row per PaySim transaction, with PaySim's own column names, typed. Files are laid out
as `shard=NN/<source-file-stem>.parquet`; every row of one customer (`nameOrig`) is in the
same shard.
"""

import pyarrow as pa

from pachflow_contracts.contract import Contract

TRANSACTIONS = Contract(
    name="transactions",
    version=1,
    schema=pa.schema(
        [
            pa.field("step", pa.int32(), nullable=False),
            pa.field("type", pa.string(), nullable=False),
            pa.field("amount", pa.float64(), nullable=False),
            pa.field("nameOrig", pa.string(), nullable=False),
            pa.field("oldbalanceOrg", pa.float64(), nullable=False),
            pa.field("newbalanceOrig", pa.float64(), nullable=False),
            pa.field("nameDest", pa.string(), nullable=False),
            pa.field("oldbalanceDest", pa.float64(), nullable=False),
            pa.field("newbalanceDest", pa.float64(), nullable=False),
            pa.field("isFraud", pa.int8(), nullable=False),
            pa.field("isFlaggedFraud", pa.int8(), nullable=False),
        ]
    ),
    non_negative=frozenset(
        {
            "step",
            "amount",
            "oldbalanceOrg",
            "newbalanceOrig",
            "oldbalanceDest",
            "newbalanceDest",
            "isFraud",
            "isFlaggedFraud",
        }
    ),
)

#: Shard directories are named `shard=NN` (Hive-style, so Spark can read them as a column).
SHARD_DIR_FORMAT = "shard={:02d}"
