"""The report's figures (matplotlib, Agg backend: no display needed). Each function writes one PNG.

best_so_far(runs, "val_acc", out / "best_so_far.png")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

from hpo.analysis.results import Run, band, by_method, on_epoch_grid  # noqa: E402

COLOURS = {
    "grid": "tab:blue",
    "random": "tab:orange",
    "tpe": "tab:green",
    "tpe_multivariate": "tab:olive",
    "tpe_hyperband": "tab:cyan",
    "qmc": "tab:purple",
    "cmaes": "tab:red",
    "gp": "tab:brown",
    "lr_find": "tab:pink",
}
DPI = 90


def _colour(method: str, i: int) -> str:
    return COLOURS.get(method, f"C{(i + 3) % 10}")


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def best_so_far(runs: Sequence[Run], metric: str, path: Path) -> Path:
    """Median best-so-far with the interquartile band over seeds, vs trials and vs epochs."""
    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    groups = by_method(runs)
    top = max((r.cumulative_epochs()[-1] for r in runs if r.counted), default=1.0)
    grid = np.linspace(0, top, 300)
    for i, (method, group) in enumerate(groups.items()):
        colour = _colour(method, i)
        med, lo, hi = band([r.best_so_far() for r in group])
        x = np.arange(1, len(med) + 1)
        ax_t.plot(x, med, color=colour, label=f"{method} (n={len(group)})", lw=2, ds="steps-post")
        ax_t.fill_between(x, lo, hi, color=colour, alpha=0.2, step="post")
        med, lo, hi = band([on_epoch_grid(r, grid) for r in group])
        ax_e.plot(grid, med, color=colour, lw=2)
        ax_e.fill_between(grid, lo, hi, color=colour, alpha=0.2)
    _zoom(ax_t, [band([r.best_so_far() for r in g]) for g in groups.values()])
    ax_t.set_xlabel("trial number")
    ax_e.set_xlabel("cumulative training epochs (pruned trials included)")
    ax_t.set_ylabel(f"best {metric} so far")
    ax_t.set_title("Best so far vs trials: median, IQR band over seeds")
    ax_e.set_title("Best so far vs epochs spent")
    for ax in (ax_t, ax_e):
        ax.grid(alpha=0.3)
    ax_t.legend(loc="best")
    return _save(fig, path)


def _zoom(ax: plt.Axes, bands: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """Show where the methods differ: the range of the quartile bands after the first tenth of
    the trials (the first few trials would squash everything else)."""
    shown = [v for med, lo, hi in bands for v in (*lo[len(med) // 10 :], *hi[len(med) // 10 :])]
    shown = [v for v in shown if np.isfinite(v)]
    if len(shown) < 2:
        return
    low, high = min(shown), max(shown)
    pad = (high - low) * 0.08 or abs(high) * 0.01 or 0.01
    ax.set_ylim(low - pad, high + pad)


def _final(trial: FrozenTrial) -> float | None:
    """A COMPLETE trial's value, else the last value it reported (pruned)."""
    if trial.state == TrialState.COMPLETE:
        return trial.value
    if trial.intermediate_values:
        return trial.intermediate_values[max(trial.intermediate_values)]
    return None


def _diverged(trial: FrozenTrial) -> bool:
    reason = str(trial.user_attrs.get("stop_reason", ""))
    return trial.state == TrialState.FAIL or reason.startswith("diverged")


def valley(trials: Sequence[FrozenTrial], metric: str, path: Path) -> Path | None:
    """Seed 003's figure: final metric vs log learning rate, one line per optimizer (median of
    completed trials per LR bin); pruned trials hollow, diverged/failed ones ✕ at the floor."""
    have = [t for t in trials if "lr" in t.params and "optimizer" in t.params]
    if not have:
        return None
    fig, ax = plt.subplots(figsize=(9, 5))
    lrs = np.array([t.params["lr"] for t in have])
    edges = np.geomspace(lrs.min() * 0.999, lrs.max() * 1.001, 25)
    values = [v for t in have if (v := _final(t)) is not None and math.isfinite(v)]
    floor = min(values, default=0.0)
    for i, opt in enumerate(sorted({t.params["optimizer"] for t in have})):
        colour = f"C{i}"
        mine = [t for t in have if t.params["optimizer"] == opt]
        done = [t for t in mine if t.state == TrialState.COMPLETE and t.value is not None]
        x = np.array([t.params["lr"] for t in done])
        y = np.array([t.value for t in done])
        ax.scatter(x, y, color=colour, s=10, alpha=0.35)
        idx = np.digitize(x, edges)
        centres = [math.sqrt(edges[k - 1] * edges[k]) for k in sorted(set(idx))]
        medians = [np.median(y[idx == k]) for k in sorted(set(idx))]
        ax.plot(centres, medians, "-o", color=colour, ms=4, lw=1.8, label=opt)
        pruned = [t for t in mine if t.state == TrialState.PRUNED and not _diverged(t)]
        pv = [(t.params["lr"], _final(t)) for t in pruned if _final(t) is not None]
        if pv:
            ax.scatter(*zip(*pv, strict=True), facecolors="none", edgecolors=colour, s=22)
        bad = [t.params["lr"] for t in mine if _diverged(t)]
        ax.scatter(bad, [floor] * len(bad), marker="x", color=colour, s=30)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel(metric)
    ax.set_title(
        "LR × optimizer valley: line = median of completed trials per LR bin\n"
        "○ pruned (last reported value), ✕ diverged or failed"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="optimizer", fontsize=8, loc="best")
    return _save(fig, path)


def _groups_of(trials: Sequence[FrozenTrial], name: str) -> list[tuple[str, list[float]]]:
    """Metric values of completed trials grouped by one hyperparameter's value (numeric
    parameters: four quantile bins; log-scaled ones labelled in powers of ten)."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and name in t.params]
    raw = [t.params[name] for t in done]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw) and (
        len(set(raw)) > 6
    ):
        edges = np.quantile(raw, [0, 0.25, 0.5, 0.75, 1.0])
        groups = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            vals = [t.value for t in done if lo <= t.params[name] <= hi]
            groups.append((f"{lo:.2g}–{hi:.2g}", vals))
        return groups
    keys = sorted(set(raw), key=lambda v: (isinstance(v, str), v))
    return [(_label(k), [t.value for t in done if t.params[name] == k]) for k in keys]


def _label(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def histograms(trials: Sequence[FrozenTrial], names: Sequence[str], metric: str, path: Path):
    """Seed 004's figure: per hyperparameter, the metric's distribution for each of its values."""
    if not names:
        return None
    cols = min(2, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        groups = [(label, v) for label, v in _groups_of(trials, name) if v]
        if not groups:
            continue
        allv = np.concatenate([v for _, v in groups])
        bins = np.linspace(np.min(allv), np.max(allv) + 1e-9, 16)
        for label, vals in groups:
            weights = np.full(len(vals), 100.0 / len(vals))
            ax.hist(vals, bins=bins, weights=weights, histtype="step", lw=1.8, label=label)
        ax.set_xlabel(metric)
        ax.set_ylabel("% of that value's completed trials")
        ax.set_title(f"{metric} by {name}")
        ax.legend(fontsize=7, title=name)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def scatter3d(trials: Sequence[FrozenTrial], names: Sequence[str], metric: str, path: Path):
    """Seed 004's 3D view: log10 LR × a second hyperparameter × metric, coloured by metric."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    others = [n for n in names if n != "lr"]
    second = "optimizer" if "optimizer" in others else next(iter(others), None)
    if "lr" not in names or second is None or not done:
        return None
    fig = plt.figure(figsize=(7.5, 6))
    ax = fig.add_subplot(projection="3d")
    x = np.log10([t.params["lr"] for t in done])
    raw = [t.params[second] for t in done]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
    labels = sorted({str(v) for v in raw})
    y = np.array(raw, dtype=float) if numeric else np.array([labels.index(str(v)) for v in raw])
    z = np.array([t.value for t in done])
    points = ax.scatter(x, y, z, c=z, cmap="viridis", s=14)
    ax.set_xlabel("log10 learning rate")
    ax.set_ylabel(second)
    if not numeric:
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_zlabel(metric)
    ax.set_title(f"{metric} over learning rate × {second}")
    fig.colorbar(points, ax=ax, shrink=0.6, label=metric)
    return _save(fig, path)


def importances(values: dict[str, dict[str, float]], path: Path) -> Path | None:
    """Optuna's (fANOVA) parameter importances, one bar group per method."""
    if not values:
        return None
    names = sorted({n for v in values.values() for n in v})
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.6 * len(names) * max(1, len(values)) / 2))
    height = 0.8 / len(values)
    for i, (method, imp) in enumerate(values.items()):
        ys = np.arange(len(names)) + i * height
        ax.barh(
            ys, [imp.get(n, 0.0) for n in names], height, label=method, color=_colour(method, i)
        )
    ax.set_yticks(np.arange(len(names)) + 0.4 - height / 2, names)
    ax.set_xlabel("importance (fANOVA, share of variance)")
    ax.set_title("Hyperparameter importance")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def critical_difference(ranking: dict, path: Path) -> Path | None:
    """Critical-difference diagram (Demšar 2006): average ranks on one axis (1 = best, left),
    the Nemenyi CD as a scale bar, and a bar under each group of methods within one CD."""
    ranks: dict[str, float] = ranking.get("ranks", {}) if ranking else {}
    if len(ranks) < 2:
        return None
    names = sorted(ranks, key=ranks.get)
    k, cd = len(names), float(ranking["cd"])
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.32 * k))
    ax.hlines(0, 1, k, color="black", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, -0.1, 0.1, color="black", lw=1)
        ax.text(r, 0.2, str(r), ha="center", va="bottom", fontsize=8)
    ax.hlines(0.8, 1, 1 + cd, color="tab:red", lw=2)
    ax.text(1 + cd / 2, 0.9, f"CD = {cd:.2f}", ha="center", va="bottom", color="tab:red")
    for i, name in enumerate(names):
        y = -0.5 - 0.45 * i
        ax.plot([ranks[name], ranks[name], 1 - 0.3], [0, y, y], color=_colour(name, i), lw=1)
        ax.text(1 - 0.35, y, f"{name} ({ranks[name]:.2f})", ha="right", va="center", fontsize=9)
    for j, group in enumerate(ranking.get("cliques", [])):
        y = -0.25 - 0.1 * j
        ax.hlines(y, ranks[group[0]] - 0.05, ranks[group[-1]] + 0.05, color="grey", lw=4)
    ax.set_xlim(1 - 0.35 - 0.25 * k, k + 0.3)
    ax.set_ylim(-0.5 - 0.45 * k, 1.3)
    ax.axis("off")
    ax.set_title(
        f"Average rank over {ranking['seeds']} seeds; Friedman p = {ranking['friedman_p']:.2g}"
    )
    return _save(fig, path)
