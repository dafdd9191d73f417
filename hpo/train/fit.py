"""Build one configuration and the Trainer that fits it.

built = build({"lr": 0.01, "optimizer": "adam", "batch_size": 64}, RunConfig())
trainer = make_trainer(config, [EpochCurve()])
trainer.fit(built.module, datamodule=built.datamodule)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.loggers import Logger

from hpo.config.run import RunConfig
from hpo.train.data import create_datamodule
from hpo.train.data.tensors import TensorDataModule
from hpo.train.models import count_parameters, create_model
from hpo.train.module import LitClassifier
from hpo.train.quiet import quiet_lightning
from hpo.train.routing import route


@dataclass
class Built:
    module: LitClassifier
    datamodule: TensorDataModule
    n_params: int


def build(params: dict[str, Any], config: RunConfig, steps: bool = True) -> Built:
    """Data module, network and LightningModule for one set of hyperparameters.

    The weights are seeded with the run's seed, so every trial starts from the same
    initialisation for its architecture and trials differ only by their hyperparameters.
    `steps`: train in steps of several mini-batches, limited by `config.limit_batches`, for
    `make_trainer` (hpo.train.data.loader); else one a step, for a Trainer of the caller's."""
    torch.set_num_threads(config.threads)  # see RunConfig.threads and benchmarks/README.md
    routed = route(params, config.model, config.dataset)
    dm = create_datamodule(
        config.dataset, seed=config.seed, data_dir=config.data_dir, **routed.data
    )
    dm.setup("fit")
    if steps:
        dm.train_in_steps(routed.objective.get("batches_per_step"), config.limit_batches)
    pl.seed_everything(config.seed, workers=False, verbose=False)
    net = create_model(
        config.model,
        in_channels=dm.in_channels,
        num_classes=dm.num_classes,
        image_size=dm.image_size,
        **routed.model,
    )
    module = LitClassifier(net, dm.num_classes, **routed.module)
    return Built(module, dm, count_parameters(net))


def make_trainer(
    config: RunConfig, callbacks: list[pl.Callback], logger: list[Logger] | bool = False
) -> pl.Trainer:
    """A Trainer that does only what a trial needs: no logger, checkpoints, bars or Lightning
    log lines by default (`config.verbose` turns the bar, summary and lines on). For the data
    module `build` made, which limits its own training batches (`train_in_steps`)."""
    quiet_lightning(config.verbose)
    limit = 1.0 if config.limit_batches is None else _batches(config.limit_batches)
    return pl.Trainer(
        max_epochs=config.max_epochs,
        accelerator="auto",
        devices=1,
        logger=logger,
        limit_train_batches=1.0,
        limit_val_batches=limit,
        enable_checkpointing=any(isinstance(c, Checkpoint) for c in callbacks),
        enable_progress_bar=config.verbose,
        enable_model_summary=config.verbose,
        num_sanity_val_steps=0,
        callbacks=callbacks,
    )


def _batches(limit: float) -> int | float:
    """Lightning reads an int as a number of batches and a float as a fraction."""
    return int(limit) if float(limit).is_integer() and limit >= 1 else float(limit)


def score_on_test_split(trainer: pl.Trainer, built: Built) -> dict[str, float]:
    """Test-split accuracy and loss of the trained model."""
    (results,) = trainer.test(built.module, datamodule=built.datamodule, verbose=False)
    return {key: float(results[key]) for key in ("test_acc", "test_loss")}
