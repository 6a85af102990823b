"""The leakage check: a model input that alone separates fraud from the rest perfectly.

Such a feature is either leakage (derived from the label, or recorded after the fact) or a
generator rule that makes the task trivial; either way the metrics mean little. The check
is one Spark aggregation (min and max of every input, per class) over the training part;
a separating feature is reported with a warning and tagged on the MLflow run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pachflow_contracts import MODEL_INPUTS
from pachflow_train.data import FEATURES_VECTOR, IS_TEST, LABEL

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: MLflow tag holding the separating features (comma separated); absent when there is none.
TAG = "pachflow.leakage.perfect_separators"


@dataclass(frozen=True)
class Range:
    low: float
    high: float


def separators(
    positive: dict[str, Range], negative: dict[str, Range], names: tuple[str, ...] = MODEL_INPUTS
) -> list[str]:
    """Features whose value ranges of the two classes do not overlap: one threshold on that
    feature alone classifies every row right."""
    return [
        n
        for n in names
        if n in positive
        and n in negative
        and (positive[n].low > negative[n].high or positive[n].high < negative[n].low)
    ]


def class_ranges(
    df: DataFrame, names: tuple[str, ...] = MODEL_INPUTS
) -> dict[int, dict[str, Range]]:
    """{label: {feature: Range}} over the assembled rows of `df` (label 1 = fraud)."""
    from pyspark.ml.stat import Summarizer
    from pyspark.sql import functions as F

    summary = Summarizer.metrics("min", "max").summary(F.col(FEATURES_VECTOR)).alias("s")
    out: dict[int, dict[str, Range]] = {}
    for row in df.groupBy(LABEL).agg(summary).collect():
        low, high = row["s"]["min"].toArray(), row["s"]["max"].toArray()
        out[int(row[LABEL])] = {
            n: Range(float(low[i]), float(high[i])) for i, n in enumerate(names)
        }
    return out


def perfect_separators(df: DataFrame) -> list[str]:
    """The model inputs that alone separate the classes of `df`'s training part perfectly."""
    from pyspark.sql import functions as F

    ranges = class_ranges(df.filter(~F.col(IS_TEST)))
    if 0 not in ranges or 1 not in ranges:
        return []
    return separators(ranges[1], ranges[0])


def warning(names: list[str]) -> str:
    return (
        f"warning: {', '.join(names)} alone separate{'s' if len(names) == 1 else ''} fraud from "
        "the rest perfectly in the training rows: leakage or a too-easy data set; the metrics "
        f"will look perfect and say little (MLflow tag {TAG})"
    )
