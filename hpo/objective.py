"""One trial: sample → build → fit with per-epoch pruning → value and trial attrs.

study.optimize(Objective(config, space), n_trials=1)
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import optuna
import torch
from lightning.pytorch.callbacks import Checkpoint, EarlyStopping
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from optuna_integration import PyTorchLightningPruningCallback

from hpo import interrupt
from hpo.artifacts import TrialArtifacts, artifact_store
from hpo.checkpoints import CheckpointJanitor, TrialCheckpoint, resume_point, trial_dir
from hpo.config import RunConfig
from hpo.curve import EpochCurve
from hpo.data import TensorDataModule, create_datamodule
from hpo.errors import UsageError
from hpo.lit_module import LitClassifier
from hpo.loggers import trial_loggers
from hpo.metrics import Metric, create_metric
from hpo.models import count_parameters, create_model
from hpo.routing import route
from hpo.search_space import SearchSpace
from hpo.stop_on_signal import StopOnSignal
from hpo.storage import default_checkpoint_root
from hpo.target_stop import StopAtTarget


@dataclass
class Built:
    module: LitClassifier
    datamodule: TensorDataModule
    n_params: int


def build(params: dict[str, Any], config: RunConfig) -> Built:
    """Data module, network and LightningModule for one set of hyperparameters.

    The weights are seeded with the run's seed, so every trial starts from the same
    initialisation for its architecture and trials differ only by their hyperparameters."""
    torch.set_num_threads(config.threads)  # see RunConfig.threads and benchmarks/README.md
    routed = route(params, config.model, config.dataset)
    dm = create_datamodule(
        config.dataset, seed=config.seed, data_dir=config.data_dir, **routed.data
    )
    dm.setup("fit")
    pl.seed_everything(config.seed, workers=False, verbose=False)
    net = create_model(
        config.model,
        in_channels=dm.in_channels,
        num_classes=dm.num_classes,
        image_size=dm.image_size,
        **routed.model,
    )
    module = LitClassifier(net, dm.num_classes, **routed.module)
    return Built(module, dm, count_parameters(net))


def make_trainer(
    config: RunConfig, callbacks: list[pl.Callback], logger: list[Logger] | bool = False
) -> pl.Trainer:
    """A Trainer that does only what a trial needs: no logger, checkpoints or bars by default."""
    limit = 1.0 if config.limit_batches is None else _batches(config.limit_batches)
    return pl.Trainer(
        max_epochs=config.max_epochs,
        accelerator="auto",
        devices=1,
        logger=logger,
        limit_train_batches=limit,
        limit_val_batches=limit,
        enable_checkpointing=any(isinstance(c, Checkpoint) for c in callbacks),
        enable_progress_bar=config.verbose,
        enable_model_summary=config.verbose,
        num_sanity_val_steps=0,
        callbacks=callbacks,
    )


def _batches(limit: float) -> int | float:
    """Lightning reads an int as a number of batches and a float as a fraction."""
    return int(limit) if float(limit).is_integer() and limit >= 1 else float(limit)


class Objective:
    """Optuna objective: each call trains one configuration sampled from `space`."""

    def __init__(self, config: RunConfig, space: SearchSpace) -> None:
        self.config = config
        self.space = space
        self.metric: Metric = create_metric(config.metric, config.cap)

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.space.suggest(trial)
        return run_repeats(trial, params, self.config, self.metric)


def run_repeats(
    trial: optuna.Trial, params: dict[str, Any], config: RunConfig, metric: Metric
) -> float:
    """`repeats: k` (seed 004): fit the configuration k times with seeds seed, seed+1, … (weights,
    shuffling and seeded splits); the value is the mean, each repeat's value is kept in the trial
    attr `repeat_values`. A pruned or failed repeat ends the trial."""
    repeats = int(route(params, config.model, config.dataset).objective.get("repeats", 1))
    if repeats < 1:
        raise UsageError(f"repeats must be at least 1, got {repeats}")
    if repeats == 1:
        return run_trial(trial, params, config, metric)
    start, values = time.perf_counter(), []
    for k in range(repeats):
        values.append(run_trial(trial, params, replace(config, seed=config.seed + k), metric))
        trial.set_user_attr("repeat_values", values)
    trial.set_user_attr("wall_seconds", round(time.perf_counter() - start, 3))
    return sum(values) / len(values)


def run_trial(
    trial: optuna.Trial, params: dict[str, Any], config: RunConfig, metric: Metric
) -> float:
    """Fit one configuration, reporting `metric.monitor` each epoch to the pruner.

    Ends COMPLETE with the metric's value, PRUNED (by the pruner, or because the loss diverged:
    Lightning's EarlyStopping stops such a fit), or FAIL; `stop_reason` says which.
    Each epoch is checkpointed; a retried trial resumes from its predecessor's checkpoint. A
    SIGTERM/SIGINT raises `interrupt.Interrupted` after the current batch."""
    built = build(params, config)
    resume = resume_point(trial)
    root = checkpoint_root(config)
    # Finished trials' checkpoints are swept before each trial, whoever runs it (hpo.study,
    # hpo.compare); the caller sweeps once more when its run ends.
    CheckpointJanitor(root, config.keep_checkpoints)(trial.study)
    curve = EpochCurve()
    callbacks: list[pl.Callback] = [
        curve,  # first, so an epoch the pruner stops is still recorded
        PyTorchLightningPruningCallback(trial, monitor=metric.monitor),
        *divergence_stops(built.datamodule.num_classes, config.max_epochs),
        StopAtTarget(metric, curve),
        StopOnSignal(),
        TrialCheckpoint(trial, trial_dir(root, trial.study.study_name, trial.number)),
    ]
    if config.artifacts:
        callbacks.append(TrialArtifacts(trial, curve, metric, artifact_store(config.storage)))
    trainer = make_trainer(config, callbacks, trial_loggers(config, trial.number, params))
    trial.set_user_attr("n_params", built.n_params)
    if resume is not None:
        resume.report_to(trial)  # before fit: the pruner reports only the epochs trained now
        trial.set_user_attr(
            "resumed_from", {"checkpoint": str(resume.path), "epochs": len(resume.epochs)}
        )
    elif "resumed_from" in trial.user_attrs:  # copied from a predecessor; not resumed this time
        trial.set_user_attr("resumed_from", {"checkpoint": None, "epochs": 0})
    interrupt.check()
    start = time.perf_counter()
    try:
        trainer.fit(
            built.module,
            datamodule=built.datamodule,
            ckpt_path=resume.path if resume is not None else None,
            weights_only=True,
        )
    except SIGTERMException:  # Lightning's own SIGTERM stop: a SystemExit(0) otherwise
        raise interrupt.Interrupted(signal.SIGTERM) from None
    except optuna.TrialPruned:
        _record(trial, curve, start, f"pruned at epoch {curve.epochs}")
        raise
    except Exception as exc:
        _record(trial, curve, start, f"failed: {type(exc).__name__}: {exc}")
        raise
    diverged = divergence(curve.rows, divergence_threshold(built.datamodule.num_classes))
    if diverged is not None:
        _record(trial, curve, start, f"diverged: {diverged}")
        raise optuna.TrialPruned(f"diverged: {diverged}")
    _record(trial, curve, start, "completed")
    for key, value in metric.attrs(curve.rows).items():
        trial.set_user_attr(key, value)
    if config.test:
        record_test(trial, trainer, built)
    return metric.value(curve.rows)


def checkpoint_root(config: RunConfig) -> Path:
    """--checkpoint-dir, else beside the SQLite/journal file (studies/ by default)."""
    if config.checkpoint_dir:
        return Path(config.checkpoint_dir)
    return default_checkpoint_root(config.storage)


def record_test(trial: optuna.Trial, trainer: pl.Trainer, built: Built) -> None:
    """Test-split accuracy and loss of the trained model as trial attrs (never the objective)."""
    (results,) = trainer.test(built.module, datamodule=built.datamodule, verbose=False)
    for key in ("test_acc", "test_loss"):
        trial.set_user_attr(key, round(float(results[key]), 6))


def divergence_threshold(num_classes: int) -> float:
    """A loss this high means the weights blew up: 100× the cross-entropy of a uniform guess.

    With ReLU networks an exploding learning rate often leaves the loss huge but finite (dead
    units), so NaN/inf alone would miss most divergences."""
    return 100.0 * math.log(max(num_classes, 2))


def divergence_stops(num_classes: int, max_epochs: int) -> list[EarlyStopping]:
    """Lightning's EarlyStopping, used only to end a fit whose train or val loss diverged."""
    threshold = divergence_threshold(num_classes)
    return [
        EarlyStopping(
            monitor=key,
            check_finite=True,
            divergence_threshold=threshold,
            patience=max_epochs + 1,
            check_on_train_epoch_end=key.startswith("train"),
        )
        for key in ("train_loss", "val_loss")
    ]


def divergence(rows: list[dict[str, float]], threshold: float) -> str | None:
    """'train_loss=nan at epoch 2'-style description of the first diverged epoch, if any."""
    for row in rows:
        for key in ("train_loss", "val_loss"):
            value = row.get(key)
            if value is not None and not (math.isfinite(value) and value <= threshold):
                return f"{key}={value:.3g} at epoch {int(row['epoch']) + 1}"
    return None


def _record(trial: optuna.Trial, curve: EpochCurve, start: float, reason: str) -> None:
    resumed = trial.user_attrs.get("resumed_from", {}).get("epochs", 0)
    trial.set_user_attr("epochs", curve.epochs)
    trial.set_user_attr("epochs_trained", curve.epochs - resumed)
    trial.set_user_attr("wall_seconds", round(time.perf_counter() - start, 3))
    trial.set_user_attr("stop_reason", reason)
    trial.set_user_attr("curve", [_json_safe(row) for row in curve.rows])


def _json_safe(row: dict[str, float]) -> dict[str, float | None]:
    """NaN/inf become null: the dashboard's JSON parser rejects them."""
    return {k: (round(v, 6) if math.isfinite(v) else None) for k, v in row.items()}
