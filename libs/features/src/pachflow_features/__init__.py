"""Reading etl's output: the `partials` v1 rows (one per customer and source file) merged
into one `features` v1 row per customer, equal to a cold computation over the same files."""

from pachflow_features.arrow import features_of_partials, read_features_table
from pachflow_features.spark import derive_features, plan_merge, read_features

__all__ = [
    "derive_features",
    "features_of_partials",
    "plan_merge",
    "read_features",
    "read_features_table",
]
