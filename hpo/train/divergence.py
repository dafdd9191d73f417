"""The divergence rule, the one place it is written (real fits and table replays use it).

A loss this high means the weights blew up: 100× the cross-entropy of a uniform guess. With
ReLU networks an exploding learning rate often leaves the loss huge but finite (dead units), so
NaN/inf alone would miss most divergences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

LOSS_KEYS = ("train_loss", "val_loss")


def divergence_threshold(num_classes: int) -> float:
    return 100.0 * math.log(max(num_classes, 2))


def diverged_loss(row: Mapping[str, float | None], threshold: float) -> str | None:
    """'train_loss=nan'-style description if a loss of this epoch's row diverged (None, NaN,
    inf or above the threshold; a loss absent from the row is not judged)."""
    for key in LOSS_KEYS:
        if key not in row:
            continue
        value = row[key]
        if value is None or not (math.isfinite(value) and value <= threshold):
            return f"{key}={'nan' if value is None else f'{value:.3g}'}"
    return None


def divergence(rows: Sequence[Mapping[str, float | None]], threshold: float) -> str | None:
    """'train_loss=nan at epoch 2'-style description of the first diverged epoch, if any."""
    for index, row in enumerate(rows):
        found = diverged_loss(row, threshold)
        if found is not None:
            return f"{found} at epoch {int(row.get('epoch', index) or 0) + 1}"
    return None
