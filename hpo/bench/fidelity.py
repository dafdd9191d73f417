"""How faithful a surrogate table is: its answers against real fits it never saw.

    table, fidelity = pack(fits, space, meta)      # what `hpo replay pack` does

A seeded 15 % of the design's space-filling points (never its corners) is held out; the model is
chosen among hpo.bench.surrogate.MODELS by 5-fold cross-validation on the rest (Spearman rank
correlation of the final validation accuracy, then its mean absolute error), fitted on the rest,
and scored on the held-out fits. The shipped table is then fitted on every fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.model_selection import KFold

from hpo.bench.replay import COLUMNS
from hpo.bench.surrogate import MODELS, SurrogateTable
from hpo.config.space import SearchSpace
from hpo.errors import UsageError

VAL_ACC = COLUMNS.index("val_acc")


def holdout(fits: list[dict[str, Any]], fraction: float, seed: int, first: int = 0):
    """(kept, held out): a seeded `fraction` of the fits whose design index is ≥ `first`."""
    rng = np.random.default_rng(seed)
    eligible = [i for i, f in enumerate(fits) if int(f.get("index", first)) >= first]
    held = set(rng.choice(eligible, size=round(fraction * len(eligible)), replace=False).tolist())
    return (
        [f for i, f in enumerate(fits) if i not in held],
        [f for i, f in enumerate(fits) if i in held],
    )


def score(table: SurrogateTable, held: list[dict[str, Any]]) -> dict[str, float]:
    """Predicted vs real on `held`: final val_acc (Spearman, MAE), the whole val_acc curve
    (MAE over epochs, mean per-epoch Spearman), all on the curves as the table stores them.
    Also the Spearman over the fits that learned (final val_acc at least twice chance): among
    fits stuck at chance the real order is which class a dead network happens to predict."""
    real = table.targets(held).reshape(len(held), table.max_epochs, len(COLUMNS))
    pred = table.model.predict(table.inputs(held)).reshape(real.shape)
    acc_real, acc_pred = real[:, :, VAL_ACC], pred[:, :, VAL_ACC]
    per_epoch = [_spearman(acc_real[:, e], acc_pred[:, e]) for e in range(table.max_epochs)]
    learned = acc_real[:, -1] >= 2.0 / table.num_classes  # the rest: chance, ranked by noise
    return {
        "n": len(held),
        "final_val_acc_spearman": _spearman(acc_real[:, -1], acc_pred[:, -1]),
        "n_learned": int(learned.sum()),
        "final_val_acc_spearman_learned": _spearman(acc_real[learned, -1], acc_pred[learned, -1]),
        "final_val_acc_mae": float(np.mean(np.abs(acc_real[:, -1] - acc_pred[:, -1]))),
        "curve_val_acc_mae": float(np.mean(np.abs(acc_real - acc_pred))),
        "curve_val_acc_spearman": float(np.nanmean(per_epoch)),
    }


def cross_validate(
    table: SurrogateTable, folds: int = 5, seed: int = 0, models: Sequence[str] = tuple(MODELS)
) -> dict[str, Any]:
    """Mean held-out scores of each candidate of `models` over `folds` folds of the table's
    fits."""
    results = {}
    for name in models:
        scores = []
        for train, test in KFold(folds, shuffle=True, random_state=seed).split(table.fits):
            part = _with(table, [table.fits[i] for i in train], model=name)
            scores.append(score(part, [table.fits[i] for i in test]))
        results[name] = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
    return results


def best_model(results: dict[str, dict[str, float]]) -> str:
    """Highest final-accuracy Spearman; the lower MAE breaks a tie."""
    return max(
        results,
        key=lambda m: (results[m]["final_val_acc_spearman"], -results[m]["final_val_acc_mae"]),
    )


def pack(
    fits: list[dict[str, Any]],
    space: SearchSpace,
    meta: dict[str, Any],
    fraction: float = 0.15,
    seed: int = 0,
    first: int = 0,
    models: Sequence[str] = tuple(MODELS),
) -> tuple[SurrogateTable, dict[str, Any]]:
    """The table to ship (every fit, the model chosen among `models`) and its measured
    fidelity."""
    kept, held = holdout(fits, fraction, seed, first)
    if len(held) < 3:
        raise UsageError(f"only {len(held)} fits to hold out: sample more of the design first")
    candidates = cross_validate(SurrogateTable(space, kept, meta), seed=seed, models=models)
    chosen = best_model(candidates)
    fidelity = {
        "model": chosen,
        "held_out": score(SurrogateTable(space, kept, {**meta, "model": chosen}), held),
        "cross_validation": candidates,
        "fraction": fraction,
        "seed": seed,
    }
    table = SurrogateTable(space, fits, {**meta, "model": chosen, "fidelity": fidelity})
    return table.with_fitted_state(), fidelity


def _with(table: SurrogateTable, fits: list[dict[str, Any]], model: str) -> SurrogateTable:
    return replace(table, fits=fits, meta={**table.meta, "model": model})


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")  # undefined on a constant column (e.g. epoch 1, all at chance)
    return float(spearmanr(a, b).statistic)
