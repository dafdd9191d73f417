"""`digits`: scikit-learn's 1,797 8×8 handwritten digits, bundled (no download, no files)."""

from __future__ import annotations

from functools import lru_cache

import torch

from hpo.train.data.tensors import Splits, TensorDataModule, three_way_splits


@lru_cache(maxsize=8)
def _digits_splits(seed: int, val_fraction: float, test_fraction: float) -> Splits:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.uint8).unsqueeze(1)  # values 0…16
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    return three_way_splits(images, labels, val_fraction, test_fraction, seed)


class DigitsDataModule(TensorDataModule):
    def __init__(
        self,
        batch_size: int = 64,
        seed: int = 0,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
    ) -> None:
        super().__init__(batch_size, seed)
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction

    def load_splits(self) -> Splits:
        return _digits_splits(self.seed, self.val_fraction, self.test_fraction)


def digits(
    batch_size: int = 64, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> TensorDataModule:
    """scikit-learn's 1,797 8×8 handwritten digits (bundled, offline); 60/20/20 split."""
    return DigitsDataModule(batch_size, seed, val_fraction, test_fraction)
