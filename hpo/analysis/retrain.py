"""Train a configuration again from scratch and score it on the test split.

    retrain(params, config, save=None)    # `hpo retrain --params best.yaml`
    retrain_best(runs)                    # `hpo report --retrain`: each method's best trial

Same data split, seed and epochs as the trial, so the validation figure reproduces the trial's
value; the test split, never seen by the search, gives the accuracy to report. The storage is
only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from optuna.trial import FrozenTrial, TrialState

from hpo.analysis.results import Run, by_method
from hpo.config.run import RunConfig, run_config
from hpo.errors import UsageError

#: The keys of a `--params` file (what `hpo best` writes).
KEYS = {
    *("study", "trial", "metric", "cap", "value", "dataset", "model", "max_epochs", "seed"),
    "params",
}


def retrain(params: dict[str, Any], config: RunConfig, save: str | None) -> dict[str, float]:
    """Fit, then test; returns the metric's value (as a trial would) and the test accuracy."""
    from hpo.config.metrics import create_metric
    from hpo.train.callbacks.epoch_curve import EpochCurve
    from hpo.train.fit import build, make_trainer, score_on_test_split

    built = build(params, config)
    curve = EpochCurve()
    trainer = make_trainer(config, [curve])
    trainer.fit(built.module, datamodule=built.datamodule)
    tested = score_on_test_split(trainer, built)
    if save:
        trainer.save_checkpoint(save, weights_only=True)
    return {config.metric: create_metric(config.metric, config.cap).value(curve.rows), **tested}


def read_params_file(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read --params {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(
            f"--params {path} is not valid YAML: {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise UsageError(f"--params {path} needs a 'params:' mapping (see `hpo best`)")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UsageError(f"--params {path}: unknown key(s) {unknown}; allowed: {sorted(KEYS)}")
    return data


def best_trial(group: Sequence[Run]) -> tuple[FrozenTrial | None, Run | None]:
    """The best COMPLETE trial over all seeds of one method."""
    sign = 1 if group[0].direction == "maximize" else -1
    done = [(t, r) for r in group for t in r.trials if t.state == TrialState.COMPLETE and t.value]
    return max(done, key=lambda pair: sign * pair[0].value, default=(None, None))


def retrain_best(runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """Fit each method's best trial's parameters for the study's max_epochs (same seed, data
    split and initialisation as the trial), then evaluate the final model on the test split."""
    out: dict[str, dict[str, Any]] = {}
    for method, group in by_method(runs).items():
        trial, run = best_trial(group)
        if trial is None or run is None:
            continue
        if run.attrs.get("compare", {}).get("objective", "train") != "train":
            raise UsageError("--retrain needs a comparison that trained (not a replay table)")
        config = run_config(run.attrs.get("config", {}), quiet=True, verbose=False)
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
