"""`partials` v1: what etl writes and every features reader merges. One row per
(customer, source file): exact, additive per-customer aggregates of one source file's rows
of one shard, so a new raw file adds rows here without touching the old ones, and deleting
a raw file removes exactly its rows.

The FEATURES row of a customer (one row per customer, what a model sees) is computed at
read time: reduce the customer's partial rows with PARTIAL_REDUCTIONS, then apply
FEATURE_FORMULAS. Both are data, evaluated by `pachflow_features` (Spark and Arrow).
"""

import pyarrow as pa

from pachflow_contracts.contract import Contract
from pachflow_contracts.features import ID_COLUMN

TYPE_COUNTS = ["n_cash_out", "n_payment", "n_cash_in", "n_transfer", "n_debit"]
BALANCE_SUMS = [
    "oldbalanceOrg_sum",
    "newbalanceOrig_sum",
    "oldbalanceDest_sum",
    "newbalanceDest_sum",
]

#: Partial column -> how two partial rows of one customer combine (associative, exact for
#: integers; for doubles up to the order of additions).
PARTIAL_REDUCTIONS: dict[str, str] = {
    "n_tx": "sum",
    **dict.fromkeys(TYPE_COUNTS, "sum"),
    "amount_sum": "sum",
    "amount_max": "max",
    **dict.fromkeys(BALANCE_SUMS, "sum"),
    "error_balance_orig_sum": "sum",
    "error_balance_orig_max": "max",
    "error_balance_dest_sum": "sum",
    "error_balance_dest_max": "max",
    "n_drain": "sum",
    "n_dest_zero": "sum",
    "first_step": "min",
    "last_step": "max",
    "fraud_tx_count": "sum",
    "is_flagged": "max",
}

_TYPES = {"first_step": pa.int32(), "last_step": pa.int32(), "is_flagged": pa.int32()}
_DOUBLES = {c for c in PARTIAL_REDUCTIONS if c.endswith(("_sum", "_max"))}

PARTIALS = Contract(
    name="partials",
    version=1,
    schema=pa.schema(
        [pa.field(ID_COLUMN, pa.string(), nullable=False)]
        + [
            pa.field(c, _TYPES.get(c, pa.float64() if c in _DOUBLES else pa.int64()), False)
            for c in PARTIAL_REDUCTIONS
        ]
    ),
    # everything but the balance errors, which are differences and may be negative
    non_negative=frozenset(c for c in PARTIAL_REDUCTIONS if not c.startswith("error_balance")),
)

#: FEATURES column -> (operation, partial column) on a customer's reduced partials:
#: "copy" the value, "per_tx" divide by n_tx (means and shares), "any" 1 if > 0 else 0.
FEATURE_FORMULAS: dict[str, tuple[str, str]] = {
    ID_COLUMN: ("copy", ID_COLUMN),
    "n_tx": ("copy", "n_tx"),
    **{c: ("copy", c) for c in TYPE_COUNTS},
    "amount_mean": ("per_tx", "amount_sum"),
    "amount_total": ("copy", "amount_sum"),
    "amount_max": ("copy", "amount_max"),
    "oldbalanceOrg_mean": ("per_tx", "oldbalanceOrg_sum"),
    "newbalanceOrig_mean": ("per_tx", "newbalanceOrig_sum"),
    "oldbalanceDest_mean": ("per_tx", "oldbalanceDest_sum"),
    "newbalanceDest_mean": ("per_tx", "newbalanceDest_sum"),
    "error_balance_orig_mean": ("per_tx", "error_balance_orig_sum"),
    "error_balance_orig_max": ("copy", "error_balance_orig_max"),
    "error_balance_dest_mean": ("per_tx", "error_balance_dest_sum"),
    "error_balance_dest_max": ("copy", "error_balance_dest_max"),
    "drain_share": ("per_tx", "n_drain"),
    "dest_zero_share": ("per_tx", "n_dest_zero"),
    "first_step": ("copy", "first_step"),
    "last_step": ("copy", "last_step"),
    "fraud_tx_count": ("copy", "fraud_tx_count"),
    "is_fraud": ("any", "fraud_tx_count"),
    "is_flagged": ("copy", "is_flagged"),
}
