"""The fraud score of a fitted model's output: one definition for train's evaluation and
for scoring (pachflow_scoring), so a customer gets the same score in both."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

#: Scores are rounded to this many decimals: a tree has at most 2^depth distinct scores,
#: other models' are grouped to this precision for evaluation (and thresholds are such
#: rounded scores, so a decision at a threshold is the same in evaluation and scoring).
SCORE_DECIMALS = 4


def fraud_score(probability: str = "probability") -> Column:
    """P(fraud) from a Spark ML classifier's `probability` vector, rounded."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    return F.round(vector_to_array(F.col(probability))[1], SCORE_DECIMALS)
