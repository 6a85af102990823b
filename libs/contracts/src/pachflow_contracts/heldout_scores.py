"""Train's result for each held-out customer, and two model versions compared on the
customers both held out.

Train writes HELDOUT_SCORES (one row per held-out customer, sorted by nameOrig: the same
data gives the same bytes) into its output and logs it as an MLflow artifact of the run.
Since a customer's side is a function of the customer alone, two versions with the same
seed and fraction hold out the same customers among those both saw; `compare` makes each
version's metrics on exactly those customers.

areaUnderPR follows train's evaluation (Spark's BinaryClassificationMetrics): trapezoidal
area under (recall, precision) over the distinct scores, highest first, starting at
(0, precision of the top score). Precision, recall and F1 are at the model's prediction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: Inside train's output and among the run's MLflow artifacts.
HELDOUT_SCORES = "evaluation/heldout_scores.parquet"
CUSTOMER = "nameOrig"
LABEL = "label"  # 1.0 fraud, 0.0 not
SCORE = "fraud_probability"
PREDICTION = "prediction"  # 1.0 predicted fraud
COLUMNS = (CUSTOMER, LABEL, SCORE, PREDICTION)


@dataclass(frozen=True)
class HeldoutMetrics:
    customers: int
    frauds: int
    area_under_pr: float
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def read(data: bytes) -> pa.Table:
    """HELDOUT_SCORES bytes -> table with COLUMNS."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(data), columns=list(COLUMNS))


def schema() -> pa.Schema:
    """The file's columns and types; none holds a null."""
    import pyarrow as pa

    types = (pa.string(), pa.float64(), pa.float64(), pa.float64())
    return pa.schema([pa.field(n, t, nullable=False) for n, t in zip(COLUMNS, types, strict=True)])


def write(table: pa.Table, path: str) -> None:
    """Sorted by customer, one row group, as `schema()` (a null is an error): the same
    rows give the same bytes, whichever engine scored them."""
    import pyarrow.parquet as pq

    rows = table.select(list(COLUMNS)).cast(schema()).sort_by(CUSTOMER)
    pq.write_table(rows, path, compression="zstd")


def compare(a: pa.Table, b: pa.Table) -> tuple[HeldoutMetrics, HeldoutMetrics]:
    """Each version's metrics on the customers held out by both."""
    import pyarrow.compute as pc

    common = pc.is_in(a[CUSTOMER], value_set=b[CUSTOMER])
    shared = a[CUSTOMER].filter(common)
    return metrics(_only(a, shared)), metrics(_only(b, shared))


def _only(table: pa.Table, customers: pa.ChunkedArray) -> pa.Table:
    import pyarrow.compute as pc

    return table.filter(pc.is_in(table[CUSTOMER], value_set=customers.combine_chunks()))


def metrics(table: pa.Table) -> HeldoutMetrics:
    import numpy as np

    labels = table[LABEL].to_numpy() == 1
    scores = table[SCORE].to_numpy().astype(float)
    predicted = table[PREDICTION].to_numpy() == 1
    tp = int(np.sum(labels & predicted))
    fp = int(np.sum(~labels & predicted))
    fn = int(np.sum(labels & ~predicted))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return HeldoutMetrics(
        customers=len(labels),
        frauds=int(labels.sum()),
        area_under_pr=area_under_pr(scores, labels),
        precision=precision,
        recall=recall,
        f1=f1,
    )


def area_under_pr(
    scores: np.ndarray, labels: np.ndarray, counts: np.ndarray | None = None
) -> float:
    """areaUnderPR (the convention in the module's docstring) of rows scored `scores[i]`
    with label `labels[i]` (1 or True: fraud), `counts[i]` rows each (default one): train
    evaluates grouped rows, `metrics` one row per customer."""
    import numpy as np

    positive = np.asarray(labels) == 1
    weights = np.ones(len(positive)) if counts is None else np.asarray(counts, float)
    if not len(positive) or not (weights * positive).any():
        return 0.0
    # highest score first
    distinct, inverse = np.unique(-np.asarray(scores, float), return_inverse=True)
    pos = np.cumsum(np.bincount(inverse, weights=weights * positive, minlength=len(distinct)))
    neg = np.cumsum(np.bincount(inverse, weights=weights * ~positive, minlength=len(distinct)))
    total = pos + neg
    precision = np.divide(pos, total, out=np.zeros_like(pos), where=total > 0)
    recall = np.concatenate([[0.0], pos / pos[-1]])
    return float(np.trapezoid(np.concatenate([[precision[0]], precision]), recall))
