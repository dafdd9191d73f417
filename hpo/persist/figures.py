"""PNG figures for the dashboard: a trial's learning curve, a confusion matrix.

    curve_png(rows, "curve.png", title="trial 3: lr=0.01 optimizer=adam")   # EpochCurve.rows
    confusion_png(matrix, "confusion.png", "trial 3, validation split", ["0", "1", …])

Sized to be read on the dashboard's trial page (a curve 1100 px wide, a confusion matrix at
least 700 px with the class names on its axes). matplotlib's object API on the Agg canvas (no
pyplot, no display, no global figure state), laid out by hand (no layout engine: half the
drawing time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DPI = 100


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


CURVES = (  # (axes, series, marker)
    ("loss", "train_loss", "-o"),
    ("loss", "val_loss", "-s"),
    ("acc", "train_acc", "-o"),
    ("acc", "val_acc", "-s"),
)


def curve_png(rows: Sequence[dict[str, float | None]], path: Path | str, title: str) -> Path:
    """Loss (train and val) and accuracy (train and val) per epoch, side by side, 1100×440 px;
    `title` (e.g. the trial's parameters) wraps onto a second line when long."""
    series = {key: _series(rows, key) for _, key, _ in CURVES}
    present = tuple(key for key, (_, values) in series.items() if values)
    figure = _curve_figure(present)
    for key in present:
        figure.lines[key].set_data(*series[key])
    last = max((epochs[-1] for epochs, _ in series.values() if epochs), default=1)
    for ax in figure.axes:
        ax.relim()
        ax.autoscale_view(scalex=False)
        ax.set_xlim(0.5, last + 0.5)  # whole epochs on the axis, even for a single one
    figure.title.set_text(_wrap(title, 130))
    figure.fig.savefig(path, format="png", pil_kwargs={"compress_level": 1})  # 10 % faster
    return Path(path)


@dataclass
class _CurveFigure:
    fig: Any
    axes: tuple[Any, Any]
    lines: dict[str, Any]
    title: Any


@cache
def _curve_figure(present: tuple[str, ...]) -> _CurveFigure:
    """The curve figure with a line (and legend entry) per series in `present`, made once per
    process and redrawn with each trial's data: building the axes, ticks and legends anew took
    40 % of a curve's drawing time."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(11.0, 4.4)
    loss_ax, acc_ax = fig.subplots(1, 2)
    axes = {"loss": loss_ax, "acc": acc_ax}
    lines = {
        key: axes[name].plot([], [], style, markersize=4, label=key)[0]
        for name, key, style in CURVES
        if key in present
    }
    for ax, label in ((loss_ax, "cross-entropy"), (acc_ax, "accuracy")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=9)
    title = fig.suptitle("", fontsize=11)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.84, wspace=0.18)
    return _CurveFigure(fig, (loss_ax, acc_ax), lines, title)


def confusion_png(
    matrix: np.ndarray, path: Path | str, title: str, labels: Sequence[str] | None = None
) -> Path:
    """A counts heat map, true class down, predicted class across, each axis labelled with the
    class names (up to 40 classes; counts written in the cells up to 20)."""
    n = matrix.shape[0]
    labels = list(labels) if labels is not None and len(labels) == n else list(map(str, range(n)))
    side = max(7.0, 2.5 + 0.3 * n)
    fig = _figure(side + 1.5, side)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8, label="validation images")
    if n <= 40:
        size = 10 if n <= 20 else 7
        ax.set_xticks(
            range(n),
            labels,
            rotation=45 if max(map(len, labels)) > 2 else 0,
            ha="right" if max(map(len, labels)) > 2 else "center",
            fontsize=size,
        )
        ax.set_yticks(range(n), labels, fontsize=size)
    if n <= 20:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(n):
            for j in range(n):
                color = "white" if matrix[i, j] > threshold else "black"
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=9, color=color)
    ax.set_xlabel("predicted class", fontsize=11)
    ax.set_ylabel("true class", fontsize=11)
    ax.set_title(_wrap(title, 70), fontsize=11)
    fig.subplots_adjust(left=0.16, right=0.98, bottom=0.16, top=0.92)
    fig.savefig(path, format="png")
    return Path(path)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text
