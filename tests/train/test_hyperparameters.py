"""Each hyperparameter a space may declare does what it says, end to end through routing."""

from __future__ import annotations

import lightning.pytorch as pl
import optuna
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from hpo.config.run import RunConfig
from hpo.config.space import SearchSpace, load_space
from hpo.errors import UsageError
from hpo.search.objective import Objective
from hpo.train.augment import Augmentation
from hpo.train.fit import build
from hpo.train.registries import LOSSES
from hpo.train.routing import check_names, route

TINY = {"batch_size": 64, "width": 1}


def fit(params: dict, epochs: int = 1, callbacks=(), **config) -> pl.LightningModule:
    """Three training steps of one mini-batch each (callbacks see every mini-batch)."""
    built = build({**TINY, **params}, RunConfig(**config), steps=False)
    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_train_batches=3,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        callbacks=list(callbacks),
    )
    trainer.fit(built.module, datamodule=built.datamodule)
    return built.module


def test_every_new_name_routes_somewhere():
    routed = route(
        {
            "loss": "mse",
            "lr_schedule": "step",
            "lr_step_epochs": 2,
            "flip": True,
            "rotation": 10.0,
            "scale": 0.1,
            "noise": 0.1,
            "weight_decay": 1e-4,
            "momentum": 0.5,
            "dropout": 0.2,
            "base_filters": 4,
            "kernel_size": 5,
            "batch_size": 16,
            "repeats": 2,
            "batch_norm": True,
        },
        "ethanet",
        "digits",
    )
    assert routed.objective == {"repeats": 2}
    assert routed.data == {"batch_size": 16}
    assert set(routed.model) == {"dropout", "base_filters", "kernel_size", "batch_norm"}
    assert {"loss", "lr_schedule", "flip", "noise", "momentum"} <= set(routed.module)
    check_names(["head_dim", "finetune_epochs", "pretrained"], "resnet50", "imagefolder")
    with pytest.raises(UsageError, match="head_dim"):
        check_names(["head_dim"], "ethanet", "digits")


def test_model_and_data_hyperparameters_change_the_built_objects():
    built = build(
        {"base_filters": 5, "kernel_size": 5, "dropout": 0.3, "batch_size": 17},
        RunConfig(model="ethanet"),
    )
    convs = [m for m in built.module.net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [
        (5, (5, 5)),
        (10, (5, 5)),
        (20, (5, 5)),
    ]
    assert [m.p for m in built.module.net.modules() if isinstance(m, nn.Dropout)] == [0.3]
    (x, _), *_ = next(iter(built.datamodule.train_dataloader()))  # a step's first mini-batch
    assert len(x) == 17


def test_weight_decay_and_momentum_reach_the_optimizer():
    module = fit({"optimizer": "momentum", "weight_decay": 0.01, "momentum": 0.5})
    (group,) = module.trainer.optimizers[0].param_groups
    assert (group["weight_decay"], group["momentum"]) == (0.01, 0.5)


def test_losses_match_their_definitions():
    logits, labels = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    probs, one_hot = logits.softmax(1), F.one_hot(labels, 4).float()
    assert torch.allclose(
        LOSSES.get("cross_entropy")(logits, labels), F.cross_entropy(logits, labels)
    )
    assert torch.allclose(LOSSES.get("mse")(logits, labels), ((probs - one_hot) ** 2).mean())
    poisson = (probs - one_hot * torch.log(probs + 1e-7)).mean()
    assert torch.allclose(LOSSES.get("poisson")(logits, labels), poisson, atol=1e-6)


@pytest.mark.parametrize("loss", ["mse", "poisson"])
def test_training_loss_is_the_chosen_loss_validation_stays_cross_entropy(loss):
    module = fit({"loss": loss})
    metrics = module.trainer.callback_metrics
    assert float(metrics["train_loss"]) < 1.0 < float(metrics["val_loss"])  # mse/poisson ≪ CE


class LearningRates(pl.Callback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_step_schedule_divides_by_ten_every_k_epochs():
    lrs = LearningRates()
    fit({"lr": 0.1, "lr_schedule": "step", "lr_step_epochs": 2}, epochs=5, callbacks=[lrs])
    per_epoch = lrs.lrs[::3]
    assert per_epoch == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_cosine_onecycle_and_plateau_schedules():
    cosine = LearningRates()
    fit({"lr": 0.1, "lr_schedule": "cosine"}, epochs=4, callbacks=[cosine])
    assert cosine.lrs[::3] == pytest.approx(
        [0.1, 0.1 * (1 + 2**-0.5) / 2, 0.05, 0.1 * (1 - 2**-0.5) / 2]
    )
    onecycle = LearningRates()
    fit({"lr": 0.1, "lr_schedule": "onecycle"}, epochs=2, callbacks=[onecycle])
    assert onecycle.lrs[0] < 0.01 and max(onecycle.lrs) == pytest.approx(0.1, rel=0.2)
    assert len(set(onecycle.lrs)) == len(onecycle.lrs)  # stepped every batch
    plateau = fit({"lr": 0.1, "lr_schedule": "plateau", "lr_step_epochs": 1}, epochs=1)
    (config,) = plateau.trainer.lr_scheduler_configs
    assert config.scheduler.factor == 0.1
    # stepped once, after the epoch's validation, with val_loss (its best so far)
    assert config.scheduler.best == pytest.approx(
        float(plateau.trainer.callback_metrics["val_loss"])
    )
    with pytest.raises(UsageError, match="unknown lr_schedule 'linear'"):
        fit({"lr_schedule": "linear"})


class Inputs(pl.Callback):
    """The batches the network actually sees, training and validation."""

    def __init__(self) -> None:
        self.train: list[torch.Tensor] = []
        self.val: list[torch.Tensor] = []

    def on_fit_start(self, trainer, pl_module):
        pl_module.net.register_forward_pre_hook(self._seen)

    def _seen(self, net, inputs):
        (self.train if net.training else self.val).append(inputs[0].clone())


@pytest.mark.parametrize("aug", [{"noise": 0.5}, {"flip": True}, {"rotation": 30.0, "scale": 0.2}])
def test_augmentation_changes_training_batches_only(aug):
    seen = Inputs()
    module = fit(aug, callbacks=[seen])
    dm = module.trainer.datamodule
    x_val, _ = next(iter(dm.val_dataloader()))
    assert torch.equal(seen.val[0], x_val)
    first_train = dm.splits.train[0]
    # Each training batch is a reshuffled subset; augmented, none of its images is unchanged.
    unchanged = sum(
        bool((first_train == image).all(dim=(1, 2, 3)).any()) for image in seen.train[0]
    )
    assert unchanged < len(seen.train[0]) * (0.8 if "flip" in aug else 0.05)


def test_augmentation_operations():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    torch.manual_seed(0)
    flipped = Augmentation(flip=True)(x.repeat(50, 1, 1, 1))
    is_flip = [
        torch.equal(a, b.flip(-1)) for a, b in zip(flipped, x.repeat(50, 1, 1, 1), strict=True)
    ]
    is_same = [torch.equal(a, b) for a, b in zip(flipped, x.repeat(50, 1, 1, 1), strict=True)]
    assert all(f or s for f, s in zip(is_flip, is_same, strict=True)) and 20 < sum(is_flip) < 80
    assert torch.equal(Augmentation()(x), x) and not Augmentation().active
    noisy = Augmentation(noise=2.0)(torch.zeros(1000, 1, 4, 4))
    assert noisy.std().item() == pytest.approx(2.0, rel=0.05)
    with pytest.raises(UsageError, match="0 ≤ scale < 1"):
        Augmentation(scale=1.5)


def test_repeats_train_k_times_and_average(tmp_path):
    space = SearchSpace({}, {"lr": 0.05, "optimizer": "adam", "repeats": 2, **TINY})
    config = RunConfig(max_epochs=1, limit_batches=2)
    study = optuna.create_study(direction="maximize")
    study.optimize(Objective(config, space), n_trials=1)
    trial = study.trials[0]
    values = trial.user_attrs["repeat_values"]
    assert len(values) == 2 and values[0] != values[1]  # seeds 0 and 1 differ
    assert trial.value == pytest.approx(sum(values) / 2)


def test_test_split_and_loggers_are_recorded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    space = SearchSpace({}, {"lr": 0.05, "optimizer": "adam", **TINY})
    config = RunConfig(max_epochs=2, limit_batches=2, test=True, loggers="csv,tensorboard")
    study = optuna.create_study(direction="maximize", study_name="s")
    study.optimize(Objective(config, space), n_trials=1)
    attrs = study.trials[0].user_attrs
    assert 0.0 <= attrs["test_acc"] <= 1.0 and attrs["test_loss"] > 0
    run_dir = tmp_path / "studies" / config.name / "trial_0" / "seed_0"
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert "val_acc" in rows[0] and len(rows) >= 3
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert "lr: 0.05" in (run_dir / "hparams.yaml").read_text()


def test_seed_spaces_only_declare_known_names():
    for stem, model, dataset in [
        ("seed000_step_decay", "lenet", "imagefolder"),
        ("seed001_cifar100", "cifar_cnn7", "cifar100"),
        ("seed002_transfer", "resnet18", "imagefolder"),
        ("seed003_optimizer_lr", "mnist_cnn", "mnist"),
        ("seed004_ethanet", "ethanet", "imagefolder"),
        ("fashion_mnist", "ethanet", "fashion_mnist"),
    ]:
        space = load_space(RunConfig().space_path().parent / f"{stem}.yaml")
        check_names(space.names(), model, dataset)
    grid = load_space(RunConfig().space_path().parent / "seed003_optimizer_lr.yaml").grid()
    assert len(grid["optimizer"]) == 6 and len(grid["lr"]) == 48
    assert grid["lr"][0] == pytest.approx(1e-6) and grid["lr"][-1] == pytest.approx(100.0)
