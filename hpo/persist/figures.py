"""Small PNG figures for the dashboard: a trial's learning curve, a confusion matrix.

    curve_png(rows, "curve.png", title="trial 3")     # rows: EpochCurve.rows
    confusion_png(matrix, "confusion.png", title="best trial 3, validation split")

matplotlib's object API on the Agg canvas (no pyplot, no display, no global figure state); the
figures are small, low-dpi and laid out by hand: a curve costs ~0.1 s (benchmarks/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DPI = 80


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Fixed margins (subplots_adjust) instead of a layout engine: half the drawing time.
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _series(rows: Sequence[dict[str, float | None]], key: str) -> tuple[list[int], list[float]]:
    points = [
        (int(row["epoch"]) + 1, float(row[key]))
        for row in rows
        if row.get(key) is not None and math.isfinite(float(row[key]))
    ]
    return [p[0] for p in points], [p[1] for p in points]


def curve_png(rows: Sequence[dict[str, float | None]], path: Path | str, title: str) -> Path:
    """Loss (train and val) and validation accuracy per epoch, side by side."""
    fig = _figure(6.0, 2.6)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for key, style in (("train_loss", "-o"), ("val_loss", "-s")):
        epochs, values = _series(rows, key)
        if values:
            loss_ax.plot(epochs, values, style, markersize=3, label=key)
    for key, style in (("train_acc", "-o"), ("val_acc", "-s")):
        epochs, values = _series(rows, key)
        if values:
            acc_ax.plot(epochs, values, style, markersize=3, label=key)
    from matplotlib.ticker import MaxNLocator

    for ax, label in ((loss_ax, "cross-entropy"), (acc_ax, "accuracy")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.17, top=0.88, wspace=0.3)
    fig.savefig(path, format="png")
    return Path(path)


def confusion_png(matrix: np.ndarray, path: Path | str, title: str) -> Path:
    """A counts heat map, true class down, predicted class across."""
    n = matrix.shape[0]
    fig = _figure(3.6 + 0.1 * n, 3.2 + 0.1 * n)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    if n <= 20:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(n):
            for j in range(n):
                color = "white" if matrix[i, j] > threshold else "black"
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=6, color=color)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=8)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.92)
    fig.savefig(path, format="png")
    return Path(path)
