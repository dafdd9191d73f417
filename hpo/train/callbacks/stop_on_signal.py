"""`StopOnSignal`: ends a Lightning fit once SIGTERM/SIGINT arrived, before the next training
step (one mini-batch or several: hpo.train.data.loader): right after the current step, or
after the epoch's validation and end when that step was the epoch's last.

trainer = pl.Trainer(callbacks=[StopOnSignal()])   # inside hpo.train.signals.graceful_stop()
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

from hpo.train import signals


class StopOnSignal(pl.Callback):
    """Raises `signals.Interrupted` when the next training step starts after a stop was
    requested. Every hook of the step before has run by then (a checkpoint taken on the signal
    among them: `hpo.search.callbacks.trial_checkpoint`); a fit in its last epoch ends as usual
    (its pruning decision and value complete first)."""

    def on_train_batch_start(self, *args: Any, **kwargs: Any) -> None:
        signals.check()


def last_batch_of_epoch(trainer: pl.Trainer) -> bool:
    """Whether the training step just run was its epoch's last."""
    return trainer.fit_loop.epoch_loop.batch_progress.is_last_batch


def fit_ends_now(trainer: pl.Trainer) -> bool:
    """At an epoch's end: whether the fit stops after this epoch anyway."""
    return trainer.should_stop or trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
