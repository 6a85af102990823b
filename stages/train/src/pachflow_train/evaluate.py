"""Binary-classification metrics from predicted probabilities.

Spark scores every row; only a tiny table of (score, label, count) groups comes back to the
driver (a decision tree has at most 2^depth distinct scores; other models' scores are
rounded: pachflow_features.scores), and every metric is computed exactly from it here.
That is one pass over the data for all metrics, instead of one Spark evaluator job per
metric.

Conventions: a row is predicted positive when its fraud probability is >= the threshold.
areaUnderROC is the trapezoidal area under (FPR, TPR); areaUnderPR follows Spark's
BinaryClassificationMetrics (pachflow_contracts.heldout_scores.area_under_pr: the same rule
compares two versions on their held-out customers).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pachflow_contracts.heldout_scores import area_under_pr

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Evaluation:
    """All metrics of one part (test or train) of the data."""

    rows: int
    positives: int
    area_under_pr: float
    area_under_roc: float
    at_default: Confusion
    best_f1_threshold: float
    at_best_f1: Confusion

    def metrics(self, prefix: str) -> dict[str, float]:
        """Flat MLflow metrics, e.g. `test_areaUnderPR`, `test_f1_at_best`."""
        out = {
            f"{prefix}_rows": float(self.rows),
            f"{prefix}_positives": float(self.positives),
            f"{prefix}_areaUnderPR": self.area_under_pr,
            f"{prefix}_areaUnderROC": self.area_under_roc,
            f"{prefix}_best_f1_threshold": self.best_f1_threshold,
        }
        for tag, c in (("0.5", self.at_default), ("best", self.at_best_f1)):
            out |= {
                f"{prefix}_precision_at_{tag}": c.precision,
                f"{prefix}_recall_at_{tag}": c.recall,
                f"{prefix}_f1_at_{tag}": c.f1,
                f"{prefix}_tp_at_{tag}": float(c.tp),
                f"{prefix}_fp_at_{tag}": float(c.fp),
                f"{prefix}_tn_at_{tag}": float(c.tn),
                f"{prefix}_fn_at_{tag}": float(c.fn),
            }
        return out

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate_counts(
    scores: np.ndarray, labels: np.ndarray, counts: np.ndarray, threshold: float = 0.5
) -> Evaluation:
    """Metrics from grouped rows: `counts[i]` rows scored `scores[i]` with label `labels[i]`."""
    scores = np.asarray(scores, float)
    labels = np.asarray(labels, int)
    counts = np.asarray(counts, np.int64)
    # Distinct thresholds, highest first, with positives/negatives at each.
    thresholds, inverse = np.unique(-scores, return_inverse=True)
    thresholds = -thresholds
    pos = np.bincount(inverse, weights=counts * (labels == 1), minlength=len(thresholds))
    neg = np.bincount(inverse, weights=counts * (labels != 1), minlength=len(thresholds))
    total_pos, total_neg = int(pos.sum()), int(neg.sum())
    tp, fp = np.cumsum(pos), np.cumsum(neg)  # predicted positive when score >= threshold

    tpr = tp / total_pos if total_pos else np.zeros_like(tp)
    fpr = fp / total_neg if total_neg else np.zeros_like(fp)
    roc_x = np.concatenate([[0.0], fpr, [1.0]])
    roc_y = np.concatenate([[0.0], tpr, [1.0]])
    auc_roc = float(np.trapezoid(roc_y, roc_x))

    def confusion_at(t: float) -> Confusion:
        k = int(np.searchsorted(-thresholds, -t, side="right"))  # thresholds >= t
        tp_k = int(tp[k - 1]) if k else 0
        fp_k = int(fp[k - 1]) if k else 0
        return Confusion(tp=tp_k, fp=fp_k, tn=total_neg - fp_k, fn=total_pos - tp_k)

    f1 = np.divide(
        2 * tp,
        2 * tp + fp + (total_pos - tp),
        out=np.zeros_like(tp),
        where=(2 * tp + fp + (total_pos - tp)) > 0,
    )
    best = int(np.argmax(f1)) if len(f1) else 0
    best_t = float(thresholds[best]) if len(thresholds) else threshold
    return Evaluation(
        rows=total_pos + total_neg,
        positives=total_pos,
        area_under_pr=area_under_pr(scores, labels, counts),
        area_under_roc=auc_roc,
        at_default=confusion_at(threshold),
        best_f1_threshold=best_t,
        at_best_f1=confusion_at(best_t),
    )
