"""`EpochCurve`: a Lightning callback that keeps one row of logged values per epoch.

The rows give the trial its value (see `hpo.metrics`), its epoch count, and its learning curve.
"""

from __future__ import annotations

import time

import lightning.pytorch as pl


class EpochCurve(pl.Callback):
    """Records `val_*` after each validation and `train_*` after each training epoch, and
    `elapsed_s`, the seconds since the fit started, when the epoch's validation ends."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self._start = time.perf_counter()

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row = self._row(trainer.current_epoch)
        row.update(_scalars(trainer, "val_"))
        row["elapsed_s"] = time.perf_counter() - self._start

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._row(trainer.current_epoch).update(_scalars(trainer, "train_"))

    @property
    def epochs(self) -> int:
        """Epochs whose validation ran (a pruned epoch counts: it was trained)."""
        return sum(1 for row in self.rows if any(k.startswith("val_") for k in row))

    def state_dict(self) -> dict[str, list[dict[str, float]]]:
        """Saved in each checkpoint, so a resumed trial carries on its predecessor's rows."""
        return {"rows": [dict(row) for row in self.rows]}

    def load_state_dict(self, state_dict: dict[str, list[dict[str, float]]]) -> None:
        self.rows = [dict(row) for row in state_dict["rows"]]

    def _row(self, epoch: int) -> dict[str, float]:
        if not self.rows or self.rows[-1]["epoch"] != epoch:
            self.rows.append({"epoch": epoch})
        return self.rows[-1]


def _scalars(trainer: pl.Trainer, prefix: str) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in trainer.callback_metrics.items()
        if key.startswith(prefix) and value.numel() == 1
    }
