"""One trial: sample → build → fit with per-epoch pruning → value and trial attrs.

    study.optimize(Objective(config, space), n_trials=1)

The fit itself is hpo.train's (no Optuna there); this module adds what makes it a trial: the
pruning callback, the checkpoint a retry resumes from, the dashboard artifacts, the attrs.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import lightning.pytorch as pl
import optuna
from lightning.pytorch.utilities.exceptions import SIGTERMException
from optuna_integration import PyTorchLightningPruningCallback

from hpo.config.amounts import parse_amount
from hpo.config.metrics import NEVER_DONE, NO_PRUNED_VALUE, Metric, create_metrics, metric_values
from hpo.config.run import RunConfig
from hpo.config.space import SearchSpace
from hpo.errors import UsageError
from hpo.persist.artifacts import artifact_store
from hpo.persist.checkpoints import CheckpointJanitor, checkpoint_root, resume_point, trial_dir
from hpo.persist.internals import set_user_attrs
from hpo.search.callbacks.checkpoint_sweep import CheckpointSweep
from hpo.search.callbacks.pruned_value import PrunedValue
from hpo.search.callbacks.trial_artifacts import TrialArtifacts
from hpo.search.callbacks.trial_checkpoint import TrialCheckpoint
from hpo.search.callbacks.work_meter import WorkMeter
from hpo.train import signals
from hpo.train.callbacks.divergence_stop import DivergenceStop
from hpo.train.callbacks.epoch_curve import EpochCurve
from hpo.train.callbacks.random_state import RandomState
from hpo.train.callbacks.stop_at_target import StopAtTarget
from hpo.train.callbacks.stop_on_signal import StopOnSignal
from hpo.train.divergence import divergence, divergence_threshold
from hpo.train.fit import Built, build, make_trainer, score_on_test_split
from hpo.train.loggers import trial_loggers
from hpo.train.routing import route

#: A trial's value, or its values (one per objective) in a multi-objective study.
Values = float | tuple[float, ...]


class Objective:
    """Optuna objective: each call trains one configuration sampled from `space`. `on_work`
    hears the fits' work as it grows (WorkMeter: a parallel worker's progress)."""

    def __init__(
        self,
        config: RunConfig,
        space: SearchSpace,
        on_work: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.on_work = on_work
        self.space = space
        #: a multi-objective study's metrics, in order; empty for one objective
        self.objectives: list[Metric] = create_metrics(config.metric, config.cap)
        self.metric: Metric = self.objectives[0]
        if len(self.objectives) == 1:
            self.objectives = []

    def __call__(self, trial: optuna.Trial) -> Values:
        params = self.space.suggest(trial)
        return run_repeats(trial, params, self.config, self.metric, self.objectives, self.on_work)


def run_repeats(
    trial: optuna.Trial,
    params: dict[str, Any],
    config: RunConfig,
    metric: Metric,
    objectives: Sequence[Metric] = (),
    on_work: Callable[[float], None] | None = None,
) -> Values:
    """`repeats: k` (seed 004): fit the configuration k times with seeds seed, seed+1, … (weights,
    shuffling and seeded splits); the value is the mean, each repeat's value is kept in the trial
    attr `repeat_values`. A pruned or failed repeat ends the trial."""
    repeats = int(route(params, config.model, config.dataset).objective.get("repeats", 1))
    if repeats < 1:
        raise UsageError(f"repeats must be at least 1, got {repeats}")
    if repeats == 1:
        return run_trial(trial, params, config, metric, objectives, on_work)
    start, values = time.perf_counter(), []
    for k in range(repeats):
        seeded = replace(config, seed=config.seed + k)
        values.append(run_trial(trial, params, seeded, metric, objectives, on_work))
        trial.set_user_attr("repeat_values", values)
    trial.set_user_attr("wall_seconds", round(time.perf_counter() - start, 3))
    if objectives:
        return tuple(sum(column) / len(values) for column in zip(*values, strict=True))
    return sum(values) / len(values)


def run_trial(
    trial: optuna.Trial,
    params: dict[str, Any],
    config: RunConfig,
    metric: Metric,
    objectives: Sequence[Metric] = (),
    on_work: Callable[[float], None] | None = None,
) -> Values:
    """Fit one configuration, reporting `metric.monitor` each epoch to the pruner.

    Ends COMPLETE with the metric's value, PRUNED (by the pruner, or because the loss diverged:
    DivergenceStop ends such a fit), or FAIL; `stop_reason` says which. The trial is
    checkpointed every --checkpoint-every and on SIGTERM/SIGINT, which then raises
    `signals.Interrupted` after the current step; a retried trial resumes from its
    predecessor's checkpoint. With `objectives` (a multi-objective study, `metric` first) it
    returns one value per objective and nothing is pruned: Optuna's pruners take one value."""
    built = build(params, config)
    curve = EpochCurve()
    resume = resume_point(trial, curve.state_key)
    root = checkpoint_root(config)
    # Finished trials' checkpoints are swept before each trial, whoever runs it (hpo.study,
    # hpo.compare); the caller sweeps once more when its run ends.
    CheckpointJanitor(root, config.keep_checkpoints)(trial.study)
    every = parse_amount(config.checkpoint_every, "--checkpoint-every", allow_zero=True)
    directory = trial_dir(root, trial.study.study_name, trial.number)
    callbacks: list[pl.Callback] = [
        *([WorkMeter(on_work)] if on_work else []),  # first: a pruned epoch's work counts
        curve,  # before the pruner, so an epoch it stops is still recorded
        *([] if objectives else [PyTorchLightningPruningCallback(trial, metric.monitor)]),
        DivergenceStop(built.datamodule.num_classes),
        TrialCheckpoint(trial, directory, every),  # (Lightning calls it last)
        RandomState(),  # in the checkpoint: a resumed fit draws what this one would have
        StopOnSignal(),
        CheckpointSweep(trial, curve, metric, directory, config.keep_checkpoints),
    ]
    if metric.done is not NEVER_DONE:  # (each callback costs Lightning a call per hook)
        callbacks.append(StopAtTarget(metric, curve))
    if metric.pruned is not NO_PRUNED_VALUE:
        callbacks.append(PrunedValue(trial, curve, metric))
    if config.artifacts:
        callbacks.append(TrialArtifacts(trial, curve, metric, artifact_store(config.storage)))
    trainer = make_trainer(config, callbacks, trial_loggers(config, trial.number, params))
    if resume is not None:
        if not objectives:
            resume.report_to(trial)  # before fit: the pruner reports only the epochs trained now
        trial.set_user_attr(
            "resumed_from", {"checkpoint": str(resume.path), "epochs": len(resume.epochs)}
        )
    elif "resumed_from" in trial.user_attrs:  # copied from a predecessor; not resumed this time
        trial.set_user_attr("resumed_from", {"checkpoint": None, "epochs": 0})
    signals.check()
    start = time.perf_counter()

    def record(reason: str, extra: dict[str, Any] | None = None) -> None:
        _record(trial, curve, built, time.perf_counter() - start, reason, extra)

    try:
        trainer.fit(
            built.module,
            datamodule=built.datamodule,
            ckpt_path=resume.path if resume is not None else None,
            weights_only=True,
        )
    except SIGTERMException:  # Lightning's own SIGTERM stop: a SystemExit(0) otherwise
        raise signals.Interrupted(signal.SIGTERM) from None
    except optuna.TrialPruned:
        record(f"pruned at epoch {curve.epochs}")
        raise
    except Exception as exc:
        record(f"failed: {type(exc).__name__}: {exc}")
        raise
    diverged = divergence(curve.rows, divergence_threshold(built.datamodule.num_classes))
    if diverged is not None:
        record(f"diverged: {diverged}")
        raise optuna.TrialPruned(f"diverged: {diverged}")
    record("completed", metric.attrs(curve.rows))
    if config.test:  # test-split scores, as attrs (never the objective)
        scores = score_on_test_split(trainer, built)
        set_user_attrs(trial, {key: round(value, 6) for key, value in scores.items()})
    if objectives:
        facts = {"n_params": float(built.n_params)}
        return tuple(metric_values(objectives, curve.rows, facts))
    return metric.value(curve.rows)


def _record(
    trial: optuna.Trial,
    curve: EpochCurve,
    built: Built,
    seconds: float,
    reason: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """The trial's end in its attrs, written at once (one storage write, not one per attr)."""
    resumed = trial.user_attrs.get("resumed_from", {}).get("epochs", 0)
    attrs = {
        "n_params": built.n_params,
        "epochs": curve.epochs,
        "epochs_trained": curve.epochs - resumed,
        "wall_seconds": round(seconds, 3),
        "stop_reason": reason,
        "curve": [_json_safe(row) for row in curve.rows],
    }
    set_user_attrs(trial, attrs | (extra or {}))


def _json_safe(row: dict[str, float]) -> dict[str, float | None]:
    """NaN/inf become null: the dashboard's JSON parser rejects them."""
    return {k: (round(v, 6) if math.isfinite(v) else None) for k, v in row.items()}
