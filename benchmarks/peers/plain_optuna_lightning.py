"""The peer: a plain Optuna + Lightning study, written as Optuna's own Lightning example is.

    python benchmarks/peers/plain_optuna_lightning.py --storage sqlite:///plain.db --n-trials 30

TPE (seed 0 unless --seed) over hpo's default space (conf/spaces/default.yaml, suggested in
the same order), MedianPruner (5 start-up trials, 2 warm-up epochs) through optuna-integration's
PyTorchLightningPruningCallback, ≤15 epochs, SQLite. Data: the same digits split as hpo's, in
the usual TensorDataset + DataLoader(shuffle=True) with a seeded generator — the same batches
in the same order as hpo's loader, so both run the identical trials (same parameters, pruning
decisions and values). The network and LightningModule are hpo's own. No budget loop, no resume,
no dead-worker detection, no checkpoints, no artifacts, no attrs: what a user would write first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import lightning.pytorch as pl
import numpy as np
import optuna
import torch
from optuna_integration import PyTorchLightningPruningCallback
from torch.utils.data import DataLoader, Sampler, TensorDataset

from hpo.train.data import create_datamodule
from hpo.train.models import create_model
from hpo.train.module import LitClassifier

OPTIMIZERS = ["sgd", "momentum", "adam", "adagrad", "adadelta", "rmsprop"]


class Shuffle(Sampler[int]):
    """A permutation per epoch seeded by (seed, epoch), as DistributedSampler seeds by seed +
    epoch (Lightning calls `set_epoch`): the order hpo's loader uses, so both run the same
    batches, hence the same trials."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        mixed = np.random.SeedSequence((self.seed, self.epoch)).generate_state(1)
        generator = torch.Generator().manual_seed(int(mixed[0]))
        return iter(torch.randperm(self.n, generator=generator).tolist())


class Digits(pl.LightningDataModule):
    """hpo's digits split (standardised tensors), served by standard DataLoaders."""

    def __init__(self, batch_size: int, seed: int = 0) -> None:
        super().__init__()
        self.batch_size, self.seed = batch_size, seed
        self.splits = create_datamodule("digits", seed=seed).load_splits()

    def train_dataloader(self) -> DataLoader:
        # Seeded shuffling that leaves the global RNG (dropout) alone: the sampler draws the
        # order, and the loader's own per-epoch seed comes from a generator of its own.
        data = TensorDataset(*self.splits.train)
        order = Shuffle(len(data), self.seed)
        loader_seed = torch.Generator().manual_seed(self.seed)
        return DataLoader(data, self.batch_size, sampler=order, generator=loader_seed)

    def val_dataloader(self) -> DataLoader:
        # Its own generator too: without one, every epoch's iterator draws from the global RNG.
        data, generator = TensorDataset(*self.splits.val), torch.Generator()
        return DataLoader(data, max(self.batch_size, 256), generator=generator)


class BestValAcc(pl.Callback):
    def __init__(self) -> None:
        self.best = 0.0

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.best = max(self.best, float(trainer.callback_metrics["val_acc"]))


def objective(trial: optuna.Trial, max_epochs: int, seed: int) -> float:
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    optimizer = trial.suggest_categorical("optimizer", OPTIMIZERS)
    batch_size = trial.suggest_int("batch_size", 16, 128, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.1)
    dm = Digits(batch_size, seed)
    pl.seed_everything(seed, verbose=False)
    net = create_model("mnist_cnn", in_channels=1, num_classes=10, image_size=8, width=4,
                       dropout=dropout)  # fmt: skip
    module = LitClassifier(net, 10, optimizer=optimizer, lr=lr, weight_decay=0.0)
    best = BestValAcc()
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        accelerator="auto",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[best, PyTorchLightningPruningCallback(trial, monitor="val_acc")],
    )
    trainer.fit(module, datamodule=dm)
    return best.best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--storage", required=True)
    p.add_argument("--n-trials", type=int, default=30)
    p.add_argument("--max-epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0, help="hpo study --seed: sampler, split, weights")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    start = time.perf_counter()
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=args.storage,
        study_name="plain",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    )
    study.optimize(lambda t: objective(t, args.max_epochs, args.seed), n_trials=args.n_trials)
    trials = [
        {"params": t.params, "state": t.state.name, "epochs": len(t.intermediate_values),
         "value": t.value}
        for t in study.trials
    ]  # fmt: skip
    print(json.dumps({"seconds": time.perf_counter() - start, "trials": trials}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
