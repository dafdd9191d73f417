"""`TensorLoader`: mini-batches sliced out of in-memory tensors, resumable mid-epoch.

    loader = TensorLoader(x, y, batch_size=32, shuffle=True, seed=0)
    loader.sampler.set_epoch(3)        # Lightning does this before each epoch
    state = loader.state_dict()        # saved in a checkpoint by Lightning's fit loop

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


class TensorLoader:
    """Mini-batches indexed out of in-memory tensors: in order, or (`shuffle`) in each epoch's
    `EpochOrder`. Stateful in Lightning's sense (`state_dict`/`load_state_dict`)."""

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool, seed: int = 0
    ) -> None:
        self.x, self.y = x, y
        self.batch_size = batch_size
        # DataLoader's two attributes Lightning reads: it calls `sampler.set_epoch`
        self.sampler = EpochOrder(len(y), seed) if shuffle else None
        self.batch_sampler = None
        self._served = 0  # batches served by the current iteration
        self._resume: dict[str, int] | None = None

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        skip = self._batches_to_skip()
        order = self.sampler.order() if self.sampler is not None else None
        self._served = skip
        for start in range(skip * self.batch_size, len(self.y), self.batch_size):
            self._served += 1
            if order is None:
                yield (
                    self.x[start : start + self.batch_size],
                    self.y[start : start + self.batch_size],
                )
            else:
                idx = order[start : start + self.batch_size]
                yield self.x[idx], self.y[idx]

    def state_dict(self) -> dict[str, int]:
        """Where the current epoch is: its number and the batches already served."""
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
        return min(resume["served"], len(self))
