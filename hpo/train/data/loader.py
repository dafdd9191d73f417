"""`TensorLoader`: mini-batches sliced out of in-memory tensors, resumable mid-epoch.

    loader = TensorLoader(x, y, batch_size=32, shuffle=True, seed=0)
    loader.sampler.set_epoch(3)        # Lightning does this before each epoch
    state = loader.state_dict()        # saved in a checkpoint by Lightning's fit loop
    TensorLoader(x, y, 32, shuffle=True, batches_per_step=8)   # lists of 8 mini-batches

With `batches_per_step`, each item is a training step of that many consecutive mini-batches
(a `Step`: a list of pairs, the last one shorter): Lightning's loop then runs its hooks,
progress counters and logging once a step instead of once a mini-batch, which on small inputs
costs as much as the network (benchmarks/README.md). The mini-batches, their order and what
is done with each are the same for any grouping, so a fit's numbers do not depend on it
(tests/train/test_steps.py).

Epoch e's order is a permutation drawn from a generator seeded by (seed, e) alone, as
`DistributedSampler` seeds by seed + epoch: any epoch's order is known without replaying the
ones before it. Lightning calls `sampler.set_epoch` before each epoch and keeps the loader's
`state_dict` (epoch, batches served) in its checkpoints; a fit resumed from a checkpoint taken
mid-epoch serves the rest of that epoch's batches in the same order, then the next epochs as an
uninterrupted fit would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


class EpochOrder:
    """The order of each epoch's samples: `set_epoch(e)`, then `order()` (seeded by seed, e)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self) -> torch.Tensor:
        # SeedSequence mixes (seed, epoch) into one seed: seed s epoch 1 and seed s+1 epoch 0
        # (repeats use seeds s, s+1, …) get unrelated orders, unlike seed + epoch.
        mixed = np.random.SeedSequence((self.seed % 2**64, self.epoch)).generate_state(1)
        generator = torch.Generator().manual_seed(int(mixed[0]))
        return torch.randperm(self.n, generator=generator)


#: Input values (samples × channels × pixels) a training step holds by default: 2 ** 20 makes
#: a digits epoch (8×8) one step, 20 mini-batches of 64 28×28 images a step, 5 of 64 32×32×3;
#: a mini-batch of more than 2 ** 19 values (669 28×28 images, 171 32×32×3, 4 224×224×3) is a
#: step alone. Lightning's per-step cost (~0.4 ms) is then ≤ 1 % of a step, and a stop signal
#: waits at most one step (benchmarks/README.md).
STEP_VALUES = 2**20
Batch = tuple[torch.Tensor, torch.Tensor]


class Step(list[Batch]):
    """A training step's mini-batches, in order: its own type, so that it is never taken for
    a batch a DataLoader collated into a list ([x, y])."""


def batches_per_step(sample_shape: torch.Size, batch_size: int) -> int:
    """How many mini-batches of `batch_size` samples of `sample_shape` one training step takes
    (`STEP_VALUES`), at least one."""
    return max(1, STEP_VALUES // (batch_size * math.prod(sample_shape)))


class TensorLoader:
    """Mini-batches indexed out of in-memory tensors: in order, or (`shuffle`) in each epoch's
    `EpochOrder`; `limit` of them an epoch (a count, or a fraction below 1). Each item is a pair,
    or with `batches_per_step` a `Step` of up to that many pairs. Stateful in Lightning's sense
    (`state_dict`/`load_state_dict`), counted in mini-batches whatever the grouping."""

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        batches_per_step: int | None = None,
        limit: float | None = None,
    ) -> None:
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.per_step = batches_per_step
        # DataLoader's two attributes Lightning reads: it calls `sampler.set_epoch`
        self.sampler = EpochOrder(len(y), seed) if shuffle else None
        self.batch_sampler = None
        #: mini-batches an epoch
        self.batches = _limited(math.ceil(len(y) / batch_size), limit)
        self._served = 0  # mini-batches served by the current iteration
        self._resume: dict[str, int] | None = None

    def __len__(self) -> int:
        return self.batches if self.per_step is None else math.ceil(self.batches / self.per_step)

    def __iter__(self) -> Iterator[Batch | Step]:
        if self.per_step is None:
            yield from self._batches()
            return
        step = Step()
        for batch in self._batches():
            step.append(batch)
            if len(step) == self.per_step:
                yield step
                step = Step()
        if step:
            yield step

    def _batches(self) -> Iterator[Batch]:
        skip = self._batches_to_skip()
        order = self.sampler.order() if self.sampler is not None else None
        self._served = skip
        size = self.batch_size
        for start in range(skip * size, self.batches * size, size):
            self._served += 1
            if order is None:
                yield self.x[start : start + size], self.y[start : start + size]
            else:
                idx = order[start : start + size]
                yield self.x[idx], self.y[idx]

    def state_dict(self) -> dict[str, int]:
        """Where the current epoch is: its number and the mini-batches already served."""
        return {"epoch": self._epoch(), "served": self._served}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The next iteration of the same epoch skips the batches served before the save."""
        self._resume = {"epoch": int(state["epoch"]), "served": int(state["served"])}

    def _epoch(self) -> int:
        return self.sampler.epoch if self.sampler is not None else 0

    def _batches_to_skip(self) -> int:
        resume, self._resume = self._resume, None
        if resume is None or resume["epoch"] != self._epoch():
            return 0
        return min(resume["served"], self.batches)


def _limited(batches: int, limit: float | None) -> int:
    """Lightning's `limit_*_batches` rule: a count (≥ 1) or a fraction (< 1) of the batches."""
    if limit is None:
        return batches
    if limit >= 1:
        return min(batches, int(limit))
    return max(1, int(batches * limit))
