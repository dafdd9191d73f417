"""`StopOnSignal`: ends a Lightning fit after the current batch once SIGTERM/SIGINT arrived.

trainer = pl.Trainer(callbacks=[StopOnSignal()])   # inside hpo.train.signals.graceful_stop()
"""

from __future__ import annotations

import lightning.pytorch as pl

from hpo.train import signals


class StopOnSignal(pl.Callback):
    """Raises `signals.Interrupted` at the next batch end after a stop was requested."""

    def on_train_batch_end(self, *args: object, **kwargs: object) -> None:
        signals.check()

    def on_validation_batch_end(self, *args: object, **kwargs: object) -> None:
        signals.check()
