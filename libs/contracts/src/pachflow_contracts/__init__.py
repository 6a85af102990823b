"""Versioned Parquet schemas passed between pipeline stages, and the check consumers run.

Each contract is owned by the stage that produces it (documented in that stage's README)
and checked by the stage that consumes it; it lives here so both use the same definition.
"""

from pachflow_contracts.contract import Contract, ContractError
from pachflow_contracts.features import FEATURES, ID_COLUMN, LABEL_COLUMN, MODEL_INPUTS
from pachflow_contracts.partials import FEATURE_FORMULAS, PARTIAL_REDUCTIONS, PARTIALS
from pachflow_contracts.predictions import DECISION_COLUMN, PREDICTIONS, SCORE_COLUMN
from pachflow_contracts.transactions import SHARD_DIR_FORMAT, TRANSACTIONS

__all__ = [
    "DECISION_COLUMN",
    "FEATURES",
    "FEATURE_FORMULAS",
    "ID_COLUMN",
    "LABEL_COLUMN",
    "MODEL_INPUTS",
    "PARTIALS",
    "PARTIAL_REDUCTIONS",
    "PREDICTIONS",
    "SCORE_COLUMN",
    "SHARD_DIR_FORMAT",
    "TRANSACTIONS",
    "Contract",
    "ContractError",
]
