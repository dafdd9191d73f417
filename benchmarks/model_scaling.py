"""Seconds per epoch vs model width (seed 003): mnist_cnn at width 1…10, side by side in one run.

    python benchmarks/model_scaling.py                      # → benchmarks/model_scaling.png
    python benchmarks/model_scaling.py --batches 100 --rounds 3

Each width trains `--batches` batches of 64 28×28 images (MNIST or Fashion-MNIST when present,
else generated ones of the same shape) through the same Lightning Trainer a trial uses; widths
are interleaved over `--rounds` rounds and the fastest round counts, so a busy shared CPU hurts
every width alike. Seconds per epoch = seconds per batch × batches in a 55,000-image epoch.
Prints the table, the least-squares line and its R², and the log-log slope (1 = linear).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

from hpo.errors import UsageError
from hpo.search.logs import quiet_libraries
from hpo.train.data import create_datamodule
from hpo.train.data.tensors import TensorDataModule
from hpo.train.models import count_parameters, create_model
from hpo.train.module import LitClassifier

EPOCH_IMAGES = 55_000
BATCH = 64


class EpochTimer(pl.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def images_28x28(data_dir: str) -> tuple[TensorDataModule, str]:
    for name in ("mnist", "fashion_mnist"):
        try:
            dm = create_datamodule(name, data_dir=data_dir, batch_size=BATCH)
            dm.setup("fit")
            return dm, name
        except UsageError:
            continue
    raise SystemExit("no MNIST/Fashion-MNIST found: apt-get install dataset-fashion-mnist")


def seconds_per_batch(dm: TensorDataModule, width: int, batches: int) -> tuple[float, int]:
    torch.manual_seed(0)
    net = create_model("mnist_cnn", in_channels=1, num_classes=10, image_size=28, width=width)
    timer = EpochTimer()
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=batches,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[timer],
        accelerator="cpu",
    )
    trainer.fit(LitClassifier(net, 10, optimizer="adam", lr=1e-3), datamodule=dm)
    return timer.seconds / batches, count_parameters(net)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=60)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--plot", default=str(Path(__file__).with_suffix(".png")))
    args = p.parse_args()
    quiet_libraries(verbose=False)
    torch.set_num_threads(args.threads)
    dm, source = images_28x28(args.data_dir)
    widths = list(range(1, 11))
    best = {w: float("inf") for w in widths}
    params: dict[int, int] = {}
    seconds_per_batch(dm, 1, 5)  # warm-up
    for _ in range(args.rounds):
        for w in widths:
            s, params[w] = seconds_per_batch(dm, w, args.batches)
            best[w] = min(best[w], s)
    per_epoch = np.array([best[w] * EPOCH_IMAGES / BATCH for w in widths])
    report(widths, per_epoch, params, source, args)
    plot(widths, per_epoch, params, Path(args.plot))


def report(widths, per_epoch, params, source, args) -> None:
    x = np.array(widths, dtype=float)
    slope, intercept = np.polyfit(x, per_epoch, 1)
    fitted = slope * x + intercept
    r2 = 1 - ((per_epoch - fitted) ** 2).sum() / ((per_epoch - per_epoch.mean()) ** 2).sum()
    exponent = np.polyfit(np.log(x), np.log(per_epoch), 1)[0]
    print(
        f"mnist_cnn on {source}, {args.batches} batches × {args.rounds} rounds, "
        f"{args.threads} thread(s), batch {BATCH}"
    )
    print(f"{'width':>5} {'params':>8} {'s/epoch':>8} {'× width 1':>9}")
    for w, s in zip(widths, per_epoch, strict=True):
        print(f"{w:>5} {params[w]:>8} {s:>8.1f} {s / per_epoch[0]:>9.2f}")
    print(f"linear fit: {slope:.2f} s/epoch per width unit + {intercept:.1f} s, R² = {r2:.3f}")
    print(f"log-log slope (1 = linear, 2 = quadratic): {exponent:.2f}")
    print(f"parameters width 10 / width 1: {params[10] / params[1]:.1f}×")


def plot(widths, per_epoch, params, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(widths, per_epoch, "o-", label="measured")
    slope, intercept = np.polyfit(widths, per_epoch, 1)
    ax.plot(widths, slope * np.array(widths) + intercept, "--", label="least-squares line")
    ax.set_xlabel("width (filters and first dense layer × width)")
    ax.set_ylabel("seconds per epoch (55k images)")
    ax.set_title("mnist_cnn: training time vs width")
    ax2 = ax.twinx()
    ax2.plot(widths, [params[w] for w in widths], "s:", color="grey", label="parameters")
    ax2.set_ylabel("trainable parameters")
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
