"""`divergence_stops`: Lightning's EarlyStopping, used only to end a fit whose loss diverged
(the rule is hpo.train.divergence)."""

from __future__ import annotations

from lightning.pytorch.callbacks import EarlyStopping

from hpo.train.divergence import LOSS_KEYS, divergence_threshold


def divergence_stops(num_classes: int, max_epochs: int) -> list[EarlyStopping]:
    """One EarlyStopping per loss: non-finite or above the threshold ends the fit; no patience
    rule (patience longer than the fit)."""
    threshold = divergence_threshold(num_classes)
    return [
        EarlyStopping(
            monitor=key,
            check_finite=True,
            divergence_threshold=threshold,
            patience=max_epochs + 1,
            check_on_train_epoch_end=key.startswith("train"),
        )
        for key in LOSS_KEYS
    ]
