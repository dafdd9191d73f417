"""The LightningModule every trial trains: loss, accuracy, optimizer from hyperparameters.

The network itself comes from `hpo.models`; this module only knows how to train one.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics.classification import MulticlassAccuracy

from hpo.optimizers import create_optimizer
from hpo.registry import accepted_kwargs


class LitClassifier(pl.LightningModule):
    """Cross-entropy classifier; logs `train_loss`, `train_acc`, `val_loss` and `val_acc` once
    per epoch."""

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_name = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.train_acc = MulticlassAccuracy(num_classes=num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes=num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes=num_classes, average="micro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
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

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return create_optimizer(
            self.optimizer_name,
            self.parameters(),
            lr=self.lr,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
        )


def module_hyperparameters() -> set[str]:
    """The names a search space may set for the LightningModule."""
    return accepted_kwargs(LitClassifier, frozenset({"self", "net", "num_classes"}))
