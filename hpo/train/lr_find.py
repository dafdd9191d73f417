"""LR range test (seed 002; Smith 2015) with Lightning's `Tuner.lr_find`.

    hpo lr_find --dataset fashion_mnist --model ethanet --plot lr_find.png   (hpo.cli.lr_find)
    hpo lr_find --preset seed002_transfer --set head_dim=512

Trains the configuration for `--steps` batches while the learning rate grows exponentially from
`--min-lr` to `--max-lr` (stopping early once the loss diverges), saves the loss-vs-LR plot and
prints the suggested LR (steepest descent of the smoothed loss). The hyperparameters are the
space's `fixed:` values plus `--set NAME=VALUE`; anything else keeps its component's default.

`range_test(config, params)` is the same test as a function, e.g. for a compare baseline: one
range test, then the rest of the budget trains at `result.suggestion`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpo.config.run import RunConfig
from hpo.errors import UsageError


@dataclass(frozen=True)
class RangeTest:
    """What one LR range test found: the sweep (one loss per batch) and the suggestion."""

    lrs: list[float]
    losses: list[float]  # smoothed training loss per step, as Lightning records it
    suggestion: float | None  # None when the sweep was too short to suggest anything
    params: dict[str, Any] = field(default_factory=dict)
    plot: Path | None = None


def range_test(
    config: RunConfig,
    params: dict[str, Any],
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 100,
    plot: Path | None = None,
) -> RangeTest:
    """Run one exponential LR range test of `config.model` on `config.dataset` with `params`
    (hyperparameters other than `lr`; routed like a trial's). Deterministic for `config.seed`;
    costs about `steps` training batches; nothing is stored. Raises UsageError for bad input."""
    import lightning.pytorch as pl
    from lightning.pytorch.tuner import Tuner

    from hpo.train.fit import build
    from hpo.train.quiet import quiet_lightning

    if not 0 < min_lr < max_lr:
        raise UsageError(f"need 0 < min_lr < max_lr, got {min_lr} and {max_lr}")
    if steps < 2:
        raise UsageError(f"steps must be at least 2, got {steps}")
    params = {k: v for k, v in params.items() if k not in ("lr", "repeats")}
    # steps=False: the finder sets the LR of each Lightning step, so one mini-batch a step
    built = build({**params, "lr": min_lr}, config, steps=False)
    quiet_lightning(config.verbose)  # (Lightning's import set its own level)
    with tempfile.TemporaryDirectory(prefix="hpo-lr-find-") as root:
        trainer = pl.Trainer(
            max_epochs=10_000,  # the finder stops after `steps` batches, however small the data
            accelerator="auto",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=config.verbose,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            default_root_dir=root,
        )
        finder = Tuner(trainer).lr_find(
            built.module,
            datamodule=built.datamodule,
            min_lr=min_lr,
            max_lr=max_lr,
            num_training=steps,
            mode="exponential",
            update_attr=False,
        )
    assert finder is not None
    lrs = [float(x) for x in finder.results["lr"]]
    losses = unbiased(finder.results["loss"])
    suggestion = suggest(lrs, losses)
    if plot is not None:
        save_plot(lrs, losses, suggestion, plot)
    return RangeTest(lrs, losses, suggestion, params, plot)


def unbiased(losses: Sequence[float], beta: float = 0.98) -> list[float]:
    """Undo an off-by-one in Lightning's smoothed loss (written by hand: no library has it).

    Its LR-finder callback debiases the running average of step k (from 0) by 1 - β^(k+2),
    because the trainer's global step is already advanced, instead of 1 - β^(k+1): the first
    losses come out about half their size and the curve seems to rise at low learning rates."""
    return [
        float(loss) * (1 - beta ** (k + 2)) / (1 - beta ** (k + 1))
        for k, loss in enumerate(losses)
    ]


def suggest(
    lrs: Sequence[float], losses: Sequence[float], skip_begin: int = 10, skip_end: int = 1
) -> float | None:
    """The LR where the smoothed loss falls fastest per decade, strictly before its minimum.

    Among the points after `skip_begin` and before the lowest loss (the minimum itself never:
    past it the loss turns up, and a one-sided slope there would point at the minimum), the one
    whose central slope d(loss)/d(log10 lr) is the most negative. Lightning's `suggestion()`
    takes the gradient per unit of LR, which on an exponential sweep favours noise at the
    tiniest LRs; per decade is what the plot shows (fastai's "steep")."""
    lr, loss = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    end = len(loss) - skip_end
    if end - skip_begin < 3 or not np.isfinite(loss[skip_begin:end]).any():
        return None
    window = np.where(np.isfinite(loss[:end]), loss[:end], np.inf)
    lowest = skip_begin + int(np.argmin(window[skip_begin:]))
    if lowest - skip_begin < 2:
        return None  # the loss only rises: no descent to point at
    before = np.arange(max(skip_begin, 1), lowest)  # points with a neighbour on each side
    log_lr = np.log10(lr)
    slope = (loss[before + 1] - loss[before - 1]) / (log_lr[before + 1] - log_lr[before - 1])
    return float(lr[before[int(np.nanargmin(slope))]])


def save_plot(
    lrs: Sequence[float], losses: Sequence[float], suggestion: float | None, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(lrs, losses)
    if suggestion is not None:
        i = list(lrs).index(suggestion)
        ax.plot([suggestion], [losses[i]], "o", color="red", label=f"suggested {suggestion:.3g}")
        ax.legend()
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title("LR range test")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
