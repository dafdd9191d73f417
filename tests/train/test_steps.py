"""Training steps of several mini-batches (`TensorLoader`'s `batches_per_step`): Lightning runs
its per-step machinery once a step, and a fit's numbers are the same as one mini-batch a step."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from hpo.config.run import RunConfig
from hpo.errors import UsageError
from hpo.train.callbacks.epoch_curve import EpochCurve
from hpo.train.data.loader import STEP_VALUES, TensorLoader, batches_per_step
from hpo.train.fit import build, make_trainer
from hpo.train.routing import check_value

#: Every random stream and a per-mini-batch schedule: dropout, augmentation, shuffling, onecycle.
PARAMS = {
    "optimizer": "adam",
    "lr": 0.01,
    "batch_size": 64,
    "width": 1,
    "dropout": 0.3,
    "noise": 0.2,
    "rotation": 10.0,
    "lr_schedule": "onecycle",
}


def curve_of(
    per_step: int | None, limit: float | None = None, hooks: tuple[pl.Callback, ...] = ()
) -> list[dict[str, float]]:
    config = RunConfig(max_epochs=2, limit_batches=limit)
    built = build(PARAMS, config)
    built.datamodule.per_step = per_step
    curve = EpochCurve()
    trainer = make_trainer(config, [curve, *hooks])
    trainer.fit(built.module, datamodule=built.datamodule)
    # Unless a hook wants them: loss.backward() and optimizer.step(), not Lightning's dispatch;
    # the manual loop still counts every optimizer step.
    direct = built.module._direct_backward and built.module._direct_step
    assert direct == (not hooks)
    loader = trainer.train_dataloader
    assert trainer.global_step == 2 * loader.batches
    if per_step is not None:  # Lightning ran one step per group of mini-batches
        assert trainer.num_training_batches == -(-loader.batches // per_step)
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in curve.rows]


@pytest.mark.parametrize("limit", [None, 0.5])
def test_a_fit_in_steps_of_several_mini_batches_equals_one_a_step(limit: float | None) -> None:
    one = curve_of(None, limit)
    assert len(one) == 2 and {"train_loss", "val_acc"} <= one[-1].keys()
    for per_step in (3, 64):  # a short last step; a whole epoch in one step
        assert curve_of(per_step, limit) == one
    # Lightning's own backward and optimizer step (a callback hooks them): the same numbers.
    assert curve_of(3, limit, (SeesBackward(), SeesOptimizerStep())) == one


def test_build_trains_digits_in_steps_and_lightning_limits_no_step() -> None:
    config = RunConfig(limit_batches=5)
    built = build({"batch_size": 64}, config)
    loader = built.datamodule.train_dataloader()
    assert loader.per_step == batches_per_step(torch.Size([1, 8, 8]), 64) == 256
    assert loader.batches == 5 and [len(step) for step in loader] == [5]
    assert make_trainer(config, []).limit_train_batches == 1.0
    fixed = build({"batch_size": 64, "batches_per_step": 2.0}, RunConfig()).datamodule
    assert [len(step) for step in fixed.train_dataloader()] == [2] * 8 + [1]  # 17 mini-batches
    with pytest.raises(UsageError, match="batches_per_step must be a whole number, at least 1"):
        check_value("batches_per_step", 0)
    assert batches_per_step(torch.Size([3, 224, 224]), 32) == 1  # large inputs: one a step
    assert batches_per_step(torch.Size([1, 28, 28]), 1) * 28 * 28 <= STEP_VALUES


def test_a_loader_resumed_mid_epoch_serves_the_rest_of_its_mini_batches() -> None:
    x, y = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    loader = TensorLoader(x, y, batch_size=2, shuffle=True, seed=1, batches_per_step=2)
    loader.sampler.set_epoch(3)
    steps = iter(loader)
    first = next(steps)
    state = loader.state_dict()
    assert state == {"epoch": 3, "served": 2} and loader.batches == 5
    rest = [pair for step in steps for pair in step]
    assert loader.state_dict()["served"] == loader.batches
    resumed = TensorLoader(x, y, batch_size=2, shuffle=True, seed=1, batches_per_step=2)
    resumed.sampler.set_epoch(3)
    resumed.load_state_dict(state)
    again = [pair for step in resumed for pair in step]
    assert [b.tolist() for _, b in again] == [b.tolist() for _, b in rest]
    served = sorted(int(v) for _, b in [*first, *again] for v in b)
    assert served == list(range(10))


class SeesBackward(pl.Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_after_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.calls += 1


class SeesOptimizerStep(pl.Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: object
    ) -> None:
        self.calls += 1


@pytest.mark.parametrize("hook", [SeesBackward, SeesOptimizerStep])
def test_a_callback_with_a_backward_or_step_hook_sees_every_mini_batch(hook: type) -> None:
    config = RunConfig(max_epochs=1, limit_batches=3)
    built = build(PARAMS, config)
    seen = hook()
    trainer = make_trainer(config, [seen])
    trainer.fit(built.module, datamodule=built.datamodule)
    assert seen.calls == 3 and trainer.global_step == 3
    direct = {"backward": built.module._direct_backward, "step": built.module._direct_step}
    assert direct == {"backward": hook is SeesOptimizerStep, "step": hook is SeesBackward}


def test_the_module_trains_on_a_standard_dataloader_too() -> None:
    """A DataLoader collates each batch into a list [x, y]: one mini-batch, not a Step."""
    built = build(PARAMS, RunConfig())
    x, y = built.datamodule.splits.train
    loader = DataLoader(TensorDataset(x[:96], y[:96]), batch_size=32)
    trainer = make_trainer(RunConfig(max_epochs=1), [])
    trainer.fit(built.module, train_dataloaders=loader, val_dataloaders=loader)
    assert trainer.global_step == 3 and "val_acc" in trainer.callback_metrics
