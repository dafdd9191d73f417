"""`hpo.report --retrain`: each method's best configuration trained again and scored on the
test split (the one place the report trains; the storage is still only read).

scores = retrain_best(runs)   # {method: {"params": …, "test_acc": …, "val_value": …}}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from optuna.trial import TrialState

from hpo.errors import UsageError
from hpo.results import Run, by_method


def best_trial(group: Sequence[Run]):
    """The best COMPLETE trial over all seeds of one method."""
    sign = 1 if group[0].direction == "maximize" else -1
    done = [(t, r) for r in group for t in r.trials if t.state == TrialState.COMPLETE and t.value]
    return max(done, key=lambda pair: sign * pair[0].value, default=(None, None))


def retrain_best(runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """Fit each method's best trial's parameters for the study's max_epochs (same seed, data
    split and initialisation as the trial), then evaluate the final model on the test split."""
    from hpo.config import RunConfig
    from hpo.retrain_params import retrain

    out: dict[str, dict[str, Any]] = {}
    for method, group in by_method(runs).items():
        trial, run = best_trial(group)
        if trial is None:
            continue
        if run.attrs.get("compare", {}).get("objective", "train") != "train":
            raise UsageError("--retrain needs a comparison that trained (not a replay table)")
        stored = run.attrs.get("config", {})
        known = {f.name for f in fields(RunConfig)}
        config = RunConfig(**{k: v for k, v in stored.items() if k in known})
        config.quiet, config.verbose = True, False
        fixed = run.attrs.get("identity", {}).get("space", {}).get("fixed", {})
        params = {**trial.params, **fixed}
        test_acc = retrain(params, config, save=None)["test_acc"]
        out[method] = {
            "params": trial.params,
            "study": f"{method}/seed{run.seed}",
            "trial": trial.number,
            "val_value": trial.value,
            "test_acc": test_acc,
        }
    return out
