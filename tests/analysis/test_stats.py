"""The comparison statistics against hand-computed answers and published tables."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from scipy import stats as scipy_stats

from hpo.analysis import stats
from hpo.analysis.results import Run, pairwise, ranking, summarise


def test_holm_on_a_hand_computed_case() -> None:
    # Sorted 0.01, 0.03, 0.04 × 3, 2, 1 = 0.03, 0.06, 0.04 → monotone 0.03, 0.06, 0.06.
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert stats.holm([0.4, 0.6]) == [0.8, 0.8] and stats.holm([0.9, 0.8]) == [1.0, 1.0]


def test_vargha_delaney_a_counts_wins_and_half_ties() -> None:
    assert stats.vargha_delaney_a([3, 4], [1, 2]) == 1.0
    assert stats.vargha_delaney_a([1, 2], [1, 2]) == 0.5
    # [1, 2] vs [2, 3]: of 4 pairs, none won, one tie → 0.5 / 4.
    assert stats.vargha_delaney_a([1, 2], [2, 3]) == 0.125
    assert stats.vargha_delaney_a([1, 2], [2, 3], "minimize") == 0.875
    assert [stats.magnitude(a) for a in (0.5, 0.57, 0.36, 0.75)] == [
        "negligible", "small", "medium", "large"
    ]  # fmt: skip


def test_nemenyi_q_matches_demsar_table_5() -> None:
    # Demšar (2006), Table 5(a), q_0.05 for k = 2, 3, 5, 10 methods.
    for k, q in ((2, 1.960), (3, 2.343), (5, 2.728), (10, 3.164)):
        assert stats.nemenyi_cd(k, 1) / np.sqrt(k * (k + 1) / 6) == pytest.approx(q, abs=1e-3)
    assert stats.nemenyi_cd(4, 20) == pytest.approx(2.569 * np.sqrt(4 * 5 / 120), abs=1e-3)


def test_ranks_and_friedman_on_a_hand_computed_case() -> None:
    matrix = np.array([[1, 2, 3], [1, 2, 3], [1, 3, 2], [1, 2, 3]], dtype=float)
    assert stats.average_ranks(matrix, "maximize").tolist() == [3.0, 1.75, 1.25]
    assert stats.average_ranks(matrix, "minimize").tolist() == [1.0, 2.25, 2.75]
    # 12 / (n k (k+1)) Σ R_j² − 3 n (k+1) with rank sums 12, 7, 5: 0.25 · 218 − 48 = 6.5.
    chi2, p = stats.friedman(matrix)
    assert chi2 == pytest.approx(6.5) and p == pytest.approx(np.exp(-6.5 / 2))  # χ²(2) tail
    assert np.isnan(stats.friedman(matrix[:, :2])[0])  # needs three methods


def test_median_ci_brackets_the_median() -> None:
    values = np.linspace(0.90, 0.99, 20)
    low, high = stats.median_ci(values)
    assert low <= np.median(values) <= high and low >= 0.90 and high <= 0.99
    assert stats.median_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert stats.median_ci([0.7]) == (0.7, 0.7)


def test_cliques_join_methods_within_one_critical_difference() -> None:
    ranks = {"a": 1.0, "b": 1.5, "c": 2.2, "d": 3.5}
    assert stats.cliques(ranks, 1.3) == [["a", "b", "c"], ["c", "d"]]
    assert stats.cliques(ranks, 0.1) == []


def _run(method: str, seed: int, value: float) -> Run:
    trial = optuna.trial.create_trial(value=value, params={}, distributions={})
    return Run(method, seed, "maximize", [trial])


def test_pairwise_and_ranks_over_runs() -> None:
    seeds = range(8)
    runs = [_run("good", s, 0.95 + s / 1000) for s in seeds]
    runs += [_run("bad", s, 0.80 + s / 1000) for s in seeds]
    runs += [_run("twin", s, 0.80 + s / 1000) for s in seeds]  # ties "bad" on every seed
    tests = {(t["a"], t["b"]): t for t in pairwise(runs)}
    assert set(tests) == {("good", "bad"), ("good", "twin"), ("bad", "twin")}
    separated = tests[("good", "bad")]
    exact = scipy_stats.mannwhitneyu(range(8), range(-8, 0), method="exact").pvalue
    assert separated["p_two_sided"] == pytest.approx(exact) == pytest.approx(2 / 12870)
    assert separated["A"] == 1.0 and separated["winner"] == "good"
    # Two p-values of 2/C(16, 8) and one of 1: Holm multiplies the two smallest by 3.
    assert separated["p_holm"] == pytest.approx(3 * separated["p_two_sided"])
    assert tests[("bad", "twin")]["A"] == 0.5 and tests[("bad", "twin")]["winner"] is None
    ranked = ranking(runs)
    assert ranked["ranks"] == {"good": 1.0, "bad": 2.5, "twin": 2.5}
    assert ranked["seeds"] == 8 and ranked["friedman_p"] < 0.01
    rows = {r["method"]: r for r in summarise(runs, target=0.9)}
    assert rows["good"]["median_low"] <= rows["good"]["median"] <= rows["good"]["median_high"]
    assert rows["good"]["reached"] == 8 and rows["bad"]["reached"] == 0
    assert rows["good"]["trials_to_target"] == 1
