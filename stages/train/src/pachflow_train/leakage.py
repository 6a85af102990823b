"""The leakage check: a model input that alone separates fraud from the rest perfectly.

Such a feature is either leakage (derived from the label, or recorded after the fact) or a
generator rule that makes the task trivial; either way the metrics mean little. The check
compares the min and max of every input per class over the training part, which train's
first pass over the data computes with the class counts (`data.survey`); a separating
feature is reported with a warning and tagged on the MLflow run.
"""

from __future__ import annotations

from dataclasses import dataclass

from pachflow_contracts import MODEL_INPUTS

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


def perfect_separators(train_ranges: dict[int, tuple[list[float], list[float]]]) -> list[str]:
    """The model inputs that alone separate the classes of the training part perfectly,
    from each class's (lowest, highest) values of MODEL_INPUTS (`data.survey`)."""
    if 0 not in train_ranges or 1 not in train_ranges:
        return []
    ranges = {
        label: {n: Range(low[i], high[i]) for i, n in enumerate(MODEL_INPUTS)}
        for label, (low, high) in train_ranges.items()
    }
    return separators(ranges[1], ranges[0])


def warning(names: list[str]) -> str:
    return (
        f"warning: {', '.join(names)} alone separate{'s' if len(names) == 1 else ''} fraud from "
        "the rest perfectly in the training rows: leakage or a too-easy data set; the metrics "
        f"will look perfect and say little (MLflow tag {TAG})"
    )
