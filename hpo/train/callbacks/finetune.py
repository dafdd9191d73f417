"""`FinetuneBase`: the optional fine-tuning phase of ResNet transfer learning (seed 002).

Added to the trainer by `TransferNet.callbacks()` through `LitClassifier.configure_callbacks`.
"""

from __future__ import annotations

import lightning.pytorch as pl
from lightning.pytorch.callbacks import BaseFinetuning
from torch.optim import Optimizer


class FinetuneBase(BaseFinetuning):
    """Keeps the base frozen, then unfreezes it for the last `epochs` epochs of the fit, with
    every learning rate (head's and base's) at a tenth of the head's."""

    def __init__(self, epochs: int, lr_divisor: float = 10.0) -> None:
        super().__init__()
        self.epochs = epochs
        self.lr_divisor = lr_divisor
        self.start_epoch: int | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start_epoch = max(1, (trainer.max_epochs or 1) - self.epochs)
        super().on_fit_start(trainer, pl_module)

    def freeze_before_training(self, pl_module: pl.LightningModule) -> None:
        self.freeze(pl_module.net.base, train_bn=False)

    def finetune_function(
        self, pl_module: pl.LightningModule, epoch: int, optimizer: Optimizer
    ) -> None:
        if epoch != self.start_epoch:
            return
        for group in optimizer.param_groups:
            for key in ("lr", "initial_lr", "max_lr", "min_lr"):  # schedulers' keys, if any
                if key in group:
                    group[key] = group[key] / self.lr_divisor
        template = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
        self.unfreeze_and_add_param_group(
            pl_module.net.unfrozen_in_finetuning(), optimizer, lr=template["lr"]
        )
        for key, value in template.items():  # the new group gets the scheduler's keys too
            optimizer.param_groups[-1].setdefault(key, value)
