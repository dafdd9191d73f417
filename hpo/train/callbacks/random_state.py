"""`RandomState`: the global random generators (torch, numpy, Python, CUDA) kept in each
checkpoint and restored when a fit resumes from it, so dropout and augmentation draw what the
uninterrupted fit would have drawn.

trainer = pl.Trainer(callbacks=[RandomState()]); trainer.fit(module, ckpt_path="last.ckpt")
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import numpy as np
from lightning.fabric.utilities.seed import _collect_rng_states, _set_rng_states


class RandomState(pl.Callback):
    """Saves the generators' states with the checkpoint; applies the loaded ones when training
    starts (`on_train_start`: after the model, optimizer and loops are restored, right before
    the first batch), so nothing drawn while the fit sets itself up shifts them."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        states = _collect_rng_states()
        if "numpy" in states:  # its key array as a list: checkpoints load with weights_only
            name, key, pos, has_gauss, gauss = states["numpy"]
            states["numpy"] = (name, key.tolist(), pos, has_gauss, gauss)
        return states

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._loaded = dict(state_dict)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._loaded is None:
            return
        states, self._loaded = self._loaded, None
        if "numpy" in states:
            name, key, pos, has_gauss, gauss = states["numpy"]
            states["numpy"] = (name, np.asarray(key, dtype=np.uint32), pos, has_gauss, gauss)
        _set_rng_states(states)
