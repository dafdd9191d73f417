"""`StopOnSignal`: ends a Lightning fit after the current training batch once SIGTERM/SIGINT
arrived.

trainer = pl.Trainer(callbacks=[StopOnSignal()])   # inside hpo.train.signals.graceful_stop()
"""

from __future__ import annotations

import lightning.pytorch as pl

from hpo.train import signals


class StopOnSignal(pl.Callback):
    """Raises `signals.Interrupted` at the next training batch end after a stop was requested
    (a signal during validation stops at the next training batch, or ends with the fit: the
    epoch's validation and its pruning decision complete first)."""

    def on_train_batch_end(self, *args: object, **kwargs: object) -> None:
        signals.check()
