"""The LightningModule every trial trains: loss, metrics, optimizer, LR schedule, augmentation.

The network itself comes from `hpo.models`; this module only knows how to train one. Every
keyword of `LitClassifier` (after `num_classes`) is a hyperparameter a search space may declare.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics.classification import MulticlassAccuracy

from hpo.augment import Augmentation
from hpo.losses import LOSSES
from hpo.optimizers import create_optimizer
from hpo.registry import accepted_kwargs
from hpo.schedulers import SCHEDULERS, ScheduleContext, create_scheduler


class LitClassifier(pl.LightningModule):
    """Classifier; logs `train_loss`, `train_acc`, `val_loss` and `val_acc` once per epoch.

    `train_loss` is the chosen `loss`; `val_loss`/`test_loss` are always cross-entropy, so trials
    that train with different losses stay comparable."""

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        loss: str = "cross_entropy",
        lr_schedule: str = "none",
        lr_step_epochs: int = 10,
        flip: bool = False,
        rotation: float = 0.0,
        scale: float = 0.0,
        noise: float = 0.0,
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_name = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.loss_fn = LOSSES.get(loss)
        SCHEDULERS.get(lr_schedule)  # an unknown name fails now, not after the first epoch
        self.lr_schedule = lr_schedule
        self.lr_step_epochs = int(lr_step_epochs)
        self.augmentation = Augmentation(bool(flip), float(rotation), float(scale), float(noise))
        self.train_acc = MulticlassAccuracy(num_classes=num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes=num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes=num_classes, average="micro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Augment training batches only, on whatever device they now live on."""
        if self.augmentation.active and self.trainer.training:
            x, y = batch
            return self.augmentation(x), y
        return batch

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss_fn(logits, y)
        self.train_acc(logits, y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        self.log("train_acc", self.train_acc, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_acc)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_acc)

    def _evaluate(
        self, batch: tuple[torch.Tensor, torch.Tensor], split: str, acc: nn.Module
    ) -> None:
        x, y = batch
        logits = self(x)
        acc(logits, y)
        self.log(f"{split}_loss", F.cross_entropy(logits, y), batch_size=len(y))
        self.log(f"{split}_acc", acc, batch_size=len(y))

    def configure_optimizers(self) -> Any:
        """The optimizer over the trainable parameters (a frozen base is added later by the
        fine-tuning callback), with the LR schedule if one is set."""
        optimizer = create_optimizer(
            self.optimizer_name,
            [p for p in self.parameters() if p.requires_grad],
            lr=self.lr,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
        )
        onecycle = self.lr_schedule == "onecycle"  # the only per-batch schedule
        context = ScheduleContext(
            lr=self.lr,
            max_epochs=self.trainer.max_epochs or 1,
            total_steps=int(self.trainer.estimated_stepping_batches) if onecycle else 0,
            step_epochs=self.lr_step_epochs,
        )
        scheduler = create_scheduler(self.lr_schedule, optimizer, context)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def configure_callbacks(self) -> list[pl.Callback]:
        """Callbacks the network asks for (e.g. ResNet fine-tuning)."""
        return list(getattr(self.net, "callbacks", list)())


def module_hyperparameters() -> set[str]:
    """The names a search space may set for the LightningModule."""
    return accepted_kwargs(LitClassifier, frozenset({"self", "net", "num_classes"}))
