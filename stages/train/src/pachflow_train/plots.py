"""The PNGs a person looks at first: confusion matrices and feature importances."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in a pipeline worker

import matplotlib.pyplot as plt

from pachflow_train.evaluate import Confusion, Evaluation

#: Sequential colour map whose lightness falls steadily: it reads the same in grey.
CONFUSION_CMAP = "Blues"


def luminance(rgba: tuple[float, ...]) -> float:
    """Relative luminance (WCAG, sRGB) of a matplotlib colour: 0 black .. 1 white."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour(background: tuple[float, ...]) -> str:
    """Black on light cells, white on dark ones: whichever contrasts more (WCAG ratio)."""
    lum = luminance(background)
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def share_text(share: float) -> str:
    """A share as a percentage; a tiny non-zero one is not rounded to 0.0 %."""
    return "<0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


def confusion_png(test: Evaluation, path: Path) -> None:
    """Test-part confusion matrices at 0.5 and at the best-F1 threshold, side by side.

    Each cell is shaded by its share of the true class (so the fraud row shows recall even
    when legit rows outnumber fraud 1000 to 1) and annotated with its count and share, in
    black or white by the cell's luminance."""
    cmap = plt.get_cmap(CONFUSION_CMAP)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    panels: list[tuple[str, Confusion]] = [
        ("threshold 0.5", test.at_default),
        (f"best F1, threshold {test.best_f1_threshold:.4f}", test.at_best_f1),
    ]
    for ax, (title, c) in zip(axes, panels, strict=True):
        cells = [[c.tn, c.fp], [c.fn, c.tp]]
        shares = [[n / max(sum(row), 1) for n in row] for row in cells]
        ax.imshow(shares, cmap=cmap, vmin=0.0, vmax=1.0)
        for i in range(2):
            for j in range(2):
                ax.text(
                    j,
                    i,
                    f"{cells[i][j]:,}\n{share_text(shares[i][j])}",
                    ha="center",
                    va="center",
                    fontsize=12,
                    fontweight="bold",
                    color=text_colour(cmap(shares[i][j])),
                )
        ax.set_xticks([0, 1], ["predicted legit", "predicted fraud"])
        ax.set_yticks([0, 1], ["legit", "fraud"])
        ax.set_ylabel("true class")
        ax.set_title(f"{title}\nP={c.precision:.3f} R={c.recall:.3f} F1={c.f1:.3f}", fontsize=10)
    fig.suptitle(
        f"test part: {test.rows:,} customers, {test.positives:,} fraud"
        " (shade = share of the true class)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
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
