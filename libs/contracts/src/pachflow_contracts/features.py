"""`features` v1: one row per customer (`nameOrig`), what a model is trained on. Since etl
0.2 it is not a file contract any more: etl writes `partials` v1 and readers merge them
into these rows (`pachflow_features.read_features`).

`fraud_tx_count` is the seed's "sum of isFraud" feature; it is derived from the label,
so it is kept for analysis but is NOT a model input (see MODEL_INPUTS).
"""

import pyarrow as pa

from pachflow_contracts.contract import Contract

ID_COLUMN = "nameOrig"
LABEL_COLUMN = "is_fraud"

_COUNTS = [
    "n_tx",
    "n_cash_out",
    "n_payment",
    "n_cash_in",
    "n_transfer",
    "n_debit",
]
_MONEY = [
    "amount_mean",
    "amount_total",
    "amount_max",
    "oldbalanceOrg_mean",
    "newbalanceOrig_mean",
    "oldbalanceDest_mean",
    "newbalanceDest_mean",
    "error_balance_orig_mean",
    "error_balance_orig_max",
    "error_balance_dest_mean",
    "error_balance_dest_max",
    "drain_share",
    "dest_zero_share",
]
_STEPS = ["first_step", "last_step"]

#: The columns a model may learn from (no id, no label, nothing derived from the label).
MODEL_INPUTS: tuple[str, ...] = (*_COUNTS, *_MONEY, *_STEPS)

FEATURES = Contract(
    name="features",
    version=1,
    schema=pa.schema(
        [pa.field(ID_COLUMN, pa.string(), nullable=False)]
        + [pa.field(c, pa.int64(), nullable=False) for c in _COUNTS]
        + [pa.field(c, pa.float64(), nullable=False) for c in _MONEY]
        + [pa.field(c, pa.int32(), nullable=False) for c in _STEPS]
        + [
            pa.field("fraud_tx_count", pa.int64(), nullable=False),
            pa.field(LABEL_COLUMN, pa.int32(), nullable=False),
            pa.field("is_flagged", pa.int32(), nullable=False),
        ]
    ),
)
