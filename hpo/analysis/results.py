"""Read a comparison back from storage and compute what the report shows. Reads only.

runs = load_runs("sqlite:///studies/hpo.db", "cmp")     # one Run per (method, seed) study
table = summarise(runs, target)                          # one row per method
tests = pairwise(runs); ranks = ranking(runs)            # all pairs (Holm), ranks (Friedman)

The tests and ranks themselves are hpo.analysis.stats; this module picks what they are run on.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from hpo.analysis import stats
from hpo.errors import UsageError
from hpo.persist.storages import open_existing_storage
from hpo.persist.urls import redact

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
ALPHA = 0.05  # significance level of every test in a report


@dataclass
class Run:
    """One (method, seed) study: its finished trials in the order they were created."""

    method: str
    seed: int
    direction: str  # "maximize" | "minimize"
    trials: list[FrozenTrial]
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def counted(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state in COUNTED]

    def best_so_far(self) -> np.ndarray:
        """Best COMPLETE value after each counted trial (NaN before the first one)."""
        better = max if self.direction == "maximize" else min
        best, out = math.nan, []
        for t in self.counted:
            if t.state == TrialState.COMPLETE and t.value is not None:
                best = t.value if math.isnan(best) else better(best, t.value)
            out.append(best)
        return np.array(out, dtype=float)

    def cumulative_epochs(self) -> np.ndarray:
        """Epochs spent by the end of each counted trial, a method's own up-front cost (the
        lr_find baseline's range tests) included."""
        upfront = float(self.attrs.get("lr_find", {}).get("epochs", 0.0))
        return upfront + np.cumsum([float(t.user_attrs.get("epochs", 0)) for t in self.counted])

    @property
    def final_best(self) -> float:
        curve = self.best_so_far()
        return float(curve[-1]) if len(curve) else math.nan


def split_study_name(name: str) -> tuple[str, str, int] | None:
    """'cmp/tpe/seed3' → ('cmp', 'tpe', 3); None for a name `hpo compare` did not make."""
    head, _, seed_part = name.rpartition("/")
    experiment, _, method = head.rpartition("/")
    if not experiment or not method or not seed_part.startswith("seed"):
        return None
    return (experiment, method, int(seed_part[4:])) if seed_part[4:].isdigit() else None


def experiment_names(study_names: Sequence[str]) -> list[str]:
    """The comparisons (`hpo compare --experiment`) among a storage's studies."""
    parts = (split_study_name(name) for name in study_names)
    return sorted({part[0] for part in parts if part is not None})


def choose_experiment(url: str, experiment: str | None) -> str:
    """--experiment if given, else the storage's only comparison; else a one-line error."""
    import optuna

    if experiment is not None:
        return experiment
    found = experiment_names(optuna.get_all_study_names(open_existing_storage(url)))
    if len(found) == 1:
        return found[0]
    listed = ", ".join(found) or "none"
    raise UsageError(
        f"{redact(url)} holds {len(found)} comparisons ({listed}); pick one with --experiment"
    )


def experiment_studies(url: str, experiment: str) -> list[tuple[str, str, int]]:
    """(study name, method, seed) of every study of one comparison."""
    import optuna

    out = []
    for name in optuna.get_all_study_names(open_existing_storage(url)):
        part = split_study_name(name)
        if part is not None and part[0] == experiment:
            out.append((name, part[1], part[2]))
    return out


def load_runs(url: str, experiment: str) -> list[Run]:
    import optuna

    storage = open_existing_storage(url)
    runs = []
    for name, method, seed in experiment_studies(url, experiment):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        direction = study.direction.name.lower()
        runs.append(Run(method, seed, direction, trials, dict(study.user_attrs)))
    if not runs:
        raise UsageError(
            f"no studies named {experiment}/<method>/seed<k> in {redact(url)}; "
            "run `hpo compare --experiment` first"
        )
    directions = {r.direction for r in runs}
    if len(directions) > 1:
        raise UsageError(f"experiment {experiment!r} mixes directions {sorted(directions)}")
    return sorted(runs, key=lambda r: (r.method, r.seed))


def by_method(runs: Sequence[Run]) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {}
    for run in runs:
        out.setdefault(run.method, []).append(run)
    return out


# ---------------------------------------------------------------- statistics


def trials_to_reach(run: Run, target: float) -> int | None:
    """The first trial count at which the best value reaches `target` (None: never)."""
    curve = run.best_so_far()
    hit = curve >= target if run.direction == "maximize" else curve <= target
    indices = np.flatnonzero(hit)
    return int(indices[0]) + 1 if len(indices) else None


def epochs_to_reach(run: Run, target: float) -> float | None:
    """The epochs spent (up-front costs included) when the best value first reaches `target`."""
    n = trials_to_reach(run, target)
    return None if n is None else float(run.cumulative_epochs()[n - 1])


def mann_whitney(a: Sequence[float], b: Sequence[float], direction: str) -> dict[str, float]:
    """Mann-Whitney U of a vs b: U, two-sided p, and one-sided p for "a is better than b"."""
    from scipy.stats import mannwhitneyu

    better = "greater" if direction == "maximize" else "less"
    two = mannwhitneyu(a, b, alternative="two-sided")
    one = mannwhitneyu(a, b, alternative=better)
    return {
        "U": float(two.statistic),
        "p_two_sided": float(two.pvalue),
        "p_better": float(one.pvalue),
    }


def default_target(runs: Sequence[Run], reference: str) -> float:
    """The median final best of the reference method (random by default)."""
    finals = [r.final_best for r in by_method(runs).get(reference, [])]
    finals = [v for v in finals if not math.isnan(v)]
    if not finals:
        raise UsageError(f"no finished {reference!r} studies to take a target from; pass --target")
    return float(np.median(finals))


def summarise(runs: Sequence[Run], target: float) -> list[dict[str, Any]]:
    """One row per method: the final-best statistics and what the budget bought."""
    rows = []
    for method, group in by_method(runs).items():
        finals = np.array([r.final_best for r in group], dtype=float)
        finite = finals[~np.isnan(finals)]
        reach = [trials_to_reach(r, target) for r in group]
        reached = [n for n in reach if n is not None]
        epochs_reach = [e for r in group if (e := epochs_to_reach(r, target)) is not None]
        low, high = stats.median_ci(finite)
        rows.append(
            {
                "method": method,
                "seeds": len(group),
                "mean": float(np.mean(finite)) if len(finite) else math.nan,
                "std": float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan,
                "median": float(np.median(finite)) if len(finite) else math.nan,
                "median_low": low,  # 95 % bootstrap confidence interval of the median
                "median_high": high,
                "min": float(np.min(finite)) if len(finite) else math.nan,
                "max": float(np.max(finite)) if len(finite) else math.nan,
                "trials": float(np.mean([len(r.counted) for r in group])),
                "pruned": float(np.mean([_count(r, TrialState.PRUNED) for r in group])),
                "failed": float(np.mean([_count(r, TrialState.FAIL) for r in group])),
                "epochs": float(np.mean([r.cumulative_epochs()[-1:].sum() for r in group])),
                "reached": len(reached),
                "trials_to_target": float(np.median(reached)) if reached else math.nan,
                "epochs_to_target": float(np.median(epochs_reach)) if epochs_reach else math.nan,
            }
        )
    return rows


def finals(runs: Sequence[Run]) -> dict[str, list[float]]:
    """Each method's final best values, one per seed that has one."""
    return {
        method: [r.final_best for r in group if not math.isnan(r.final_best)]
        for method, group in by_method(runs).items()
    }


def pairwise(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Every unordered pair of methods on their final best values: two-sided Mann-Whitney U,
    its p-value Holm-corrected over all the pairs, Vargha-Delaney A of `a` over `b`, and the
    `winner` when the corrected p is below `alpha` (else None)."""
    values, direction = finals(runs), runs[0].direction
    names = [m for m, v in values.items() if len(v) >= 2]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            test = mann_whitney(values[a], values[b], direction)
            a12 = stats.vargha_delaney_a(values[a], values[b], direction)
            out.append({"a": a, "b": b, **test, "A": a12, "magnitude": stats.magnitude(a12)})
    for row, p in zip(out, stats.holm([r["p_two_sided"] for r in out]), strict=True):
        row["p_holm"] = p
        row["winner"] = (row["a"] if row["A"] > 0.5 else row["b"]) if p < ALPHA else None
    return out


def ranking(runs: Sequence[Run]) -> dict[str, Any]:
    """Average rank of each method over the seeds every method has (1 = best), Friedman's test
    on them and the Nemenyi critical difference; empty below 2 methods or 2 common seeds."""
    groups = by_method(runs)
    common = sorted(set.intersection(*({r.seed for r in g} for g in groups.values())))
    if len(groups) < 2 or len(common) < 2:
        return {}
    methods = list(groups)
    best = {(r.method, r.seed): r.final_best for r in runs}
    matrix = np.array([[best[(m, s)] for m in methods] for s in common], dtype=float)
    matrix = matrix[~np.isnan(matrix).any(axis=1)]
    if len(matrix) < 2:
        return {}
    ranks = dict(zip(methods, stats.average_ranks(matrix, runs[0].direction), strict=True))
    chi2, p = stats.friedman(matrix)
    cd = stats.nemenyi_cd(len(methods), len(matrix), ALPHA)
    return {
        "ranks": {m: float(v) for m, v in ranks.items()},
        "seeds": len(matrix),
        "friedman_chi2": chi2,
        "friedman_p": p,
        "cd": cd,
        "cliques": stats.cliques(ranks, cd),
    }


def _count(run: Run, state: TrialState) -> int:
    return sum(1 for t in run.trials if t.state == state)


def band(curves: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and interquartile range over seeds at each x (ragged curves padded with NaN)."""
    length = max(len(c) for c in curves)
    stack = np.full((len(curves), length), np.nan)
    for i, c in enumerate(curves):
        stack[i, : len(c)] = c
        if len(c):
            stack[i, len(c) :] = c[-1]  # a finished study keeps its best
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns before any value
        q25, med, q75 = np.nanpercentile(stack, [25, 50, 75], axis=0)
    return med, q25, q75


def on_epoch_grid(run: Run, grid: np.ndarray) -> np.ndarray:
    """Best-so-far as a step function of cumulative epochs, sampled at `grid`."""
    epochs, best = run.cumulative_epochs(), run.best_so_far()
    idx = np.searchsorted(epochs, grid, side="right") - 1
    out = np.where(idx >= 0, best[np.clip(idx, 0, None)] if len(best) else np.nan, np.nan)
    return out.astype(float)
