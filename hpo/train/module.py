"""The LightningModule every trial trains: loss, metrics, optimizer, LR schedule, augmentation.

The network itself comes from `hpo.train.models`; this module only knows how to train one. Every
keyword of `LitClassifier` (after `num_classes`) is a hyperparameter a search space may declare.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import nn
from torch.nn import functional as F
from torch.optim.lr_scheduler import ReduceLROnPlateau

from hpo.train.augment import Augmentation
from hpo.train.data.loader import Batch, Step, TensorLoader
from hpo.train.optimizers import create_optimizer
from hpo.train.registries import LOSSES, SCHEDULERS
from hpo.train.schedulers import ScheduleContext, create_scheduler

PLATEAU_MONITOR = "val_loss"


class EpochSums:
    """Per-batch losses and correct counts of one split, summed once per epoch.

    Hand-written instead of torchmetrics/`self.log` per step: appending two detached 0-d tensors
    costs ~25 µs and never syncs, where a per-step `self.log` or metric update costs a good part
    of a small CNN's step on a CPU (benchmarks/README.md)."""

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.correct: list[torch.Tensor] = []
        self.sizes: list[int] = []

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.losses.append(loss.detach())
        self.correct.append((logits.detach().argmax(dim=1) == y).sum())
        self.sizes.append(len(y))

    def means(self, split: str) -> dict[str, torch.Tensor]:
        """`{split}_loss` and `{split}_acc` over the samples added (weighted by batch size),
        then reset."""
        if not self.sizes:
            return {}
        sizes = torch.tensor(self.sizes, dtype=torch.float64)
        n = sizes.sum()
        loss = (torch.stack(self.losses).double().cpu() * sizes).sum() / n
        acc = torch.stack(self.correct).sum().double().cpu() / n
        self.losses, self.correct, self.sizes = [], [], []
        return {f"{split}_loss": loss.float(), f"{split}_acc": acc.float()}

    def state_dict(self) -> dict[str, list]:
        return {"losses": self.losses, "correct": self.correct, "sizes": self.sizes}

    def load_state_dict(self, state: dict[str, list]) -> None:
        self.losses, self.correct, self.sizes = (list(state[k]) for k in self.state_dict())


class LitClassifier(pl.LightningModule):
    """Classifier; logs `train_loss`, `train_acc`, `val_loss` and `val_acc` (and `test_*`) once
    per epoch, as means over the epoch's samples (`EpochSums`: nothing is logged per step).

    `train_loss` is the chosen `loss`; `val_loss`/`test_loss` are always cross-entropy, so trials
    that train with different losses stay comparable.

    Manual optimization: a mini-batch is forward, backward, optimizer step, nothing else, and a
    Lightning step may hold several mini-batches (`TensorLoader`'s `batches_per_step`).
    Lightning's automatic loop wraps each step in a closure and half a dozen callback hooks,
    which costs as much as the step of a small CNN on a CPU (benchmarks/README.md). The LR
    schedulers Lightning would step are stepped here, by their own interval (per mini-batch or
    per epoch): the trial's schedule, the LR finder's sweep, the fine-tuning callback's added
    parameter groups all keep working."""

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
        self.num_classes = num_classes
        self.optimizer_name = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.loss_fn = LOSSES.get(loss)
        SCHEDULERS.get(lr_schedule)  # an unknown name fails now, not after the first epoch
        self.lr_schedule = lr_schedule
        self.lr_step_epochs = int(lr_step_epochs)
        self.augmentation = Augmentation(bool(flip), float(rotation), float(scale), float(noise))
        self.sums = {split: EpochSums() for split in ("train", "val", "test")}
        self.automatic_optimization = False
        self._direct_backward = self._direct_step = False  # (on_fit_start)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def transfer_batch_to_device(
        self, batch: Batch | Step, device: torch.device, dataloader_idx: int
    ) -> Batch | Step:
        """Our batches are an (x, y) pair, or a training `Step` of pairs: skip Lightning's
        generic collection walk."""
        if isinstance(batch, Step):
            return Step(self._to(pair, device) for pair in batch)
        return self._to(batch, device)

    @staticmethod
    def _to(batch: Batch, device: torch.device) -> Batch:
        x, y = batch
        if x.device == device:
            return batch
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def training_step(self, batch: Batch | Step, batch_idx: int) -> torch.Tensor:
        """One step: each of its mini-batches augmented, then forward, backward and an
        optimizer step, as if Lightning had given them one at a time."""
        optimizer = self.optimizers()
        for x, y in batch if isinstance(batch, Step) else [batch]:
            if self.augmentation.active:
                x = self.augmentation(x)
            logits = self(x)
            loss = self.loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            self._backward(loss)
            self._optimizer_step(optimizer)
            self._step_schedulers("step")
            self.sums["train"].add(loss, logits, y)
        if batch_idx + 1 == self.trainer.num_training_batches:
            # Logged from the last step, not on_train_epoch_end: callbacks (EpochCurve) run
            # their on_train_epoch_end before the module's. Logged once an epoch: batch_size=1
            # keeps Lightning's epoch mean (weighted by batch size) from rounding the value.
            means = self.sums["train"].means("train")
            self.log_dict(means, on_step=False, on_epoch=True, batch_size=1)
        return loss

    def on_fit_start(self) -> None:
        """Backward and optimizer step through Lightning (`manual_backward`, its optimizer
        wrapper's strategy step) only where they do more than `loss.backward()` and
        `optimizer.step()`: another precision or strategy, or a hook that wants to see them.
        Each runs the hooks of every callback, ~2 % of a digits trial each (benchmarks/)."""
        trainer = self.trainer
        plain = type(trainer.precision_plugin) is Precision and isinstance(
            trainer.strategy, SingleDeviceStrategy
        )

        def listening(*hooks: str, module_only: tuple[str, ...] = ()) -> bool:
            return any(
                is_overridden(hook, self, pl.LightningModule) for hook in (*module_only, *hooks)
            ) or any(is_overridden(h, c, pl.Callback) for h in hooks for c in trainer.callbacks)

        backward = ("on_before_backward", "on_after_backward")
        self._direct_backward = plain and not listening(*backward, module_only=("backward",))
        self._direct_step = plain and not listening("on_before_optimizer_step")

    def _backward(self, loss: torch.Tensor) -> None:
        if self._direct_backward:
            loss.backward()
        else:
            self.manual_backward(loss)

    def _optimizer_step(self, optimizer: LightningOptimizer) -> None:
        """The step, between the wrapper's own before/after calls, as `LightningOptimizer.step`
        makes them (private to Lightning 2.x: the manual loop counts `global_step` there, which
        checkpoints and loggers read; tests/train/test_steps.py checks the count)."""
        if self._direct_step:
            optimizer._on_before_step()
            optimizer.optimizer.step()
            optimizer._on_after_step()
        else:
            optimizer.step()

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_train_epoch_start(self) -> None:
        self.sums["train"] = EpochSums()  # nothing left over from an interrupted loop (lr_find)

    def on_train_epoch_end(self) -> None:
        """After the epoch's validation, as Lightning steps epoch schedulers (plateau watches
        val_loss)."""
        self._step_schedulers("epoch")

    def _step_schedulers(self, interval: str) -> None:
        for config in self.trainer.lr_scheduler_configs:
            if config.interval != interval:
                continue
            if not isinstance(config.scheduler, ReduceLROnPlateau):
                config.scheduler.step()
            elif PLATEAU_MONITOR in self.trainer.callback_metrics:  # (manual optimization
                # drops a config's `monitor`: the plateau schedule watches val_loss)
                config.scheduler.step(self.trainer.callback_metrics[PLATEAU_MONITOR])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """The epoch's training sums so far: a fit resumed mid-epoch logs the whole epoch's."""
        checkpoint["train_sums"] = self.sums["train"].state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "train_sums" in checkpoint:
            self.sums["train"].load_state_dict(checkpoint["train_sums"])

    def on_validation_epoch_start(self) -> None:
        self.sums["val"] = EpochSums()

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.sums["val"].means("val"))

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.sums["test"].means("test"))

    def _evaluate(self, batch: Batch, split: str) -> None:
        x, y = batch
        logits = self(x)
        self.sums[split].add(F.cross_entropy(logits, y), logits, y)

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
            total_steps=self._total_batches() if onecycle else 0,
            step_epochs=self.lr_step_epochs,
        )
        scheduler = create_scheduler(self.lr_schedule, optimizer, context)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def _total_batches(self) -> int:
        """Mini-batches the fit trains: Lightning's estimate counts steps, which may hold
        several (TensorLoader's `batches_per_step`)."""
        steps = int(self.trainer.estimated_stepping_batches)  # (sets up the training loader)
        loader = self.trainer.train_dataloader
        if isinstance(loader, TensorLoader) and loader.per_step is not None:
            return (self.trainer.max_epochs or 1) * loader.batches
        return steps

    def configure_callbacks(self) -> list[pl.Callback]:
        """Callbacks the network asks for (e.g. ResNet fine-tuning)."""
        return list(getattr(self.net, "callbacks", list)())
