"""Metrics from (score, label, count) groups: the conventions a reader of the run relies on."""

from __future__ import annotations

import numpy as np
import pytest

from pachflow_train.evaluate import evaluate_counts


def test_perfect_separation_scores_one() -> None:
    ev = evaluate_counts(np.array([0.9, 0.1]), np.array([1, 0]), np.array([10, 90]))
    assert ev.area_under_roc == pytest.approx(1.0)
    assert ev.area_under_pr == pytest.approx(1.0)
    assert (ev.at_default.tp, ev.at_default.fp, ev.at_default.tn, ev.at_default.fn) == (
        10,
        0,
        90,
        0,
    )
    assert ev.rows == 100 and ev.positives == 10


def test_threshold_is_inclusive_and_best_f1_is_found() -> None:
    # 3 score levels: 0.8 (4 fraud, 1 legit), 0.5 (2 fraud, 6 legit), 0.1 (1 fraud, 30 legit)
    scores = np.array([0.8, 0.8, 0.5, 0.5, 0.1, 0.1])
    labels = np.array([1, 0, 1, 0, 1, 0])
    counts = np.array([4, 1, 2, 6, 1, 30])
    ev = evaluate_counts(scores, labels, counts)
    # At 0.5 the 0.5 group counts as positive.
    c = ev.at_default
    assert (c.tp, c.fp, c.tn, c.fn) == (6, 7, 30, 1)
    # F1 at 0.8: P=4/5, R=4/7 -> 0.667; at 0.5: P=6/13, R=6/7 -> 0.6
    assert ev.best_f1_threshold == 0.8
    assert ev.at_best_f1.f1 == pytest.approx(2 * 4 / (2 * 4 + 1 + 3))
    # ROC: points (0,0) (1/37,4/7) (7/37,6/7) (1,1)
    xs, ys = [0, 1 / 37, 7 / 37, 1], [0, 4 / 7, 6 / 7, 1]
    assert ev.area_under_roc == pytest.approx(np.trapezoid(ys, xs))
    # PR (Spark's convention): (0, 0.8) (4/7, 0.8) (6/7, 6/13) (1, 7/44)
    xs, ys = [0, 4 / 7, 6 / 7, 1], [0.8, 0.8, 6 / 13, 7 / 44]
    assert ev.area_under_pr == pytest.approx(np.trapezoid(ys, xs))


def test_metrics_are_flat_and_prefixed() -> None:
    ev = evaluate_counts(np.array([0.9, 0.1]), np.array([1, 0]), np.array([1, 1]))
    metrics = ev.metrics("test")
    assert {
        "test_areaUnderPR",
        "test_areaUnderROC",
        "test_f1_at_0.5",
        "test_f1_at_best",
        "test_best_f1_threshold",
        "test_tp_at_best",
    } <= set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())


def test_confusion_counts_contrast_with_their_cell() -> None:
    import matplotlib.pyplot as plt

    from pachflow_train import plots

    cmap = plt.get_cmap(plots.CONFUSION_CMAP)
    # the darkest and the lightest cells of the map, and the two plain extremes
    assert plots.text_colour(cmap(1.0)) == "white"
    assert plots.text_colour(cmap(0.0)) == "black"
    assert plots.text_colour((0.0, 0.0, 0.5, 1.0)) == "white"  # navy: never dark red on it
    assert plots.text_colour((1.0, 1.0, 0.9, 1.0)) == "black"
    assert plots.share_text(3 / 199_703) == "<0.1%" and plots.share_text(0.992) == "99.2%"
