"""Evaluate a trained module beyond its epoch metrics."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch


@torch.no_grad()
def confusion_matrix(module: pl.LightningModule, batches: Any) -> Any:
    """Counts of (true, predicted) class over `batches`, as a numpy array."""
    from torchmetrics.classification import MulticlassConfusionMatrix

    was_training = module.training
    module.eval()
    num_classes = module.num_classes
    counts = MulticlassConfusionMatrix(num_classes=num_classes)
    for x, y in batches:
        counts.update(module(x.to(module.device)).argmax(dim=1).cpu(), y)
    module.train(was_training)
    return counts.compute().numpy()
