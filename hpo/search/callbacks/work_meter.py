"""`WorkMeter`: the work a fit has done, in model seconds (hpo.search.work_model), passed on
as it grows: after each training step, and after each validation pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning.pytorch as pl
import torch

from hpo.search.work_model import PER_MINIBATCH, PER_VALUE, PER_VALUE_VALIDATED
from hpo.train.data.loader import Step


def _pairs(batch: Any) -> Sequence[tuple[torch.Tensor, torch.Tensor]]:
    return batch if isinstance(batch, Step) else [batch]


class WorkMeter(pl.Callback):
    """Calls `on_work(seconds)` with the model seconds of each training step once it ends, and
    of each validation pass (first in the callbacks: before a pruner stops the fit)."""

    def __init__(self, on_work: Callable[[float], None]) -> None:
        self.on_work = on_work
        self._validated = 0.0

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:  # fmt: skip
        pairs = _pairs(batch)
        self.on_work(sum(PER_MINIBATCH + PER_VALUE * x.numel() for x, _ in pairs))

    def on_validation_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self._validated += sum(PER_VALUE_VALIDATED * x.numel() for x, _ in _pairs(batch))

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        validated, self._validated = self._validated, 0.0
        self.on_work(validated)
