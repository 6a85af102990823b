"""What crosses a stage boundary, defined once: the versioned Parquet schemas passed
between pipeline stages and the check consumers run, and the run's contract (commit refs
and their id rule).

Each Parquet contract is owned by the stage that produces it (documented in that stage's
README) and checked by the stage that consumes it; it lives here so both use the same
definition. The Parquet names are loaded on first use: they import pyarrow (~0.3 s, and
not installed without the `parquet` extra), which the store, the lineage commands and the
provenance stage never need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pachflow_contracts.commits import SPEC, USER, CommitRef, is_commit_id

if TYPE_CHECKING:
    from pachflow_contracts.contract import Contract, ContractError
    from pachflow_contracts.features import FEATURES, ID_COLUMN, LABEL_COLUMN, MODEL_INPUTS
    from pachflow_contracts.partials import FEATURE_FORMULAS, PARTIAL_REDUCTIONS, PARTIALS
    from pachflow_contracts.predictions import DECISION_COLUMN, PREDICTIONS, SCORE_COLUMN
    from pachflow_contracts.transactions import SHARD_DIR_FORMAT, TRANSACTIONS

#: name -> the module that defines it (all imported on first access of one).
_PARQUET = {
    "Contract": "contract",
    "ContractError": "contract",
    "FEATURES": "features",
    "ID_COLUMN": "features",
    "LABEL_COLUMN": "features",
    "MODEL_INPUTS": "features",
    "FEATURE_FORMULAS": "partials",
    "PARTIAL_REDUCTIONS": "partials",
    "PARTIALS": "partials",
    "DECISION_COLUMN": "predictions",
    "PREDICTIONS": "predictions",
    "SCORE_COLUMN": "predictions",
    "SHARD_DIR_FORMAT": "transactions",
    "TRANSACTIONS": "transactions",
}


def __getattr__(name: str) -> Any:
    module = _PARQUET.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # All of them at once: a mismatch names the contract a file follows instead (KNOWN).
    for other in sorted(set(_PARQUET.values())):
        importlib.import_module(f"{__name__}.{other}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
    "SPEC",
    "TRANSACTIONS",
    "USER",
    "CommitRef",
    "Contract",
    "ContractError",
    "is_commit_id",
]
