"""The PNGs a person looks at first: confusion matrices and feature importances."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in a pipeline worker

import matplotlib.pyplot as plt

from pachflow_train.evaluate import Confusion, Evaluation


def confusion_png(test: Evaluation, path: Path) -> None:
    """Test-part confusion matrices at 0.5 and at the best-F1 threshold, side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    panels: list[tuple[str, Confusion]] = [
        ("threshold 0.5", test.at_default),
        (f"best F1, threshold {test.best_f1_threshold:.4f}", test.at_best_f1),
    ]
    for ax, (title, c) in zip(axes, panels, strict=True):
        cells = [[c.tn, c.fp], [c.fn, c.tp]]
        ax.imshow(cells, cmap="Blues")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{cells[i][j]:,}", ha="center", va="center", color="darkred")
        ax.set_xticks([0, 1], ["pred. legit", "pred. fraud"])
        ax.set_yticks([0, 1], ["legit", "fraud"])
        ax.set_title(f"{title}\nP={c.precision:.3f} R={c.recall:.3f} F1={c.f1:.3f}", fontsize=9)
    fig.suptitle(f"test part: {test.rows:,} customers, {test.positives:,} fraud")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def importance_png(importances: dict[str, float], path: Path) -> None:
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.25 * len(names) + 1))
    ax.barh(names, [importances[n] for n in names], color="steelblue")
    ax.set_xlabel("importance")
    ax.set_title("feature importances")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
