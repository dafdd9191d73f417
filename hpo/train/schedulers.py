"""Learning-rate schedules by name, as Lightning `lr_scheduler` configs (or None for `none`).

step      ÷10 every `lr_step_epochs` epochs (seed 000's decay)
cosine    cosine annealing to 0 over the trial's max epochs
plateau   ÷10 when val_loss has not improved for `lr_step_epochs` epochs
onecycle  one-cycle policy peaking at the trial's lr, stepped per batch
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch.optim import Optimizer, lr_scheduler

from hpo.errors import UsageError
from hpo.train.registries import SCHEDULERS


@dataclass(frozen=True)
class ScheduleContext:
    lr: float
    max_epochs: int
    total_steps: int  # optimizer steps in the whole fit (for per-batch schedules)
    step_epochs: int


SchedulerConfig = dict[str, Any] | None


def create_scheduler(name: str, optimizer: Optimizer, context: ScheduleContext) -> SchedulerConfig:
    if context.step_epochs < 1:
        raise UsageError(f"lr_step_epochs must be at least 1, got {context.step_epochs}")
    return SCHEDULERS.get(name)(optimizer, context)


def constant(optimizer: Optimizer, context: ScheduleContext) -> SchedulerConfig:
    """Constant learning rate."""
    return None


def step(optimizer: Optimizer, context: ScheduleContext) -> SchedulerConfig:
    """Divide the learning rate by 10 every `lr_step_epochs` epochs."""
    scheduler = lr_scheduler.StepLR(optimizer, step_size=context.step_epochs, gamma=0.1)
    return {"scheduler": scheduler, "interval": "epoch"}


def cosine(optimizer: Optimizer, context: ScheduleContext) -> SchedulerConfig:
    """Cosine annealing from lr to 0 over the trial's epochs."""
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, context.max_epochs))
    return {"scheduler": scheduler, "interval": "epoch"}


def plateau(optimizer: Optimizer, context: ScheduleContext) -> SchedulerConfig:
    """Divide by 10 after `lr_step_epochs` epochs without a lower val_loss."""
    scheduler = lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.1, patience=context.step_epochs
    )
    return {"scheduler": scheduler, "interval": "epoch"}  # stepped with val_loss (train.module)


def onecycle(optimizer: Optimizer, context: ScheduleContext) -> SchedulerConfig:
    """One-cycle policy: warm up to lr, anneal far below it, stepped every batch."""
    scheduler = lr_scheduler.OneCycleLR(
        optimizer, max_lr=context.lr, total_steps=max(2, context.total_steps)
    )
    return {"scheduler": scheduler, "interval": "step"}
