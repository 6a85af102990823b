"""FEATURE_FORMULAS with pyarrow, for a few rows read without Spark (e.g. the input
example a logged model carries)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pachflow_contracts import FEATURE_FORMULAS, FEATURES


def features_of_partials(partials: pa.Table) -> pa.Table:
    """FEATURES columns computed from already reduced `partials` rows (one per customer)."""
    columns = []
    for field in FEATURES.schema:
        op, col = FEATURE_FORMULAS[field.name]
        value = partials[col]
        if op == "per_tx":
            value = pc.divide(pc.cast(value, pa.float64()), pc.cast(partials["n_tx"], pa.float64()))
        elif op == "any":
            value = pc.cast(pc.greater(value, 0), pa.int32())
        columns.append(pc.cast(value, field.type))
    return pa.Table.from_arrays(columns, schema=FEATURES.schema)
