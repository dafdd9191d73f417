"""The statistics of a comparison, on plain arrays (scipy.stats wherever it has the test).

    low, high = median_ci(values)                       # bootstrap CI of the median
    holm([0.01, 0.04, 0.03])                            # → [0.03, 0.06, 0.06]
    vargha_delaney_a([3, 4], [1, 2])                    # → 1.0: the first is always larger
    ranks = average_ranks(matrix, "maximize"); friedman(matrix); nemenyi_cd(k, n)

Tests of several methods are corrected for multiplicity with Holm's step-down method, effect
sizes are Vargha and Delaney's A (the probability that a run of one method beats a run of the
other, ties counting half), and methods are ranked per seed (Friedman test, Nemenyi critical
difference, as in Demšar 2006, JMLR 7).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

#: Vargha & Delaney (2000): |A − 0.5| at least 0.06, 0.14, 0.21 is small, medium, large.
A_MAGNITUDES = ((0.21, "large"), (0.14, "medium"), (0.06, "small"))


def median_ci(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median (scipy.stats.bootstrap; the
    percentile method, because BCa breaks down on the ties that best-so-far values have)."""
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1 or np.ptp(x) == 0:
        return float(x[0]), float(x[0])
    result = stats.bootstrap(
        (x,),
        np.median,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (family-wise error), in the input order.

    Written here because scipy has only the false-discovery-rate corrections
    (`scipy.stats.false_discovery_control`) and statsmodels is not a dependency: sorted
    ascending, the i-th smallest (from 0) of m is multiplied by m − i, made non-decreasing
    along the order, and capped at 1."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return [float(v) for v in out]


def vargha_delaney_a(a: Sequence[float], b: Sequence[float], direction: str = "maximize") -> float:
    """P(a run of `a` is better than one of `b`) + ½ P(tie): Mann-Whitney's U over n_a·n_b."""
    u = stats.mannwhitneyu(a, b).statistic  # U of `a`: pairs with a > b, ties counted ½
    larger = float(u) / (len(a) * len(b))
    return larger if direction == "maximize" else 1.0 - larger


def magnitude(a12: float) -> str:
    """Vargha & Delaney's label for an A value: negligible, small, medium or large."""
    for bound, label in A_MAGNITUDES:
        if abs(a12 - 0.5) >= bound:
            return label
    return "negligible"


def average_ranks(matrix: np.ndarray, direction: str) -> np.ndarray:
    """Mean rank of each column (method) over the rows (seeds); 1 = best, ties averaged."""
    signed = -np.asarray(matrix, dtype=float) if direction == "maximize" else np.asarray(matrix)
    return stats.rankdata(signed, axis=1).mean(axis=0)


def friedman(matrix: np.ndarray) -> tuple[float, float]:
    """Friedman's χ² and p over seeds (rows) × methods (columns); NaN below 3 methods or 2
    seeds, or when every seed ties every method."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[1] < 3 or m.shape[0] < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all ties: division by zero
        result = stats.friedmanchisquare(*m.T)
    return float(result.statistic), float(result.pvalue)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for k methods over n seeds:
    q_α √(k(k+1) / 6n), q_α the studentized range quantile over √2 (Demšar 2006)."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def cliques(ranks: dict[str, float], cd: float) -> list[list[str]]:
    """Maximal runs of methods (sorted by rank) whose ranks differ by less than `cd`: the
    groups a critical-difference diagram joins with a bar (only groups of two or more)."""
    names = sorted(ranks, key=ranks.get)
    groups: list[list[str]] = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and ranks[names[j + 1]] - ranks[names[i]] < cd:
            j += 1
        group = names[i : j + 1]
        if len(group) > 1 and not any(set(group) <= set(g) for g in groups):
            groups.append(group)
    return groups
